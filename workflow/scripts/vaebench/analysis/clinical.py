"""Does a latent space carry clinical information? Overall survival from the encoder means (a
penalised Cox model, cross-validated concordance), and per latent dimension the association with
each clinical variable of the phenotype table (age: Spearman; sex: AUC). No torch.

Every function takes a representation x [samples x dims] (a run's encoder means, or a baseline's
components) and the phenotype table in x's row order (`sample_phenotype`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from ..data import load_phenotype
from .stats import ALPHA, holm

SURVIVAL_FOLDS = 5
COX_PENALTY = 0.01  # elastic-net weight (glmnet's alpha) on the standardised coefficients
COX_L1_RATIO = 0.001  # almost pure ridge: every dimension keeps a say
# The normalised phenotype table's own columns; every other column is a clinical variable.
PHENOTYPE_COLUMNS = ("sample", "label", "sample_type", "survival_time", "survival_event")
CLINICAL_FIELDS = ("variable", "measure", "value", "best_dim", "n_significant", "n_dims",
                   "n_samples", "note")


def sample_phenotype(samples_txt, phenotype_path) -> pd.DataFrame:
    """The normalised phenotype table in the order of samples.txt (empty cells where a sample
    has no annotation)."""
    samples = pd.read_csv(samples_txt, header=None, dtype=str).iloc[:, 0]
    table = load_phenotype(phenotype_path).set_index("sample")
    return table.reindex(samples).fillna("").reset_index(drop=True)


def survival_concordance(x, phenotype: pd.DataFrame, folds: int = SURVIVAL_FOLDS,
                         seed: int = 0) -> list[dict]:
    """Overall survival predicted from x: a Cox model with an elastic-net penalty, almost pure
    ridge (scikit-survival's Coxnet; features standardised on the training folds), fit in
    `folds`-fold cross-validation (stratified by event), each fold's risks scored by Harrell's
    concordance index, the pairs of all folds added up:
    - c_index: over all comparable pairs of samples (pan-cancer; cancer type alone predicts
      survival strongly, so much of this can be type);
    - c_index_within_type: over pairs of the same cancer type only (what x knows beyond type).
    0.5 = no better than chance. Samples without a time or an event are left out; no rows when
    the table has no survival columns."""
    from sklearn.model_selection import KFold, StratifiedKFold
    from sksurv.linear_model import CoxnetSurvivalAnalysis
    from sksurv.util import Surv

    if "survival_time" not in phenotype or "survival_event" not in phenotype:
        return []
    time = pd.to_numeric(phenotype["survival_time"], errors="coerce").to_numpy()
    event = pd.to_numeric(phenotype["survival_event"], errors="coerce").to_numpy()
    keep = np.isfinite(time) & np.isfinite(event) & (time > 0)
    x, time, event = np.asarray(x, dtype=float)[keep], time[keep], event[keep].astype(bool)
    types = phenotype["label"].to_numpy()[keep]
    rows = [{"variable": "overall survival", "measure": m, "value": np.nan,
             "n_dims": x.shape[1], "n_samples": int(keep.sum())}
            for m in ("c_index", "c_index_within_type")]
    if not np.isfinite(x).all() or event.sum() < folds:
        return rows
    counts = np.zeros((2, 2))  # [pan-cancer, within type] x [ordered right, comparable]
    # stratified by event where both kinds can be spread over the folds
    split = (StratifiedKFold if (~event).sum() >= folds else KFold)(
        n_splits=folds, shuffle=True, random_state=seed)
    for train, test in split.split(x, event):
        mean, sd = x[train].mean(axis=0), x[train].std(axis=0)
        sd[sd == 0] = 1.0
        # coordinate descent in C++: 60x faster than CoxPHSurvivalAnalysis's Newton at TCGA size
        model = CoxnetSurvivalAnalysis(l1_ratio=COX_L1_RATIO, alphas=[COX_PENALTY])
        with warnings.catch_warnings():  # a poor fit is a low concordance, not a failure
            warnings.simplefilter("ignore")
            try:
                model.fit((x[train] - mean) / sd, Surv.from_arrays(event[train], time[train]))
            except (ValueError, np.linalg.LinAlgError):
                return rows
        risk = model.predict((x[test] - mean) / sd)
        counts[0] += concordance_counts(time[test], event[test], risk)
        counts[1] += concordance_counts(time[test], event[test], risk, types[test])
    for row, (right, comparable) in zip(rows, counts):
        row["value"] = right / comparable if comparable else np.nan
    return rows


def concordance_counts(time, event, risk, strata=None) -> np.ndarray:
    """Harrell's concordance of `risk` (higher = earlier death) as [ordered right, comparable]:
    comparable pairs are those where the one with the shorter time died, a tie in risk counts a
    half; with `strata`, only pairs within one stratum. Counts, so that the pairs of several
    cross-validation folds add up (each fold's risks come from its own model)."""
    from sksurv.exceptions import NoComparablePairException
    from sksurv.metrics import concordance_index_censored

    groups = [np.ones(len(time), dtype=bool)] if strata is None else \
        [strata == s for s in np.unique(strata)]
    counts = np.zeros(2)
    for group in groups:
        if group.sum() < 2 or not event[group].any():
            continue
        try:
            _, concordant, discordant, tied_risk, _ = concordance_index_censored(
                event[group], time[group], risk[group])
        except NoComparablePairException:  # e.g. the one death is the longest time
            continue
        counts += (concordant + 0.5 * tied_risk, concordant + discordant + tied_risk)
    return counts


def clinical_associations(x, phenotype: pd.DataFrame) -> list[dict]:
    """Per clinical variable (every column of the phenotype table beyond its own), the
    association of each dimension of x with it, over the samples that have a value:
    - a numeric variable with more than two values (age): Spearman's rho, value = the largest
      |rho|;
    - a variable with two values (sex): the AUC of the dimension as a score for the second
      value (what a one-variable logistic model ranks), value = max(AUC, 1 - AUC);
    best_dim: the dimension with that value; n_significant: dimensions whose two-sided p
    (Spearman; Mann-Whitney for the AUC) passes Holm's correction over the dimensions at
    ALPHA. A variable that is neither is a row with measure "not scored" and the reason in
    `note` (one value, text in a numeric column, more than two categories)."""
    x = np.asarray(x, dtype=float)
    rows = []
    for column in [c for c in phenotype.columns if c not in PHENOTYPE_COLUMNS]:
        cells = phenotype[column].astype(str).str.strip()
        present = (cells != "").to_numpy() & np.isfinite(x).all(axis=1)
        numbers = pd.to_numeric(cells, errors="coerce").to_numpy()
        levels = sorted(set(cells[present]))
        why = _not_scored(cells[present], numbers[present], levels)
        if why:
            rows.append({"variable": column, "measure": "not scored", "value": np.nan,
                         "n_dims": x.shape[1], "n_samples": int(present.sum()), "note": why})
            continue
        if np.isfinite(numbers[present]).all() and len(levels) > 2:
            measure = "spearman_rho"
            results = [stats.spearmanr(x[present, d], numbers[present]) for d in range(x.shape[1])]
            values = np.abs([r.statistic for r in results])
            pvalues = np.array([r.pvalue for r in results])
        else:  # two values (_not_scored)
            measure = "auc"
            second = (cells[present] == levels[1]).to_numpy()
            values, pvalues = [], []
            for d in range(x.shape[1]):
                test = stats.mannwhitneyu(x[present, d][second], x[present, d][~second])
                auc = test.statistic / (second.sum() * (~second).sum())
                values.append(max(auc, 1 - auc))
                pvalues.append(test.pvalue)
            values, pvalues = np.array(values), np.array(pvalues)
        ok = np.isfinite(values)
        best = int(np.nanargmax(values)) if ok.any() else None
        rows.append({"variable": column, "measure": measure,
                     "value": float(values[best]) if best is not None else np.nan,
                     "best_dim": best,
                     "n_significant": int((holm(np.where(ok, pvalues, 1.0)) < ALPHA).sum()),
                     "n_dims": x.shape[1], "n_samples": int(present.sum())})
    return rows


def _not_scored(cells: pd.Series, numbers: np.ndarray, levels: list[str]) -> str:
    """Why a clinical variable cannot be scored ("" if it can): it needs numbers with more
    than two values, or exactly two values. Missing values are already left out."""
    if not levels:
        return "no value in any sample"
    if len(levels) == 1:
        return f"one value, {levels[0]!r}, in all {len(cells)} samples with one"
    if len(levels) == 2:
        return ""
    text = cells[~np.isfinite(numbers)]
    if not len(text):  # numbers with more than two values: Spearman
        return ""
    if len(text) < len(cells) / 2:
        return (f"text in a numeric column: {len(text)} of {len(cells)} values are not numbers, "
                f"e.g. {text.iloc[0]!r} (a missing value? write it as empty or NA)")
    return (f"{len(levels)} categories, e.g. {', '.join(map(repr, levels[:3]))}: scored are "
            "numbers (Spearman) or two values (AUC)")


def clinical_scores(x, phenotype: pd.DataFrame, seed: int = 0) -> list[dict]:
    """survival_concordance and clinical_associations of one representation, as rows with
    CLINICAL_FIELDS."""
    return [{field: row.get(field, np.nan) for field in CLINICAL_FIELDS}
            for row in (*survival_concordance(x, phenotype, seed=seed),
                        *clinical_associations(x, phenotype))]


CLINICAL_CAPTION = (
    "Per run and per baseline (source: run, or pca with as many components as the run's "
    "latent width, or cancer type alone as one-hot columns), what the representation tells of "
    "the clinical variables. Overall survival: a Cox model with an elastic-net penalty, almost "
    f"pure ridge (alpha {COX_PENALTY}, l1_ratio {COX_L1_RATIO}, on standardised coefficients) "
    f"fit in {SURVIVAL_FOLDS}-fold cross-validation "
    "stratified by event, Harrell's concordance index of each held-out fold's risks (the pairs "
    "of all folds added up): c_index over all "
    "comparable pairs (pan-cancer: cancer type alone predicts survival strongly; compare with "
    "the 'cancer type' row), c_index_within_type over pairs of the same type only (what the "
    "representation knows beyond type; type alone scores 0.5 there by construction). 0.5 = "
    "chance. Clinical variables, per latent dimension: Spearman's rho for a numeric one (age; "
    "value = the largest |rho|), the AUC of the dimension for a two-valued one (sex; value = "
    "max(AUC, 1 - AUC)); best_dim the dimension with that value; n_significant the dimensions "
    f"whose p passes Holm's correction over the dimensions at {ALPHA} (Spearman's test; "
    "Mann-Whitney U for the AUC). Samples without a value are left out (n_samples); a "
    "variable that cannot be scored (one value, text in a numeric column, more than two "
    "categories) is a row 'not scored' with the reason in note.")
