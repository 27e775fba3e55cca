"""Data: read expression and annotations, fake them, preprocess and split them. No torch here:
this package runs in the light analysis environment too.

The flow is one direction:

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

The names below are handed on lazily: a room is imported the first time one of its names is
asked for. A training job asks only for the preprocessed matrix and the split, and so never
imports pandas or the format readers (half a second of every run's start).
"""

import importlib

_ROOMS = {
    "files": ("MISSING_VALUES", "DataError", "atomic_path", "download", "sha256_bytes",
              "write_atomic"),
    "formats": ("DEFAULT_COLUMNS", "EXPRESSION_FORMATS", "MIN_CLASS_SAMPLES",
                "SAMPLE_TYPE_CODES", "annotation_columns", "check_orientation",
                "check_scorable_label", "load_phenotype", "read_expression", "read_phenotype",
                "resolve_columns", "write_phenotype"),
    "h5ad": ("read_h5ad", "write_h5ad"),
    "preprocess": ("DUPLICATE_POLICIES", "NA_POLICIES", "NORMALS", "SCALE_FITS",
                   "SCALING_METHODS", "TRANSFORMS", "VARIABILITY_METHODS", "Preprocessed",
                   "apply_scaler", "fit_scaler", "load_preprocessed", "preprocess",
                   "save_preprocessed", "split_indices"),
    "synthetic": ("TCGA_SAMPLE_COUNTS", "make_synthetic", "write_synthetic"),
    "table": ("SAMPLES_AS", "read_table", "write_table"),
    "xena": ("read_xena", "write_xena"),
}
_ROOM_OF = {name: room for room, names in _ROOMS.items() for name in names}
__all__ = sorted(_ROOM_OF)


def __getattr__(name: str):
    if name not in _ROOM_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    room = importlib.import_module(f".{_ROOM_OF[name]}", __name__)
    # Every name of the room at once: importing the room `preprocess` made `preprocess` here
    # the module, and the function of that name must replace it whichever name came first.
    # The next lookups find them without this function.
    globals().update({other: getattr(room, other) for other in _ROOMS[_ROOM_OF[name]]})
    return globals()[name]


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
