"""Data: read expression and annotations, fake them, preprocess and split them. No torch here:
this package runs in the light analysis environment too.

The flow is one direction (DESIGN.md, "Data flow"):

    read_expression (xena, h5ad, table) / make_synthetic
      -> genes x samples DataFrame (float32, NA as NaN)
      -> preprocess: transform (none, log2p1), duplicated ids, NA policy, top-k genes by
         variability, scaling
      -> Preprocessed (samples x genes float32 matrix + ids + a JSON-able summary)
      -> save_preprocessed / load_preprocessed -> split_indices in the trainer

    read_phenotype (a table, an h5ad's obs, a table's own columns) -> one annotation table

Rooms: files (the error, atomic writes, downloads, checksums); formats (read_expression and
read_phenotype over the formats, each in its room: xena, h5ad, table); synthetic (the
generator); preprocess (the steps, the preprocessed files, the split).
"""

from .files import DataError, atomic_path, download, sha256_bytes, write_atomic
from .formats import (
    DEFAULT_COLUMNS,
    EXPRESSION_FORMATS,
    SAMPLE_TYPE_CODES,
    annotation_columns,
    check_orientation,
    load_phenotype,
    read_expression,
    read_phenotype,
    resolve_columns,
    write_phenotype,
)
from .h5ad import read_h5ad, write_h5ad
from .preprocess import (
    DUPLICATE_POLICIES,
    NA_POLICIES,
    NORMALS,
    SCALE_FITS,
    SCALING_METHODS,
    TRANSFORMS,
    VARIABILITY_METHODS,
    Preprocessed,
    apply_scaler,
    fit_scaler,
    load_preprocessed,
    preprocess,
    save_preprocessed,
    split_indices,
)
from .synthetic import TCGA_SAMPLE_COUNTS, make_synthetic, write_synthetic
from .table import SAMPLES_AS, read_table, write_table
from .xena import read_xena, write_xena

__all__ = [
    "DEFAULT_COLUMNS", "DUPLICATE_POLICIES", "DataError", "EXPRESSION_FORMATS", "NA_POLICIES",
    "NORMALS", "Preprocessed", "SAMPLES_AS", "SAMPLE_TYPE_CODES", "SCALE_FITS",
    "SCALING_METHODS", "TCGA_SAMPLE_COUNTS", "TRANSFORMS", "VARIABILITY_METHODS",
    "annotation_columns", "apply_scaler", "atomic_path", "check_orientation", "download",
    "fit_scaler", "load_phenotype", "load_preprocessed", "make_synthetic", "preprocess",
    "read_expression", "read_h5ad", "read_phenotype", "read_table", "read_xena",
    "resolve_columns", "save_preprocessed", "sha256_bytes", "split_indices", "write_atomic",
    "write_h5ad", "write_phenotype", "write_synthetic", "write_table", "write_xena",
]
