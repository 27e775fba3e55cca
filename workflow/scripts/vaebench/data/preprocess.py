"""Preprocessing: NA policy, variability, top-k genes, scaling; the preprocessed files; the
train / validation split.

Defaults follow what the studies' code did (meltager/vae_benchmark TCGA.py; greenelab/tybalt
scripts/nbconverted/process_data.py; docs/decisions.md): "MAD" is pandas' old mean absolute
deviation, scaling is fit on all samples before the split, and every copy of a duplicated gene
id is dropped. Each of these is an option, recorded in the summary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the trainer loads preprocessed files without pandas (see data/__init__)
    import pandas as pd

from .files import DataError, _check_ids, _check_option, atomic_path, sha256_bytes

TRANSFORMS = ("none", "log2p1")
NA_POLICIES = ("drop_genes", "fill_zero", "omit_then_zero")
NORMALS = ("keep", "drop")
DUPLICATE_POLICIES = ("drop", "first", "mean")
VARIABILITY_METHODS = ("mean_ad", "median_ad")
SCALING_METHODS = ("minmax", "zscore", "none")
SCALE_FITS = ("all", "train")

# Genes per step when computing variability, so float64 temporaries stay small.
_GENE_CHUNK = 512
# Samples per step when scaling.
_ROW_CHUNK = 1024


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
               scale_fit: str = "all", normals: str = "keep", transform: str = "none",
               source: str = "the input") -> Preprocessed:
    """Genes x samples expression -> samples x top_k genes, scaled per gene.

    `source` names the input (its file) in error messages.

    Steps, in this order:
    -1. transform (a property of the input, set per dataset): "none" (default) uses the values
       as they are, e.g. Xena's log2(x + 1); "log2p1" takes log2(x + 1) of counts or TPM,
       which must not be negative.
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
    _check_option("transform", transform, TRANSFORMS)
    if na_policy == "omit_then_zero" and scale_fit != "all":
        raise DataError(f"{source}: na_policy 'omit_then_zero' sets NA to 0 after scaling and "
                        f"needs scale_fit 'all', not {scale_fit!r}")
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise DataError(f"top_k={top_k!r}: must be a positive integer")

    genes = np.array([str(g) for g in expr.index], dtype=object)
    samples = [str(s) for s in expr.columns]
    values = expr.to_numpy(dtype=np.float32)  # no copy when already float32
    summary: dict = {"input_genes": len(genes), "input_samples": len(samples),
                     "transform": transform}
    if transform == "log2p1":
        values = _log2p1(values, genes, samples, source, summary)
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


# Largest value of a matrix already on a log2 scale: log2 of any count or TPM is below this,
# while the counts or TPM themselves reach thousands.
LOG_SCALE_MAX = 50.0


def _log2p1(values: np.ndarray, genes: np.ndarray, samples: list[str], source: str,
            summary: dict):
    """log2(x + 1). Negative values stop it (not counts); values that look logged already
    (fractions, all below LOG_SCALE_MAX) are taken anyway, with a warning in `summary`."""
    finite = values[np.isfinite(values)]
    if finite.size and finite.max() < LOG_SCALE_MAX and (finite != np.round(finite)).any():
        summary.setdefault("warnings", []).append(
            f"{source}: transform log2p1 on values that look logged already (not integers, "
            f"largest {finite.max():.4g}; counts and TPM reach thousands): the log is taken "
            "twice. If they are log2(x + 1) already, set the dataset's transform: none")
    negative = values < 0
    if negative.any():
        gene, sample = np.argwhere(negative)[0]
        raise DataError(f"{source}: transform log2p1 expects counts (>= 0), but gene "
                        f"{genes[gene]!r} of sample {samples[sample]!r} is "
                        f"{values[gene, sample]:.4g}; already on a log scale? set transform: "
                        "none")
    return np.log2(values + np.float32(1))


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
    """Read what save_preprocessed wrote. A path left None gives an empty list / dict. The
    matrix is a read-only memory map of the file."""
    matrix_path = Path(matrix_path)
    for path in (matrix_path, genes_path, samples_path, summary_path):
        if path is not None and not Path(path).is_file():
            raise DataError(f"preprocessed file not found: {path} (run `vaebench preprocess` "
                            "or the workflow's preprocess rule to make it)")
    # Memory-mapped, read-only: the trainer copies out its split anyway, so the whole matrix is
    # never read into the job's own memory, and runs sharing a machine share its pages.
    x = np.load(matrix_path, mmap_mode="r")
    if x.ndim != 2 or x.dtype != np.float32:
        raise DataError(f"{matrix_path}: expected a 2-D float32 matrix, found {x.ndim}-D {x.dtype}")
    genes = _read_ids(genes_path, x.shape[1], "genes (columns)")
    samples = _read_ids(samples_path, x.shape[0], "samples (rows)")
    summary = json.loads(Path(summary_path).read_text()) if summary_path is not None else {}
    return Preprocessed(x=x, genes=genes, samples=samples, summary=summary)


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
