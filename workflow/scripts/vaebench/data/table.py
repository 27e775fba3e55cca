"""Plain tables: CSV or TSV, gzip or not, samples as rows or as columns; read and write.

The separator follows the name: `.csv` (or `.csv.gz`) is comma-separated, anything else tab.
The first column holds the ids of the rows, the header the ids of the columns; the corner cell
is ignored. Missing values: files.MISSING_VALUES (an empty cell, `NA`, `NaN`, `#N/A`, ...).
Text is UTF-8, with or without the byte-order mark that Excel's "CSV UTF-8" writes.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd

from .files import (
    MISSING_VALUES,
    DataError,
    _open_read,
    atomic_path,
    check_unique_ids,
    existing_file,
)
from .xena import _NUMBER

SAMPLES_AS = ("rows", "columns")
_MISSING = list(MISSING_VALUES)
ENCODING = "utf-8-sig"  # UTF-8; a leading byte-order mark is dropped, not read as text


def separator(path) -> str:
    name = Path(path).name.lower().removesuffix(".gz")
    return "," if name.endswith(".csv") else "\t"


def read_header(path) -> list[str]:
    """The cells of the first line (the corner cell first)."""
    path = existing_file(path, "table")
    with _open_read(path) as f:
        first = f.readline().decode(ENCODING, errors="replace").rstrip("\r\n")
    if not first:
        raise DataError(f"{path}: file is empty (expected a header line)")
    return next(csv.reader([first], delimiter=separator(path)))


def read_table(path, samples_as: str, annotation_columns=()) -> pd.DataFrame:
    """Expression of a table as a genes x samples float32 DataFrame (NaN where missing).

    samples_as "rows": one row per sample, one column per gene (header: gene ids);
    "columns": one row per gene (header: sample ids). `annotation_columns`: columns of a
    samples-as-rows table that hold annotations (label, survival, clinical), left out here.
    """
    path = Path(path)
    if samples_as not in SAMPLES_AS:
        raise DataError(f"samples_as={samples_as!r}: must be rows or columns")
    header = read_header(path)
    column_ids = header[1:]
    if samples_as == "columns":
        annotation_columns = ()
    values_at = [i for i, name in enumerate(column_ids, start=1)
                 if name not in set(annotation_columns)]
    if not values_at:
        raise DataError(f"{path}: no value columns in the header")
    _check_field_counts(path, len(header))
    with _open_read(path) as f:
        try:
            table = pd.read_csv(f, sep=separator(path), header=None, skiprows=1,
                                usecols=[0, *values_at], index_col=0,
                                dtype={0: str, **dict.fromkeys(values_at, np.float32)},
                                na_values=_MISSING, keep_default_na=False, engine="c",
                                encoding=ENCODING)
        except ValueError as exc:
            raise _locate_bad_cell(path, header, values_at, samples_as, exc) from None
    row_ids = [str(i) for i in table.index]
    kept_columns = [column_ids[i - 1] for i in values_at]
    samples, genes = (row_ids, kept_columns) if samples_as == "rows" else (kept_columns, row_ids)
    _check_unique(samples, path, "sample", "rows" if samples_as == "rows" else "header")
    values = table.to_numpy()
    if np.isinf(values).any():
        row, col = np.argwhere(np.isinf(values))[0]
        raise DataError(f"{path}, line {row + 2}, column {kept_columns[col]!r}: value is "
                        "infinite or beyond float32 range")
    if samples_as == "rows":
        values = np.ascontiguousarray(values.T)
    return pd.DataFrame(values, copy=False, index=pd.Index(genes, dtype=str, name="gene"),
                        columns=pd.Index(samples, dtype=str, name="sample"))


def _check_field_counts(path: Path, expected: int) -> None:
    """pandas pads a short row with NaN without a word: count the fields of every line."""
    sep = separator(path).encode()
    with _open_read(path) as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            n_fields = (line.count(sep) + 1 if b'"' not in line else
                        len(next(csv.reader([line.decode("utf-8", errors="replace")],
                                            delimiter=sep.decode()))))
            if n_fields != expected:
                raise DataError(f"{path}, line {line_no}: {n_fields} fields, expected "
                                f"{expected} (as in the header)")


def _check_unique(ids: list[str], path: Path, what: str, where: str) -> None:
    if any(not value or value == "nan" for value in ids):
        raise DataError(f"{path}: {where} has an empty {what} id")
    # rows: below the header line; header: after the id column
    check_unique_ids(ids, f"{path} ({where})", what,
                     unit="line" if where == "rows" else "column", first=2)


def _locate_bad_cell(path: Path, header, values_at, samples_as, exc) -> DataError:
    """Failure path only: read the cells as text and name the first that is not a number."""
    with _open_read(path) as f:
        text = pd.read_csv(f, sep=separator(path), header=None, skiprows=1, dtype=str,
                           usecols=[0, *values_at], keep_default_na=False, encoding=ENCODING)
    for position, column in enumerate(values_at, start=1):
        cells = text.iloc[:, position]
        bad = ~(cells.isin(_MISSING) | cells.str.strip().str.fullmatch(_NUMBER.pattern.decode()))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            row_kind = "sample" if samples_as == "rows" else "gene"
            return DataError(f"{path}, line {row + 2}, column {header[column]!r} ({row_kind} "
                             f"{text.iloc[row, 0]!r}): {cells.iloc[row][:40]!r} is not a number "
                             "or missing")
    return DataError(f"{path}: cannot parse values ({exc})")


def read_text_table(path, columns=None) -> pd.DataFrame:
    """A table's cells as text ("" where empty); `columns`: only those (header names or
    positions)."""
    path = existing_file(path, "table")
    with _open_read(path) as f:
        return pd.read_csv(f, sep=separator(path), dtype=str, keep_default_na=False,
                           usecols=columns, encoding=ENCODING)


def write_table(expr: pd.DataFrame, path, samples_as: str,
                annotations: pd.DataFrame | None = None) -> None:
    """Write a genes x samples DataFrame as a table read_table reads (gzip when `path` ends in
    .gz); `annotations` (a `sample` column plus others) become leading columns of a
    samples-as-rows table."""
    table = expr.T if samples_as == "rows" else expr
    table = table.rename_axis("sample" if samples_as == "rows" else "gene")
    if annotations is not None:
        if samples_as != "rows":
            raise DataError("annotation columns go into a samples-as-rows table only")
        clash = sorted(set(annotations.columns) & set(table.columns))
        if clash:
            raise DataError(f"{path}: gene ids {clash} are also annotation columns; a "
                            "samples-as-rows table cannot hold both")
        table = annotations.set_index("sample").reindex(table.index).join(table)
    write_text_table(table, path, index=True, float_format="%.4g")


def write_text_table(frame: pd.DataFrame, path, index: bool = False,
                     float_format: str | None = None) -> None:
    """A DataFrame as CSV or TSV (by the name; gzip when it ends in .gz), atomically."""
    buffer = io.StringIO()
    frame.to_csv(buffer, sep=separator(path), index=index, float_format=float_format,
                 na_rep="NA")
    content = buffer.getvalue().encode()
    with atomic_path(path) as tmp:
        if str(path).endswith(".gz"):
            with gzip.GzipFile(tmp, "wb", compresslevel=1, mtime=0) as out:
                out.write(content)
        else:
            tmp.write_bytes(content)
