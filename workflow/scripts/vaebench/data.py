"""Data: read and write UCSC Xena expression matrices, preprocess them, split them, fake them.

The flow is one direction (DESIGN.md, "Data flow"):

    read_xena / make_synthetic -> genes x samples DataFrame (float32, NA as NaN)
      -> preprocess: duplicated ids, NA policy, top-k genes by variability, scaling
      -> Preprocessed (samples x genes float32 matrix + ids + a JSON-able summary)
      -> save_preprocessed / load_preprocessed -> split_indices in the trainer

Defaults follow what the studies' code did (reference/models.md sections 2, 3 and 8): "MAD" is
pandas' old mean absolute deviation, scaling is fit on all samples before the split, and every
copy of a duplicated gene id is dropped. Each of these is an option, recorded in the summary.

No torch here: this module runs in the light analysis environment too.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import io
import json
import os
import re
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


class DataError(ValueError):
    """Bad input data; message names the problem, the value and where (file, line, config key)."""


NA_POLICIES = ("drop_genes", "fill_zero", "omit_then_zero")
NORMALS = ("keep", "drop")
DUPLICATE_POLICIES = ("drop", "first", "mean")
VARIABILITY_METHODS = ("mean_ad", "median_ad")
SCALING_METHODS = ("minmax", "zscore", "none")
SCALE_FITS = ("all", "train")

# Samples per TCGA cancer type (tumour + normal; BioBombe's tcga_sample_counts.tsv, 11,060 in all).
# The synthetic generator draws types in these proportions.
TCGA_SAMPLE_COUNTS = {
    "BRCA": 1218, "KIRC": 606, "LUAD": 576, "THCA": 572, "UCEC": 567, "HNSC": 566, "LUSC": 553,
    "PRAD": 550, "LGG": 530, "COAD": 495, "SKCM": 474, "STAD": 450, "BLCA": 427, "LIHC": 423,
    "KIRP": 323, "CESC": 310, "OV": 308, "SARC": 265, "ESCA": 196, "PCPG": 187, "PAAD": 183,
    "LAML": 173, "GBM": 172, "READ": 171, "TGCT": 156, "THYM": 122, "KICH": 91, "MESO": 87,
    "UVM": 80, "ACC": 79, "UCS": 57, "DLBC": 48, "CHOL": 45,
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

# Lines handed to the parser at a time: big enough that per-call overhead vanishes, small enough
# that a block's text and its parsed copy stay a few hundred MB.
_READ_BLOCK_BYTES = 64 * 2**20
# Genes per step when computing variability, so float64 temporaries stay small.
_GENE_CHUNK = 512
# Samples per step when scaling; genes per write when writing a Xena file (~16 MB of text).
_ROW_CHUNK = 1024
_WRITE_CHUNK = 256


def _check_option(name: str, value, allowed: tuple) -> None:
    if value not in allowed:
        raise DataError(f"unknown {name}={value!r}; allowed: {', '.join(allowed)}")


@contextmanager
def atomic_path(path) -> Iterator[Path]:
    """Yield a temporary name beside `path`; rename it to `path` only if the block succeeds.

    A crash (or an exception) never leaves a plausible but incomplete output file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as err:
        # A bare "OSError: File too large" names no file: say which output could not be written.
        if err.errno not in _STORAGE_ERRORS:
            raise
        raise OSError(err.errno, f"could not write {path}: {os.strerror(err.errno)} (disk "
                      "full, quota or file-size limit?); no partial file was left") from err
    finally:
        tmp.unlink(missing_ok=True)


_STORAGE_ERRORS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EIO}


def _open_read(path: Path):
    """Open for binary reading, decompressing if the file starts with the gzip magic bytes."""
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _check_ids(ids, what: str) -> None:
    """Ids go one per line / tab-separated into files: they must not contain either."""
    for value in ids:
        if not value or "\t" in value or "\n" in value or "\r" in value:
            raise DataError(f"{what} id {value!r} is empty or contains a tab or newline")


# --------------------------------------------------------------------------------------------
# Reading and writing the Xena genomicMatrix format


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
    path = Path(path)
    if not path.is_file():
        raise DataError(f"expression file not found: {path}")
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
    cells = header.rstrip(b"\r\n").decode("utf-8", errors="replace").split("\t")
    if cells[0] != "sample":
        raise DataError(f"{path}, line 1: first header cell is {cells[0][:40]!r}, expected "
                        "'sample' (a UCSC Xena genomicMatrix: genes x samples)")
    samples = cells[1:]
    if not samples:
        raise DataError(f"{path}, line 1: header names no samples")
    seen: set[str] = set()
    for column, sample in enumerate(samples, start=2):
        if not sample or sample in seen:
            problem = "empty" if not sample else f"duplicated sample id {sample!r}"
            raise DataError(f"{path}, line 1, column {column}: {problem}")
        seen.add(sample)
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
                            na_values=["NA"], keep_default_na=False, engine="c").to_numpy()
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
    """Failure path only: find the first cell that is neither `NA` nor a number."""
    for line_no, _, values in rows:
        for col, cell in enumerate(values.rstrip(b"\r\n").split(b"\t")):
            if cell != b"NA" and not _NUMBER.fullmatch(cell.strip()):
                text = cell.decode("utf-8", errors="replace")
                return DataError(f"{path}, line {line_no}, column {col + 2} (sample "
                                 f"{samples[col]}): {text[:40]!r} is not a number or NA")
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


def read_phenotype(path) -> pd.DataFrame:
    """Read sample annotations: our synthetic phenotype TSV or Xena's TCGA-CDR survival table.

    Accepts a table with columns `sample` and `cancer_type` (what write_synthetic writes) or
    `sample` and `cancer type abbreviation` (Xena's Survival_SupplementalTable_S1_20171025_xena_sp);
    plain or gzip. Returns columns sample, cancer_type, sample_type, all text. sample_type comes
    from the file when it has that column, else from the barcode's last two digits
    (SAMPLE_TYPE_CODES; "" when the barcode has no known code).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"phenotype file not found: {path}")
    with _open_read(path) as f:
        table = pd.read_csv(f, sep="\t", dtype=str, keep_default_na=False)
    if "sample" not in table.columns:
        raise DataError(f"{path}: no 'sample' column (columns: {', '.join(table.columns[:10])})")
    for cancer_column in ("cancer_type", "cancer type abbreviation"):
        if cancer_column in table.columns:
            break
    else:
        raise DataError(f"{path}: no 'cancer_type' or 'cancer type abbreviation' column "
                        f"(columns: {', '.join(table.columns[:10])})")
    duplicated = table["sample"][table["sample"].duplicated()]
    if len(duplicated):
        raise DataError(f"{path}: sample {duplicated.iloc[0]!r} appears more than once")
    if "sample_type" in table.columns:
        sample_type = table["sample_type"]
    else:
        codes = table["sample"].str.slice(13, 15)
        sample_type = codes.map(SAMPLE_TYPE_CODES).fillna("")
    return pd.DataFrame({"sample": table["sample"].to_numpy(),
                         "cancer_type": table[cancer_column].to_numpy(),
                         "sample_type": sample_type.to_numpy()})


# --------------------------------------------------------------------------------------------
# Synthetic stand-in for the TCGA file (reference/models.md section 6)

# Quantiles of per-gene mean log2 expression in the real file (5/25/50/75/95 %, min and max).
_MEAN_QUANTILES = ([0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0],
                   [0.05, 2.15, 5.88, 8.42, 9.87, 11.59, 16.5])
_N_PROGRAMS = 20             # low-rank gene programs shared across genes
_MARKER_FRACTION = 0.08      # tissue-specific genes: ~0-1 in most types, 8-15 in 1-3 types
_NORMAL_FRACTION = 0.07      # solid tissue normals (-11)
_SKCM_METASTATIC = 0.75      # SKCM tumours that are metastatic (-06), as in TCGA
_NEGATIVE_SHARE = 0.2        # share of below-zero draws kept as small negatives, the rest -> 0
_NA_GROUPS = (("UCEC", "COAD", "READ"), ("LAML", "STAD", "ESCA"))  # platform batches NA'd in Xena
_NA_GENE_FRACTION = 0.12     # per group; together ~22% of genes have an NA block (real: ~20%)
_DUPLICATED_SYMBOL = "SLC35E2"  # the real file's duplicated symbol
_BASE36 = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"))


def make_synthetic(n_samples: int, n_genes: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A random expression matrix that looks like the Xena TCGA file, and its phenotype table.

    Returns (expression genes x samples, float32 log2 values with NaN blocks; phenotype with
    columns sample, cancer_type, sample_type in the expression's column order). The same
    (n_samples, n_genes, seed) always gives the same data.

    What makes it look real (reference/models.md section 6): the 33 TCGA types in their real
    proportions (each type at least once when n_samples >= 33); barcodes TCGA-XX-XXXX-NN with ~7%
    normals (-11) that share a patient with a tumour, LAML -03, most SKCM -06; per-gene means with
    the real quantiles; type effects and 20 low-rank programs for gene-gene correlation; ~8% marker
    genes; values below zero become exact zeros (~1.5%) or small negatives (~0.4%); ~29 per 20,531
    ids are numeric (Entrez-style); exactly one symbol occurs twice; ~12% of genes are NA for every
    sample of UCEC/COAD/READ and another ~12% for LAML/STAD/ESCA.
    """
    for name, value, minimum in (("n_samples", n_samples, 2), ("n_genes", n_genes, 4)):
        if not isinstance(value, (int, np.integer)) or value < minimum:
            raise DataError(f"{name}={value!r}: must be an integer >= {minimum}")
    rng = np.random.Generator(np.random.PCG64(seed))
    phenotype, type_index, is_normal = _synthetic_samples(n_samples, rng)
    genes = _synthetic_gene_ids(n_genes, rng)
    values = _synthetic_values(type_index, is_normal, n_genes, rng)
    expr = pd.DataFrame(values, copy=False, index=pd.Index(genes, dtype=str, name="gene"),
                        columns=pd.Index(phenotype["sample"], dtype=str, name="sample"))
    return expr, phenotype


def _allocate(n: int, weights: np.ndarray) -> np.ndarray:
    """Split n into integer counts proportional to weights (largest remainder), >= 1 each if n
    allows it."""
    base = np.full(len(weights), 1 if n >= len(weights) else 0)
    quota = weights / weights.sum() * (n - base.sum())
    counts = np.floor(quota).astype(np.int64)
    leftover = n - base.sum() - counts.sum()
    counts[np.argsort(-(quota - counts), kind="stable")[:leftover]] += 1
    return base + counts


def _base36(numbers: np.ndarray, width: int) -> list[str]:
    digits = (numbers[:, None] // 36 ** np.arange(width - 1, -1, -1)) % 36
    return ["".join(row) for row in _BASE36[digits]]


def _synthetic_samples(n: int, rng: np.random.Generator):
    type_names = np.array(list(TCGA_SAMPLE_COUNTS))
    counts = _allocate(n, np.array(list(TCGA_SAMPLE_COUNTS.values()), dtype=float))
    type_index = np.repeat(np.arange(len(type_names)), counts)
    cancer = type_names[type_index]

    u = rng.random(n)
    code = np.full(n, 1)
    code[(cancer == "SKCM") & (rng.random(n) < _SKCM_METASTATIC)] = 6
    code[cancer == "LAML"] = 3
    code[(u < _NORMAL_FRACTION) & (cancer != "LAML")] = 11

    # Each type has a few tissue source sites; every sample gets its own participant, then
    # normals take over the participant (and site) of a tumour of the same type, as in TCGA.
    site = rng.choice(36**2, size=(len(type_names), 3), replace=False)[
        type_index, rng.integers(0, 3, n)]
    participant = rng.choice(36**4, size=n, replace=False)
    for t in range(len(type_names)):
        normals = np.flatnonzero((type_index == t) & (code == 11))
        tumours = np.flatnonzero((type_index == t) & (code != 11))
        take = min(len(normals), len(tumours))
        partners = rng.choice(tumours, size=take, replace=False)
        site[normals[:take]] = site[partners]
        participant[normals[:take]] = participant[partners]
    barcodes = [f"TCGA-{s}-{p}-{c:02d}"
                for s, p, c in zip(_base36(site, 2), _base36(participant, 4), code, strict=True)]

    order = rng.permutation(n)  # real columns are not grouped by type
    phenotype = pd.DataFrame({
        "sample": np.array(barcodes)[order],
        "cancer_type": cancer[order],
        "sample_type": [SAMPLE_TYPE_CODES[f"{c:02d}"] for c in code[order]],
    })
    return phenotype, type_index[order], (code == 11)[order]


def _synthetic_gene_ids(n: int, rng: np.random.Generator) -> list[str]:
    """HUGO-like symbols (letters then digits), a few numeric ids, one symbol used twice."""
    n_numeric = max(1, round(n * 29 / 20531))
    n_symbols = n - n_numeric - 2
    symbols: dict[str, None] = {}
    while len(symbols) < n_symbols:
        lengths = rng.integers(2, 6, n_symbols)
        letters = rng.integers(0, 26, (n_symbols, 5)) + ord("A")
        numbers = rng.integers(0, 25, n_symbols)
        for length, row, number in zip(lengths, letters, numbers, strict=True):
            name = bytes(row[:length].astype(np.uint8)).decode() + (str(number) if number else "")
            if name not in ("NA", "NAN"):  # text that pandas' defaults would read as missing
                symbols.setdefault(name)
    numeric = 1_000 + rng.choice(110_000_000, size=n_numeric, replace=False)
    ids = (list(symbols)[:n_symbols] + [str(x) for x in numeric]
           + [_DUPLICATED_SYMBOL, _DUPLICATED_SYMBOL])
    return [ids[i] for i in rng.permutation(n)]


def _synthetic_values(type_index: np.ndarray, is_normal: np.ndarray, n_genes: int,
                      rng: np.random.Generator) -> np.ndarray:
    n_types = len(TCGA_SAMPLE_COUNTS)
    n_samples = len(type_index)
    f32 = np.float32
    # Per type: where it sits in program space. Programs are mostly tissue identity, so genes
    # loading on the same program correlate, and related types share programs and markers.
    type_programs = rng.standard_normal((n_types, _N_PROGRAMS))
    scores = (type_programs[type_index]
              + 0.5 * rng.standard_normal((n_samples, _N_PROGRAMS))).astype(f32)
    # Per gene: baseline, noise, type effect, program loadings (program k weighs 0.8**k, so a
    # few axes dominate as in real data: PC1 ~18%), marker levels.
    mean = np.interp(rng.random(n_genes), *_MEAN_QUANTILES).astype(f32)
    noise_sd = rng.lognormal(np.log(0.5), 0.4, n_genes).astype(f32)
    type_sd = rng.lognormal(np.log(0.5), 0.5, n_genes).astype(f32)
    type_effect = rng.standard_normal((n_types, n_genes), dtype=f32) * type_sd
    normal_effect = rng.normal(0, 0.5, n_genes).astype(f32)
    strength = 0.7 * 0.8 ** np.arange(_N_PROGRAMS)[:, None]
    loadings = (strength * rng.standard_normal((_N_PROGRAMS, n_genes))
                * (rng.random((_N_PROGRAMS, n_genes)) < 0.3)).astype(f32)
    is_marker = rng.random(n_genes) < _MARKER_FRACTION
    marker_off = rng.uniform(0.1, 1.1, n_genes).astype(f32)
    marker_on = rng.uniform(8, 15, n_genes).astype(f32)
    # A marker is "on" in a random lead type and its 0-2 nearest types in program space.
    distance = np.linalg.norm(type_programs[:, None] - type_programs[None], axis=2)
    nearness = distance.argsort(axis=1).argsort(axis=1)  # [lead, type]: 0 = the lead itself
    lead = rng.integers(0, n_types, n_genes)
    marker_on_in_type = (nearness[lead] < rng.integers(1, 4, n_genes)[:, None]).T

    values = np.empty((n_genes, n_samples), dtype=f32)
    for start in range(0, n_genes, _GENE_CHUNK):
        g = slice(start, start + _GENE_CHUNK)
        eps = rng.standard_normal((n_samples, len(mean[g])), dtype=f32)
        v = (mean[g] + type_effect[type_index, g] + scores @ loadings[:, g]
             + noise_sd[g] * eps + normal_effect[g] * is_normal[:, None])
        markers = is_marker[g]
        v[:, markers] = np.where(marker_on_in_type[type_index, g][:, markers],
                                 marker_on[g][markers] + eps[:, markers],
                                 marker_off[g][markers] + 0.4 * eps[:, markers])
        # log2(x + 1) of counts cannot go below 0; the EB++ batch adjustment left a few small
        # negatives. Below-zero draws become 0, or (a fifth) a negative mostly in -0.1..-1.
        below = v < 0
        keep_negative = rng.random(int(below.sum())) < _NEGATIVE_SHARE
        magnitude = 0.1 + rng.lognormal(np.log(0.25), 0.9, len(keep_negative))
        v[below] = np.where(keep_negative, -np.minimum(magnitude, 6.0), 0.0)
        values[g] = np.minimum(v, 20.9).T
    cancer = np.array(list(TCGA_SAMPLE_COUNTS))[type_index]
    for group in _NA_GROUPS:
        genes_na = rng.random(n_genes) < _NA_GENE_FRACTION
        values[np.ix_(genes_na, np.isin(cancer, group))] = np.nan
    return values


def write_synthetic(expr_path, phenotype_path, n_samples: int, n_genes: int, seed: int) -> None:
    """make_synthetic, then write the expression (Xena format) and phenotype (TSV) files."""
    expr, phenotype = make_synthetic(n_samples, n_genes, seed)
    write_xena(expr, expr_path)
    with atomic_path(phenotype_path) as tmp:
        compression = "gzip" if str(phenotype_path).endswith(".gz") else None
        phenotype.to_csv(tmp, sep="\t", index=False, compression=compression)


# --------------------------------------------------------------------------------------------
# Preprocessing


@dataclass
class Preprocessed:
    """A preprocessed dataset: what the trainer consumes.

    x: float32 samples x genes, C-contiguous; genes and samples: its column and row ids;
    summary: JSON-able record of every step (see preprocess).
    """

    x: np.ndarray
    genes: list[str]
    samples: list[str]
    summary: dict


def preprocess(expr: pd.DataFrame, top_k: int = 5000, na_policy: str = "drop_genes",
               duplicates: str = "drop", variability: str = "mean_ad", scaling: str = "minmax",
               scale_fit: str = "all", normals: str = "keep",
               source: str = "the input") -> Preprocessed:
    """Genes x samples expression -> samples x top_k genes, scaled per gene.

    `source` names the input (its file) in error messages.

    Steps, in this order:
    0. normals: "keep" (default: the studies and the benchmark kept them) or "drop" the
       normal-tissue samples, those whose TCGA barcode has a sample type 10-19 (-11: solid
       tissue normal).
    1. duplicates: gene ids that occur more than once in the input are resolved. "drop" (default,
       as Tybalt did with SLC35E2) removes every copy; "first" keeps the first row; "mean"
       averages the copies per sample (NA if any copy is NA, so step 2 still sees it).
    2. na_policy: "drop_genes" (default) drops every gene with any NA; "fill_zero" (Tybalt) sets
       NA to 0 before variability is computed; "omit_then_zero" (the benchmark: pandas' MAD and
       scipy's zscore skip NA, then NaN -> 0) keeps NA through steps 3 and 4, which skip it, and
       sets it to 0 after scaling (needs scale_fit "all").
    3. variability per gene over all samples, in float64: "mean_ad" (default) = mean absolute
       deviation around the mean, what pandas' removed DataFrame.mad computed and the studies
       used; "median_ad" = median absolute deviation around the median (unscaled). The top_k genes
       by decreasing variability are kept in that order; ties go to the smaller gene id.
    4. scaling per gene: "minmax" to [0, 1], "zscore" (mean 0, SD 1 with ddof=0), or "none"; a
       constant gene gets scale 1. scale_fit "all" (default, the studies) fits on all samples
       here; "train" leaves x unscaled and the trainer fits on its training rows (fit_scaler,
       apply_scaler) after the split.
    """
    _check_option("na_policy", na_policy, NA_POLICIES)
    _check_option("duplicates", duplicates, DUPLICATE_POLICIES)
    _check_option("variability", variability, VARIABILITY_METHODS)
    _check_option("scaling", scaling, SCALING_METHODS)
    _check_option("scale_fit", scale_fit, SCALE_FITS)
    _check_option("normals", normals, NORMALS)
    if na_policy == "omit_then_zero" and scale_fit != "all":
        raise DataError(f"{source}: na_policy 'omit_then_zero' sets NA to 0 after scaling and "
                        f"needs scale_fit 'all', not {scale_fit!r}")
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise DataError(f"top_k={top_k!r}: must be a positive integer")

    genes = np.array([str(g) for g in expr.index], dtype=object)
    samples = [str(s) for s in expr.columns]
    values = expr.to_numpy(dtype=np.float32)  # no copy when already float32
    summary: dict = {"input_genes": len(genes), "input_samples": len(samples)}
    values, samples = _select_samples(values, samples, normals, summary, source)

    values, genes = _resolve_duplicates(values, genes, duplicates, summary)
    values, genes = _apply_na_policy(values, genes, na_policy, summary)
    if len(genes) < top_k:
        raise DataError(
            f"{source}: top_k={top_k} but only {len(genes)} of {summary['input_genes']} genes "
            "remain "
            f"({summary['duplicate_rows_removed']} rows removed by duplicates={duplicates!r}, "
            f"{summary['genes_dropped_na']} genes with NA dropped by na_policy={na_policy!r})")

    skip_na = na_policy == "omit_then_zero"
    spread = _variability(values, variability, skip_na)
    if not np.isfinite(spread).all():
        bad = int(np.flatnonzero(~np.isfinite(spread))[0])
        raise DataError(f"{source}: gene {genes[bad]!r} has infinite values; "
                        "cannot rank variability")
    # lexsort: last key is primary. Decreasing variability, then gene id.
    order = np.lexsort((genes.astype(str), -spread))[:top_k]
    x = np.ascontiguousarray(values[order].T)
    kept = [str(g) for g in genes[order]]
    summary.update(variability=variability, top_k=top_k,
                   variability_max=float(spread[order[0]]),
                   variability_cutoff=float(spread[order[-1]]))

    if scale_fit == "all":
        x = apply_scaler(x, *fit_scaler(x, scaling, skip_na))
        if skip_na:
            x[np.isnan(x)] = 0.0
    summary.update(
        scaling=scaling, scale_fit=scale_fit, scaled=scale_fit == "all",
        output_samples=x.shape[0], output_genes=x.shape[1],
        value_min=float(x.min()), value_max=float(x.max()), value_mean=float(x.mean()),
        genes_sha256=sha256_bytes("\n".join(kept).encode()))
    return Preprocessed(x=x, genes=kept, samples=samples, summary=summary)


def _select_samples(values: np.ndarray, samples: list[str], normals: str, summary: dict,
                    source: str):
    summary["normals"] = normals
    if normals == "keep":
        return values, samples
    codes = [s[13:15] if s.startswith("TCGA-") and len(s) >= 15 else "" for s in samples]
    if not any(codes):
        raise DataError(f"{source}: normals 'drop' needs TCGA barcodes (TCGA-XX-XXXX-NN, NN the "
                        f"sample type) to tell normal samples; sample ids look like "
                        f"{samples[0]!r}")
    normal = np.array([c.isdigit() and 10 <= int(c) <= 19 for c in codes])
    summary["normal_samples_dropped"] = int(normal.sum())
    return values[:, ~normal], [s for s, n in zip(samples, normal) if not n]


def _resolve_duplicates(values: np.ndarray, genes: np.ndarray, policy: str, summary: dict):
    ids, first, inverse, counts = np.unique(genes.astype(str), return_index=True,
                                            return_inverse=True, return_counts=True)
    duplicated = counts[inverse] > 1
    dup_ids = list(dict.fromkeys(genes[duplicated]))  # in file order
    if not dup_ids:
        keep = np.arange(len(genes))
    elif policy == "drop":
        keep = np.flatnonzero(~duplicated)
    else:  # "first" and "mean" keep the first row of each id, in file order
        keep = np.sort(first)
    summary.update(duplicates=policy, duplicated_ids=[str(g) for g in dup_ids],
                   n_duplicated_ids=len(dup_ids), duplicate_rows_removed=len(genes) - len(keep))
    if len(keep) == len(genes):
        return values, genes
    out = values[keep]
    if policy == "mean":
        position = {gene: i for i, gene in enumerate(genes[keep])}
        for gene in dup_ids:
            rows = np.flatnonzero(genes == gene)
            out[position[gene]] = values[rows].mean(axis=0, dtype=np.float64)
    return out, genes[keep]


def _apply_na_policy(values: np.ndarray, genes: np.ndarray, policy: str, summary: dict):
    na_per_gene = np.isnan(values).sum(axis=1)
    has_na = na_per_gene > 0
    dropped = genes[has_na] if policy == "drop_genes" else genes[:0]
    summary.update(na_policy=policy, na_cells=int(na_per_gene.sum()),
                   genes_with_na=int(has_na.sum()), genes_dropped_na=len(dropped),
                   genes_dropped_na_ids=[str(g) for g in dropped],
                   genes_after_filtering=len(genes) - len(dropped))
    if not has_na.any() or policy == "omit_then_zero":  # NA stays until after scaling
        return values, genes
    if policy == "drop_genes":
        return values[~has_na], genes[~has_na]
    return np.where(np.isnan(values), np.float32(0), values), genes


def _variability(values: np.ndarray, method: str, skip_na: bool = False) -> np.ndarray:
    """Per-gene (row) spread in float64, a chunk of genes at a time to bound memory; skip_na:
    over the values that are not NaN (pandas' skipna, what the benchmark's code did)."""
    mean, median = (np.nanmean, np.nanmedian) if skip_na else (np.mean, np.median)
    spread = np.empty(len(values))
    for start in range(0, len(values), _GENE_CHUNK):
        chunk = values[start:start + _GENE_CHUNK].astype(np.float64)
        if method == "mean_ad":
            center = mean(chunk, axis=1, keepdims=True)
            spread[start:start + _GENE_CHUNK] = mean(np.abs(chunk - center), axis=1)
        else:
            center = median(chunk, axis=1, keepdims=True)
            spread[start:start + _GENE_CHUNK] = median(np.abs(chunk - center), axis=1)
    return spread


def fit_scaler(x: np.ndarray, method: str, skip_na: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per-gene (column) offset and scale, float64, so that (x - offset) / scale is scaled.

    minmax: offset min, scale max - min; zscore: offset mean, scale SD (ddof=0); none: 0 and 1.
    A constant gene gets scale 1 (it maps to 0 instead of NaN). skip_na: fit on the values that
    are not NaN (na_policy omit_then_zero).
    """
    _check_option("scaling", method, SCALING_METHODS)
    n_genes = x.shape[1]
    if method == "none":
        return np.zeros(n_genes), np.ones(n_genes)
    if skip_na:
        low, high = np.nanmin(x, axis=0).astype(np.float64), np.nanmax(x, axis=0).astype(np.float64)
        mean, std = np.nanmean(x, axis=0, dtype=np.float64), np.nanstd(x, axis=0, dtype=np.float64)
        offset, scale = (low, high - low) if method == "minmax" else (mean, std)
        scale[high == low] = 1.0
        return offset, scale
    low, high = x.min(axis=0).astype(np.float64), x.max(axis=0).astype(np.float64)
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        bad = int(np.flatnonzero(~(np.isfinite(low) & np.isfinite(high)))[0])
        raise DataError(f"cannot fit {method} scaling: column {bad} has NaN or infinite values")
    if method == "minmax":
        offset, scale = low, high - low
    else:
        offset, scale = x.mean(axis=0, dtype=np.float64), x.std(axis=0, dtype=np.float64)
    scale[high == low] = 1.0
    return offset, scale


def apply_scaler(x: np.ndarray, offset: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(x - offset) / scale per column, computed in float64, returned as C-contiguous float32."""
    if offset.shape != (x.shape[1],) or scale.shape != (x.shape[1],):
        raise DataError(f"scaler has {offset.shape[0]} genes, data has {x.shape[1]}")
    out = np.empty(x.shape, dtype=np.float32)
    for start in range(0, len(x), _ROW_CHUNK):
        out[start:start + _ROW_CHUNK] = (x[start:start + _ROW_CHUNK] - offset) / scale
    return out


def save_preprocessed(prep: Preprocessed, matrix_path, genes_path, samples_path,
                      summary_path) -> None:
    """Matrix as .npy (float32), ids one per line, summary as indented JSON; each file atomic."""
    _check_ids(prep.genes, "gene")
    _check_ids(prep.samples, "sample")
    with atomic_path(matrix_path) as tmp, open(tmp, "wb") as f:
        np.save(f, np.ascontiguousarray(prep.x, dtype=np.float32))
    for ids, path in ((prep.genes, genes_path), (prep.samples, samples_path)):
        with atomic_path(path) as tmp:
            tmp.write_text("".join(f"{i}\n" for i in ids))
    with atomic_path(summary_path) as tmp:
        tmp.write_text(json.dumps(prep.summary, indent=2) + "\n")


def load_preprocessed(matrix_path, genes_path=None, samples_path=None,
                      summary_path=None) -> Preprocessed:
    """Read what save_preprocessed wrote. A path left None gives an empty list / dict."""
    matrix_path = Path(matrix_path)
    for path in (matrix_path, genes_path, samples_path, summary_path):
        if path is not None and not Path(path).is_file():
            raise DataError(f"preprocessed file not found: {path} (run `vaebench preprocess` "
                            "or the workflow's preprocess rule to make it)")
    x = np.load(matrix_path)
    if x.ndim != 2 or x.dtype != np.float32:
        raise DataError(f"{matrix_path}: expected a 2-D float32 matrix, found {x.ndim}-D {x.dtype}")
    genes = _read_ids(genes_path, x.shape[1], "genes (columns)")
    samples = _read_ids(samples_path, x.shape[0], "samples (rows)")
    summary = json.loads(Path(summary_path).read_text()) if summary_path is not None else {}
    return Preprocessed(x=np.ascontiguousarray(x), genes=genes, samples=samples, summary=summary)


def _read_ids(path, expected: int, what: str) -> list[str]:
    if path is None:
        return []
    ids = Path(path).read_text().splitlines()
    if len(ids) != expected:
        raise DataError(f"{path}: {len(ids)} ids, but the matrix has {expected} {what}")
    return ids


# --------------------------------------------------------------------------------------------
# Train / validation split


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random train/validation split of range(n), determined by (n, val_fraction, seed).

    n_val = round(n * val_fraction), at least 1 and at most n - 1. Returns sorted int64 index
    arrays (train, val).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise DataError(f"cannot split {n!r} samples: need at least 2")
    if not isinstance(val_fraction, (int, float, np.number)) or not 0 < val_fraction < 1:
        raise DataError(f"val_fraction={val_fraction!r}: must be strictly between 0 and 1")
    order = np.random.Generator(np.random.PCG64(seed)).permutation(n)
    n_val = min(max(round(n * val_fraction), 1), n - 1)
    return np.sort(order[n_val:]).astype(np.int64), np.sort(order[:n_val]).astype(np.int64)


# --------------------------------------------------------------------------------------------
# Small shared I/O


def write_atomic(path, content: str | bytes) -> None:
    """Write a file via a temporary name, so a crash never leaves a plausible file."""
    with atomic_path(path) as tmp:
        if isinstance(content, str):
            tmp.write_text(content)
        else:
            tmp.write_bytes(content)


def sha256_bytes(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def download(url: str, path, sha256: str | None, log=None) -> str:
    """Fetch `url` to `path`, checking its sha256 when given; returns the checksum.

    The file appears under `path` only when complete and verified. A mismatch names both sums
    and keeps nothing (a stale mirror or a truncated transfer must not be preprocessed).
    """
    import urllib.request

    digest = hashlib.sha256()
    with atomic_path(path) as tmp, urllib.request.urlopen(url, timeout=60) as response:
        with open(tmp, "wb") as out:
            while chunk := response.read(2**20):
                digest.update(chunk)
                out.write(chunk)
        got = digest.hexdigest()
        if sha256 and got != sha256:
            raise DataError(f"download {url}: sha256 {got} does not match the configured "
                            f"{sha256} (datasets.*.xena.sha256); nothing was kept")
    if log:
        print(f"downloaded {url} -> {path} (sha256 {got})", file=log)
    return got
