"""Synthetic stand-in for the TCGA file (UCSC Xena, EB++AdjustPANCAN_IlluminaHiSeq_RNASeqV2):
expression and phenotype that look like the real files."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .files import DataError
from .formats import SAMPLE_TYPE_CODES
from .h5ad import write_h5ad
from .table import write_table, write_text_table
from .xena import write_xena

# Samples per TCGA cancer type (tumour + normal; BioBombe's tcga_sample_counts.tsv, 11,060 in all).
# The synthetic generator draws types in these proportions.
TCGA_SAMPLE_COUNTS = {
    "BRCA": 1218, "KIRC": 606, "LUAD": 576, "THCA": 572, "UCEC": 567, "HNSC": 566, "LUSC": 553,
    "PRAD": 550, "LGG": 530, "COAD": 495, "SKCM": 474, "STAD": 450, "BLCA": 427, "LIHC": 423,
    "KIRP": 323, "CESC": 310, "OV": 308, "SARC": 265, "ESCA": 196, "PCPG": 187, "PAAD": 183,
    "LAML": 173, "GBM": 172, "READ": 171, "TGCT": 156, "THYM": 122, "KICH": 91, "MESO": 87,
    "UVM": 80, "ACC": 79, "UCS": 57, "DLBC": 48, "CHOL": 45,
}

# Genes generated per step, so the float32 temporaries stay small.
_GENE_CHUNK = 512
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

    Returns (expression genes x samples, float32 log2 values with NaN blocks; phenotype in the
    expression's column order with the TCGA-CDR table's columns: sample, cancer type
    abbreviation, sample_type, age_at_initial_pathologic_diagnosis, gender, OS, OS.time; see
    _synthetic_clinical). The same (n_samples, n_genes, seed) always gives the same data.

    What makes it look real (statistics of the Xena matrix as cognoma/cancer-data processed it,
    data/expression-genes.tsv; type counts from greenelab/BioBombe): the 33 TCGA types in their
    real proportions (each type at least once when n_samples >= 33); barcodes TCGA-XX-XXXX-NN
    with ~7% normals (-11) that share a patient with a tumour, LAML -03, most SKCM -06; per-gene
    means with the real quantiles; type effects and 20 low-rank programs for gene-gene
    correlation; ~8% marker genes; values below zero become exact zeros (~1.5%) or small
    negatives (~0.4%); ~29 per 20,531 ids are numeric (Entrez-style); exactly one symbol occurs
    twice; ~12% of genes are NA for every sample of UCEC/COAD/READ and another ~12% for
    LAML/STAD/ESCA.
    """
    for name, value, minimum in (("n_samples", n_samples, 2), ("n_genes", n_genes, 4)):
        if not isinstance(value, (int, np.integer)) or value < minimum:
            raise DataError(f"{name}={value!r}: must be an integer >= {minimum}")
    rng = np.random.Generator(np.random.PCG64(seed))
    phenotype, type_index, is_normal = _synthetic_samples(n_samples, rng)
    genes = _synthetic_gene_ids(n_genes, rng)
    values, scores = _synthetic_values(type_index, is_normal, n_genes, rng)
    expr = pd.DataFrame(values, copy=False, index=pd.Index(genes, dtype=str, name="gene"),
                        columns=pd.Index(phenotype["sample"], dtype=str, name="sample"))
    clinical = _synthetic_clinical(phenotype["sample"], scores, seed)
    return expr, pd.concat([phenotype, clinical], axis=1)


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
        "cancer type abbreviation": cancer[order],
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
            # not text that pandas' defaults read as missing, nor an annotation column's name
            # (the TCGA-CDR `OS`), which a samples-as-rows table holds beside the genes
            if name not in ("NA", "NAN", "OS"):
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
    return values, scores


# Known answers for downstream scores: the hazard of death rises with gene program 0, age with
# program 1; sex follows no program. Programs are mostly tissue identity (plus a per-sample
# part), so survival differs between types and, less, within them, as in TCGA.
_SURVIVAL_PROGRAM, _AGE_PROGRAM = 0, 1
_LOG_HAZARD_PER_SD = 0.7
_BASE_HAZARD_PER_DAY = 1 / 1800
_FOLLOW_UP_DAYS = (30, 3650)


def _synthetic_clinical(samples: pd.Series, scores: np.ndarray, seed: int) -> pd.DataFrame:
    """TCGA-CDR columns per sample: age_at_initial_pathologic_diagnosis, gender, OS (1 =
    died), OS.time (days). A tumour and its normal share the patient's values."""
    rng = np.random.Generator(np.random.PCG64([seed, 1]))  # own stream: expression unchanged
    n = len(samples)
    z = (scores - scores.mean(axis=0)) / scores.std(axis=0)
    death = rng.exponential(1 / (_BASE_HAZARD_PER_DAY
                                 * np.exp(_LOG_HAZARD_PER_SD * z[:, _SURVIVAL_PROGRAM])))
    censor = rng.uniform(*_FOLLOW_UP_DAYS, n)
    clinical = pd.DataFrame({
        "age_at_initial_pathologic_diagnosis": np.clip(
            np.round(60 + 7 * z[:, _AGE_PROGRAM] + rng.normal(0, 6, n)), 18, 90).astype(int),
        "gender": rng.choice(["FEMALE", "MALE"], n),
        "OS": (death <= censor).astype(int),
        "OS.time": np.round(np.minimum(death, censor)).astype(int),
    })
    return clinical.groupby(samples.str.slice(0, 12).to_numpy()).transform("first")


def write_synthetic(expr_path, phenotype_path, n_samples: int, n_genes: int, seed: int,
                    format: str = "xena", samples_as: str = "rows", sparse: bool = False,
                    counts: bool = False) -> None:
    """make_synthetic, then write it in one of the input formats, as a user's files would be.

    xena: the expression as a Xena matrix and the phenotype as a TSV at `phenotype_path`.
    h5ad: one AnnData file, the phenotype in obs (`sparse`: X as CSR); `phenotype_path` unused.
    table: a CSV or TSV (by its name, gzip if .gz) with `samples_as` rows or columns; the
    phenotype in its own table at `phenotype_path`, or None: as leading columns (rows only).
    counts: write 2^x - 1 rounded (raw counts, for `transform: log2p1`) instead of log2 values.
    """
    expr, phenotype = make_synthetic(n_samples, n_genes, seed)
    if counts:
        expr = np.round(np.exp2(expr.clip(lower=0)) - 1)
    if format == "h5ad":
        write_h5ad(expr, phenotype, expr_path, sparse=sparse)
        return
    if format == "xena":
        write_xena(expr, expr_path)
    elif format == "table":
        write_table(expr, expr_path, samples_as, None if phenotype_path else phenotype)
    else:
        raise DataError(f"unknown format {format!r}; allowed: xena, h5ad, table")
    if phenotype_path:
        write_text_table(phenotype, phenotype_path)
