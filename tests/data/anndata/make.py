"""Write the .h5ad files next to this script with anndata itself, so the tests read what the
scverse writer really writes (vaebench reads h5ad with h5py: anndata 0.12 needs pandas < 3).

Run in an environment with anndata 0.12 (these were written with anndata 0.12.19, h5py 3.16.0):
    python -m venv /tmp/ad && /tmp/ad/bin/pip install anndata==0.12.19
    PYTHONPATH=workflow/scripts /tmp/ad/bin/python tests/data/anndata/make.py
"""

from pathlib import Path

import anndata
import numpy as np
import pandas as pd
import scipy.sparse

from vaebench.data import make_synthetic

HERE = Path(__file__).parent
SHAPE = {"n_samples": 60, "n_genes": 40, "seed": 5}

expr, phenotype = make_synthetic(**SHAPE)
x = expr.to_numpy().T  # samples x genes, NaN blocks included
obs = phenotype.set_index("sample")
obs["cancer type abbreviation"] = obs["cancer type abbreviation"].astype("category")
obs["OS"] = obs["OS"].astype("Int64")
obs.loc[obs.index[0], "OS"] = pd.NA  # a nullable integer with a missing value
obs["OS.time"] = obs["OS.time"].astype(float)
var = pd.DataFrame(index=pd.Index(expr.index, name="gene"))
counts = np.round(np.exp2(np.nan_to_num(x).clip(0)) - 1).astype(np.float32)
anndata.AnnData(X=x, obs=obs, var=var, layers={"counts": counts}).write_h5ad(HERE / "dense.h5ad")
anndata.AnnData(X=scipy.sparse.csr_matrix(np.nan_to_num(x)), obs=obs, var=var).write_h5ad(
    HERE / "sparse.h5ad")
anndata.AnnData(X=scipy.sparse.csc_matrix(np.nan_to_num(x)), obs=obs, var=var).write_h5ad(
    HERE / "sparse_csc.h5ad")
