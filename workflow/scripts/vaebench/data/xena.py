"""The UCSC Xena genomicMatrix format: genes x samples TSV, gzip or plain; read and write."""

from __future__ import annotations

import gzip
import io
import re
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from .files import (
    MISSING_VALUES,
    DataError,
    _check_ids,
    _open_read,
    atomic_path,
    check_unique_ids,
    existing_file,
)

_MISSING_BYTES = {value.encode() for value in MISSING_VALUES}

# Lines handed to the parser at a time: big enough that per-call overhead vanishes, small enough
# that a block's text and its parsed copy stay a few hundred MB.
_READ_BLOCK_BYTES = 64 * 2**20
# Genes per write when writing a Xena file (~16 MB of text).
_WRITE_CHUNK = 256


def read_xena(path) -> pd.DataFrame:
    """Read a UCSC Xena genomicMatrix (gzip or plain TSV, genes x samples) into float32.

    Format: header `sample<TAB>sample ids...`, then one row per gene: id, then one value per
    sample; `NA` marks a missing value. Gene ids are kept as text exactly as written (numeric
    Entrez ids such as "100130426" stay strings; duplicated ids are kept, preprocess decides).

    Returns a DataFrame genes x samples (index "gene", columns "sample"), float32, NaN for NA.

    The file is parsed in blocks of lines by pandas' C parser; before a block is parsed every
    line's field count is checked (pandas silently pads short rows). Only when a block fails to
    parse is it scanned cell by cell to name the offending line, sample and text.
    """
    path = existing_file(path, "expression file")
    try:
        with _open_read(path) as f:
            header = f.readline()
            samples = _parse_header(header, path)
            genes: list[str] = []
            blocks: list[np.ndarray] = []
            line_no = 1  # 1-based number of the last line read
            while lines := f.readlines(_READ_BLOCK_BYTES):
                first_line = line_no + 1
                line_no += len(lines)
                rows = _split_rows(lines, first_line, len(samples), path)
                genes.extend(gene for _, gene, _ in rows)
                blocks.append(_parse_block(rows, samples, path))
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot decompress, file damaged or truncated? ({exc})") from None
    if not genes:
        raise DataError(f"{path}: header found but no gene rows")
    # copy=False: pandas would otherwise copy the ~1 GB matrix once more.
    return pd.DataFrame(np.concatenate(blocks), copy=False,
                        index=pd.Index(genes, dtype=str, name="gene"),
                        columns=pd.Index(samples, dtype=str, name="sample"))


def _parse_header(header: bytes, path: Path) -> list[str]:
    if not header.strip():
        raise DataError(f"{path}: file is empty (expected a header line starting with 'sample')")
    # utf-8-sig: a byte-order mark (as Excel writes) is not part of the first cell
    cells = header.rstrip(b"\r\n").decode("utf-8-sig", errors="replace").split("\t")
    if cells[0] != "sample":
        raise DataError(f"{path}, line 1: first header cell is {cells[0][:40]!r}, expected "
                        "'sample' (a UCSC Xena genomicMatrix: genes x samples)")
    samples = cells[1:]
    if not samples:
        raise DataError(f"{path}, line 1: header names no samples")
    if "" in samples:
        raise DataError(f"{path}, line 1, column {samples.index('') + 2}: empty sample id")
    # the first column holds the gene ids: the samples start in column 2
    check_unique_ids(samples, f"{path}, line 1", unit="column", first=2)
    return samples


def _split_rows(lines: list[bytes], first_line: int, n_samples: int, path: Path):
    """(line number, gene id, values text) per non-blank line; checks the field count."""
    rows = []
    for line_no, line in enumerate(lines, start=first_line):
        if not line.strip():
            continue  # a trailing blank line is harmless
        n_fields = line.count(b"\t") + 1
        if n_fields != n_samples + 1:
            raise DataError(f"{path}, line {line_no}: {n_fields} fields, expected {n_samples + 1} "
                            "(gene id + one value per sample in the header)")
        gene, _, values = line.partition(b"\t")
        gene = gene.decode("utf-8", errors="replace")
        if not gene:
            raise DataError(f"{path}, line {line_no}: empty gene id")
        rows.append((line_no, gene, values if values.endswith(b"\n") else values + b"\n"))
    return rows


def _parse_block(rows, samples: list[str], path: Path) -> np.ndarray:
    text = b"".join(values for _, _, values in rows)
    try:
        block = pd.read_csv(io.BytesIO(text), sep="\t", header=None, dtype=np.float32,
                            na_values=list(MISSING_VALUES), keep_default_na=False,
                            engine="c").to_numpy()
    except ValueError as exc:
        raise _locate_bad_cell(rows, samples, path, exc) from None
    if np.isinf(block).any():
        row, col = np.argwhere(np.isinf(block))[0]
        line_no, _, values = rows[row]
        text = values.split(b"\t")[col].strip().decode("utf-8", errors="replace")
        raise DataError(f"{path}, line {line_no}, column {col + 2} (sample {samples[col]}): "
                        f"value {text!r} is infinite or beyond float32 range")
    return block


# What pandas' C parser reads as a number here: decimal or exponent notation, inf (caught after
# parsing). Not "nan" text (NA is the missing value) and not what only Python's float() takes
# ("1_0", "infinity").
_NUMBER = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?i:inf)")


def _locate_bad_cell(rows, samples: list[str], path: Path, exc: Exception) -> DataError:
    """Failure path only: find the first cell that is neither missing nor a number."""
    for line_no, _, values in rows:
        for col, cell in enumerate(values.rstrip(b"\r\n").split(b"\t")):
            if cell.strip() not in _MISSING_BYTES and not _NUMBER.fullmatch(cell.strip()):
                text = cell.decode("utf-8", errors="replace")
                return DataError(f"{path}, line {line_no}, column {col + 2} (sample "
                                 f"{samples[col]}): {text[:40]!r} is not a number or missing "
                                 f"({', '.join(repr(v) for v in MISSING_VALUES)})")
    return DataError(f"{path}, lines {rows[0][0]}-{rows[-1][0]}: cannot parse values ({exc})")


def write_xena(expr: pd.DataFrame, path) -> None:
    """Write a genes x samples DataFrame in the Xena format read_xena reads.

    Values with 4 significant digits (%.4g: log2 expression to about 0.005), `NA` for NaN,
    gzip when `path` ends in .gz. Gzip level 1: five times faster than the default 6 and the
    file only ~20% larger; a worker thread compresses while the main thread formats text.
    """
    genes, samples = [str(g) for g in expr.index], [str(s) for s in expr.columns]
    _check_ids(genes, "gene")
    _check_ids(samples, "sample")
    values = expr.to_numpy(dtype=np.float32)
    row_format = "%s" + "\t%.4g" * values.shape[1] + "\n"
    with atomic_path(path) as tmp:
        if str(path).endswith(".gz"):
            out = gzip.GzipFile(tmp, "wb", compresslevel=1, mtime=0)
        else:
            out = open(tmp, "wb")
        with out, ThreadPoolExecutor(max_workers=1) as writer:
            out.write(("sample\t" + "\t".join(samples) + "\n").encode())
            pending = None
            for start in range(0, len(genes), _WRITE_CHUNK):
                stop = start + _WRITE_CHUNK
                text = "".join(row_format % (gene, *row)
                               for gene, row in zip(genes[start:stop],
                                                    values[start:stop].tolist(), strict=True))
                # %g writes NaN as "nan"; no number's text contains those letters.
                data = text.replace("\tnan", "\tNA").encode()
                if pending is not None:
                    pending.result()
                pending = writer.submit(out.write, data)
            if pending is not None:
                pending.result()
