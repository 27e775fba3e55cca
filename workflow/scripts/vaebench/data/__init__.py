"""Data: read expression and annotations, fake them, preprocess and split them. No torch here:
this package runs in the light analysis environment too.

The flow is one direction (DESIGN.md, "Data flow"):

    read_xena / make_synthetic -> genes x samples DataFrame (float32, NA as NaN)
      -> preprocess: duplicated ids, NA policy, top-k genes by variability, scaling
      -> Preprocessed (samples x genes float32 matrix + ids + a JSON-able summary)
      -> save_preprocessed / load_preprocessed -> split_indices in the trainer

Rooms: files (the error, atomic writes, downloads, checksums), formats (readers and writers),
synthetic (the generator), preprocess (the steps, the preprocessed files, the split).
"""

from .files import DataError, atomic_path, download, sha256_bytes, write_atomic
from .formats import SAMPLE_TYPE_CODES, read_phenotype, read_xena, write_xena
from .preprocess import (
    DUPLICATE_POLICIES,
    NA_POLICIES,
    NORMALS,
    SCALE_FITS,
    SCALING_METHODS,
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

__all__ = [
    "DUPLICATE_POLICIES", "NA_POLICIES", "NORMALS", "SAMPLE_TYPE_CODES", "SCALE_FITS",
    "SCALING_METHODS", "TCGA_SAMPLE_COUNTS", "VARIABILITY_METHODS", "DataError", "Preprocessed",
    "apply_scaler", "atomic_path", "download", "fit_scaler", "load_preprocessed",
    "make_synthetic", "preprocess", "read_phenotype", "read_xena", "save_preprocessed",
    "sha256_bytes", "split_indices", "write_atomic", "write_synthetic", "write_xena",
]
