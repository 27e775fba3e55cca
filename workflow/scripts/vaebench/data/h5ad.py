"""AnnData's `.h5ad` (the scverse standard): samples = obs, genes = var; read and write.

Read with h5py from the documented on-disk format (anndata.readthedocs.io, "On-disk format",
encoding versions 0.1-0.2 of anndata >= 0.8) rather than with anndata itself: anndata 0.12
requires pandas < 3, which this project pins. What is read: `X` or `layers/<name>`, dense or
sparse (csr_matrix / csc_matrix); the obs and var indexes; obs columns stored as numbers,
strings, categoricals, or nullable integers, booleans and strings. `tests/data/anndata/` holds
files written by anndata itself, which the tests read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .files import DataError, atomic_path, check_unique_ids, existing_file


def _open(path):
    """The file, open, once it is known to be AnnData (X or layers, obs and var)."""
    import h5py

    path = existing_file(path, "h5ad file")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise DataError(f"{path}: not an HDF5 file, damaged or truncated? ({err})") from None
    if "obs" not in f or "var" not in f:
        groups = ", ".join(sorted(f)) or "nothing"
        f.close()
        if "matrix" in groups.split(", "):
            raise DataError(
                f"{path}: a 10x Genomics HDF5 matrix (group 'matrix'), not AnnData: convert it "
                "once, e.g. scanpy.read_10x_h5(path).write_h5ad('counts.h5ad'), and point "
                "datasets.*.h5ad.path at the .h5ad")
        raise DataError(f"{path}: an HDF5 file, but not AnnData (it holds {groups}; AnnData "
                        "has X, obs and var): write it with anndata's write_h5ad")
    return f


def _text(values) -> np.ndarray:
    return np.array([v.decode() if isinstance(v, bytes) else str(v) for v in values], dtype=object)


def _index(frame, path, where: str) -> list[str]:
    if not hasattr(frame, "keys"):  # anndata < 0.7 stored obs/var as one compound dataset
        raise DataError(f"{path}: {where} is stored in the format of anndata < 0.7; open it with "
                        "a current anndata and write it again (adata.write_h5ad)")
    return list(_text(frame[frame.attrs.get("_index", "_index")][()]))


def read_h5ad(path, layer: str | None = None) -> pd.DataFrame:
    """Expression of an AnnData file as a genes x samples float32 DataFrame (NaN kept).

    `layer`: None reads `X`; a name reads `layers/<name>` (e.g. raw counts next to a normalised
    X). The obs index gives the sample ids, the var index the gene ids.
    """
    with _open(path) as f:
        where = "X" if layer is None else f"layers/{layer}"
        if where not in f:
            layers = ", ".join(f["layers"]) if "layers" in f and len(f["layers"]) else "none"
            raise DataError(f"{path}: no {where} (layers in the file: {layers}; "
                            "datasets.*.h5ad.layer)")
        samples, genes = _index(f["obs"], path, "obs"), _index(f["var"], path, "var")
        check_unique_ids(samples, f"{path} (obs index; anndata's obs_names_make_unique() "
                                  "would rename the copies)")
        values = _matrix(f[where], path, where)
    if values.shape != (len(samples), len(genes)):
        raise DataError(f"{path}: {where} is {values.shape[0]} x {values.shape[1]}, but obs has "
                        f"{len(samples)} samples and var {len(genes)} genes")
    if np.isinf(values).any():
        row, col = np.argwhere(np.isinf(values))[0]
        raise DataError(f"{path}: {where} of sample {samples[row]!r}, gene {genes[col]!r} is "
                        "infinite")
    return pd.DataFrame(np.ascontiguousarray(values.T), copy=False,
                        index=pd.Index(genes, dtype=str, name="gene"),
                        columns=pd.Index(samples, dtype=str, name="sample"))


def _matrix(node, path, where: str) -> np.ndarray:
    """samples x genes float32 of a dense dataset or a csr/csc group."""
    encoding = node.attrs.get("encoding-type", "array")
    if encoding == "array":
        values = node[()]
    elif encoding in ("csr_matrix", "csc_matrix"):
        import scipy.sparse

        build = scipy.sparse.csr_matrix if encoding == "csr_matrix" else scipy.sparse.csc_matrix
        values = build((node["data"][()], node["indices"][()], node["indptr"][()]),
                       shape=tuple(node.attrs["shape"])).toarray()
    else:
        raise DataError(f"{path}: {where} has encoding {encoding!r}; readable: a dense array, "
                        "csr_matrix or csc_matrix")
    if not np.issubdtype(values.dtype, np.number) or values.ndim != 2:
        raise DataError(f"{path}: {where} is not a 2-D numeric matrix ({values.dtype}, "
                        f"{values.ndim}-D)")
    return values.astype(np.float32, copy=False)


def read_obs(path) -> pd.DataFrame:
    """The obs table as text (missing values ""), its index as the column `sample` first."""
    with _open(path) as f:
        obs = f["obs"]
        columns = {"sample": _index(obs, path, "obs")}
        check_unique_ids(columns["sample"], f"{path} (obs index)")
        for name in obs.attrs.get("column-order", []):
            columns.setdefault(str(name), _column(obs[name], path, name))
    return pd.DataFrame(columns, dtype=object)


def _column(node, path, name) -> np.ndarray:
    encoding = node.attrs.get("encoding-type", "array")
    if encoding == "categorical":
        categories = _text(node["categories"][()])
        codes = node["codes"][()]
        if not len(categories):  # a column with no value in any sample: every code is -1
            return np.full(len(codes), "", dtype=object)
        return np.where(codes >= 0, categories[np.maximum(codes, 0)], "")
    if encoding.startswith("nullable-"):
        values = node["values"][()]
        return np.where(node["mask"][()], "", _text(values))
    if encoding in ("array", "string-array"):
        values = node[()]
        text = _text(values)
        if values.dtype.kind == "f":  # NaN is how a float column says "missing"
            text[np.isnan(values)] = ""
        return text
    raise DataError(f"{path}: obs column {name!r} has encoding {encoding!r}, which vaebench "
                    "cannot read")


def write_h5ad(expr: pd.DataFrame, obs: pd.DataFrame, path, sparse: bool = False) -> None:
    """Write a genes x samples DataFrame and its samples' annotations (`obs`: a `sample` column
    plus text or numeric columns) as an .h5ad that anndata reads: X samples x genes float32,
    dense or CSR; text columns as categoricals, as anndata writes them."""
    import h5py

    str_dtype = h5py.string_dtype()
    values = np.ascontiguousarray(expr.to_numpy(dtype=np.float32).T)
    samples = [str(s) for s in expr.columns]
    obs = obs.set_index("sample").reindex(samples)

    def frame(group, index: list[str], table: pd.DataFrame) -> None:
        group.attrs.update({"encoding-type": "dataframe", "encoding-version": "0.2.0",
                            "_index": "_index"})
        group.attrs.create("column-order", list(table.columns), dtype=str_dtype)
        _dataset(group, "_index", np.array(index, dtype=object), "string-array")
        for name in table.columns:
            column = table[name]
            if pd.api.types.is_numeric_dtype(column):
                _dataset(group, name, column.to_numpy(), "array")
                continue
            categories, codes = np.unique(column.fillna("").astype(str), return_inverse=True)
            sub = group.create_group(name)
            sub.attrs.update({"encoding-type": "categorical", "encoding-version": "0.2.0",
                              "ordered": False})
            _dataset(sub, "categories", categories.astype(object), "string-array")
            _dataset(sub, "codes", codes.astype(np.int32), "array")

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update({"encoding-type": "anndata", "encoding-version": "0.1.0"})
        if sparse:
            import scipy.sparse

            matrix = scipy.sparse.csr_matrix(values)
            x = f.create_group("X")
            x.attrs.update({"encoding-type": "csr_matrix", "encoding-version": "0.1.0",
                            "shape": np.array(values.shape)})
            for part in ("data", "indices", "indptr"):
                x.create_dataset(part, data=getattr(matrix, part))
        else:
            _dataset(f, "X", values, "array")
        frame(f.create_group("obs"), samples, obs)
        frame(f.create_group("var"), [str(g) for g in expr.index], pd.DataFrame(index=expr.index))
        for empty in ("layers", "obsm", "obsp", "uns", "varm", "varp"):
            f.create_group(empty).attrs.update({"encoding-type": "dict",
                                                "encoding-version": "0.1.0"})


def _dataset(group, name: str, data: np.ndarray, encoding: str) -> None:
    import h5py

    if data.dtype == object:
        dataset = group.create_dataset(name, data=data, dtype=h5py.string_dtype())
    else:
        dataset = group.create_dataset(name, data=data)
    dataset.attrs.update({"encoding-type": encoding, "encoding-version": "0.2.0"})
