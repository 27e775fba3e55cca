"""Formats: one `read_expression` and one `read_phenotype` over every input format.

Expression (genes x samples float32 DataFrame, NaN where missing):
    xena   a UCSC Xena genomicMatrix (xena.py)
    h5ad   an AnnData file, X or a layer, dense or sparse (h5ad.py)
    table  a CSV or TSV, samples as rows or as columns (table.py)

Annotations (`read_phenotype`): whatever the format, one table per sample with the columns
`sample`, `label` (what latent spaces are scored against: cancer type, tissue, subtype),
`sample_type`, and where the source has them `survival_time`, `survival_event` and the
clinical covariates under their own names. Which source column is which is the dataset's
`columns:` setting; the defaults are the names of the TCGA-CDR table Xena serves
(Survival_SupplementalTable_S1_20171025_xena_sp).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .files import MISSING_VALUES, DataError, check_unique_ids
from .h5ad import read_h5ad, read_obs
from .table import read_header, read_table, read_text_table, write_text_table
from .xena import read_xena

EXPRESSION_FORMATS = ("xena", "h5ad", "table")
# A label is scored by stratified cross-validation with this many folds (analysis.latent's
# CV_FOLDS): only classes with at least as many samples count, and at least two must.
MIN_CLASS_SAMPLES = 5
# The TCGA-CDR table's names; what a dataset's `columns:` falls back to, key by key.
DEFAULT_COLUMNS = {
    "sample": "sample",
    "label": "cancer type abbreviation",
    "survival_time": "OS.time",
    "survival_event": "OS",
    "clinical": ["age_at_initial_pathologic_diagnosis", "gender"],
}
# The two digits ending a 15-character TCGA barcode (TCGA-XX-XXXX-NN), as Xena names them.
SAMPLE_TYPE_CODES = {
    "01": "Primary Tumor",
    "02": "Recurrent Tumor",
    "03": "Primary Blood Derived Cancer - Peripheral Blood",
    "05": "Additional - New Primary",
    "06": "Metastatic",
    "07": "Additional Metastatic",
    "11": "Solid Tissue Normal",
}


def read_expression(path, format: str = "xena", layer: str | None = None,
                    samples_as: str = "columns", annotation_columns=()) -> pd.DataFrame:
    """The expression matrix of a file in any input format, genes x samples float32."""
    if format == "xena":
        return read_xena(path)
    if format == "h5ad":
        return read_h5ad(path, layer)
    if format == "table":
        return read_table(path, samples_as, annotation_columns)
    raise DataError(f"unknown format {format!r}; allowed: {', '.join(EXPRESSION_FORMATS)}")


def resolve_columns(columns: dict | None) -> tuple[dict, set[str]]:
    """The dataset's `columns:` over the defaults, and which keys the user set (a column the
    user named must exist; a default one may be absent)."""
    columns = columns or {}
    unknown = set(columns) - set(DEFAULT_COLUMNS)
    if unknown:
        raise DataError(f"columns: unknown keys {sorted(unknown)}; known: "
                        f"{', '.join(DEFAULT_COLUMNS)}")
    return {**DEFAULT_COLUMNS, **columns}, set(columns)


def annotation_columns(columns: dict | None) -> list[str]:
    """The source column names that hold annotations, not expression."""
    resolved, _ = resolve_columns(columns)
    return [resolved["label"], resolved["survival_time"], resolved["survival_event"],
            *resolved["clinical"], "sample_type"]


def read_phenotype(path, format: str = "table", columns: dict | None = None,
                   where: str = "columns") -> pd.DataFrame:
    """The annotations of a file, normalised (see the module docstring), all text.

    format "table": a separate CSV or TSV with a sample id column (Xena's phenotype tables,
    the synthetic generator's); "h5ad": the obs of an AnnData file (its index is the sample
    id); "in_table": the annotation columns of a samples-as-rows expression table (its first
    column is the sample id). `where` names the config key of `columns` in messages.
    """
    resolved, named = resolve_columns(columns)
    if format == "h5ad":
        table, id_column = read_obs(path), "sample"
    elif format == "in_table":
        header = read_header(path)
        wanted = [header[0], *(c for c in annotation_columns(columns) if c in header[1:])]
        table, id_column = read_text_table(path, wanted), header[0]
    elif format == "table":
        table, id_column = read_text_table(path), resolved["sample"]
    else:
        raise DataError(f"unknown phenotype format {format!r}")
    available = ", ".join(list(table.columns)[:12])
    if id_column not in table.columns:
        raise DataError(f"{path}: no sample id column {id_column!r} ({where}.sample; columns: "
                        f"{available})")
    label = resolved["label"]
    if label not in table.columns:
        raise DataError(f"{path}: no label column {label!r} ({where}.label; columns: "
                        f"{available})")
    samples = table[id_column].astype(str)
    check_unique_ids(samples, f"{path} (column {id_column!r})", unit="line", first=2)
    # one reading of "no value" for every annotation: MISSING_VALUES become ""
    table = table.astype(str).apply(lambda column: column.str.strip()).replace(
        dict.fromkeys(MISSING_VALUES, ""))
    labels = table[label]
    classes = labels[labels != ""].unique()
    if len(classes) < 2:
        raise DataError(f"{path}: the label column {label!r} has "
                        f"{'one class, ' + repr(classes[0]) if len(classes) else 'no values'} "
                        f"in all {len(labels)} samples: latent spaces need at least two groups "
                        f"to be scored against ({where}.label)")
    if "sample_type" in table.columns and label != "sample_type":
        sample_type = table["sample_type"].astype(str)
    else:
        sample_type = samples.str.slice(13, 15).map(SAMPLE_TYPE_CODES).fillna("")
    out = {"sample": samples.to_numpy(), "label": labels.to_numpy(),
           "sample_type": sample_type.to_numpy()}
    for key, parse in (("survival_time", _survival_time), ("survival_event", _survival_event)):
        column = resolved[key]
        if column in table.columns:
            out[key] = parse(table[column].astype(str), samples, path, column)
        elif key in named:
            raise DataError(f"{path}: no {key} column {column!r} ({where}.{key}; columns: "
                            f"{available})")
    for column in resolved["clinical"]:
        if column in table.columns:
            out[column] = table[column].astype(str).to_numpy()
        elif "clinical" in named:
            raise DataError(f"{path}: no clinical column {column!r} ({where}.clinical; columns: "
                            f"{available})")
    return pd.DataFrame(out, dtype=object)


def check_scorable_label(phenotype: pd.DataFrame, source, label: str, where: str) -> None:
    """The phenotype step of a study that saves latent spaces: its label (read_phenotype's
    `label` column) is scored on classes of at least MIN_CLASS_SAMPLES samples, and at least two
    are needed; else a DataError that says why, before any run trains for it. `source`: the
    user's file; `label`: its column's name; `where`: the config key of `columns`."""
    labels = phenotype["label"]
    counts = labels[labels != ""].value_counts()
    usable = counts[counts >= MIN_CLASS_SAMPLES]
    if len(usable) >= 2:
        return
    unlabelled = int((labels == "").sum())
    found = (f"{len(counts)} classes among its {len(labels) - unlabelled} labelled samples"
             + (f" ({unlabelled} have no value)" if unlabelled else "")
             + f", e.g. {counts.index[0]!r} with {counts.iloc[0]}"
             + f"; {len(usable)} with {MIN_CLASS_SAMPLES} or more samples")
    raise DataError(f"{source}: the label column {label!r} has {found}: latent spaces are scored "
                    f"against at least two classes of {MIN_CLASS_SAMPLES} or more samples each "
                    "(a cancer type, tissue or subtype; not a per-sample id): choose another "
                    f"column ({where}.label)")


def _survival_time(cells: pd.Series, samples, path, column) -> np.ndarray:
    values = pd.to_numeric(cells.replace({"": None}), errors="coerce")
    bad = (values.isna() & (cells != "")) | (values < 0)
    _fail_at(bad, cells, samples, path, column, "a time (a number >= 0, or empty)")
    return np.array(["" if np.isnan(v) else f"{v:g}" for v in values], dtype=object)


def _survival_event(cells: pd.Series, samples, path, column) -> np.ndarray:
    mapping = {"1": "1", "1.0": "1", "True": "1", "true": "1",
               "0": "0", "0.0": "0", "False": "0", "false": "0", "": ""}
    bad = ~cells.isin(list(mapping))
    _fail_at(bad, cells, samples, path, column, "an event (1 = died, 0 = censored, or empty)")
    return cells.map(mapping).to_numpy()


def _fail_at(bad: pd.Series, cells, samples, path, column, expected: str) -> None:
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{path}: column {column!r}, sample {samples.iloc[row]!r}: "
                        f"{cells.iloc[row][:40]!r} is not {expected}")


def write_phenotype(phenotype: pd.DataFrame, path) -> None:
    write_text_table(phenotype, path)


def load_phenotype(path) -> pd.DataFrame:
    """What write_phenotype wrote (a normalised table), all text."""
    return read_text_table(path)


def check_orientation(path, samples_as: str, annotations, id_column: str, where: str) -> None:
    """A table read the wrong way round would name its genes as samples and train on them:
    catch it by where the annotations' sample ids sit (its header or its first column)."""
    known = set(read_text_table(annotations, [id_column]).iloc[:, 0])
    header = read_header(path)[1:]
    in_header = [i for i, name in enumerate(header, start=2) if name in known]
    if samples_as == "rows" and in_header:
        column = in_header[0]
        raise DataError(f"{path}: {where} is rows, but its header holds {len(in_header)} sample "
                        f"ids of the annotations {annotations} (column {column}: "
                        f"{header[column - 2]!r}): the samples are its columns; set "
                        "samples_as: columns")
    if samples_as == "columns" and not in_header:
        hits = [value for value in read_text_table(path, [0]).iloc[:, 0] if value in known]
        if hits:
            raise DataError(f"{path}: {where} is columns, but its first column holds "
                            f"{len(hits)} sample ids of the annotations {annotations} (e.g. "
                            f"{hits[0]!r}) and its header none: the samples are its rows; set "
                            "samples_as: rows")
