"""A study's latent-space tables, gathered from its runs: the scores of every run beside its
baselines' (latent.csv), the comparisons (latent_pairwise.csv: between conditions, and each
model against its baselines), stability over seeds, survival and clinical variables, whether
the loss predicts the scores, and the HTML page with the captions that say what each assumes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..config import KL_FLOOR
from ..data import write_atomic
from .clinical import CLINICAL_CAPTION, CLINICAL_FIELDS, clinical_scores, sample_phenotype
from .latent import (
    ACTIVE_VARIANCE,
    BASELINE_SCORES,
    BASELINES,
    CV_FOLDS,
    GRAPH_NEIGHBOURS,
    KNN_NEIGHBOURS,
    LATENT_FIELDS,
    LATENT_FILE,
    LEIDEN_SEED,
    NEIGHBOURS_FILE,
    baseline_scores,
    linear_cka,
    neighbour_overlap,
    pca_projections,
    sample_labels,
)
from .render import render_html
from .stats import (
    ALPHA,
    LATENT_OUTCOMES,
    by_objective,
    compare,
    holm,
    pairwise,
    studied_axes,
)
from .tables import collapse_advice, collapse_counts, load_latent

# How each run used its latent space, from its run.json (train.latent_usage), beside its scores
KL_COLUMNS = ("kl_pressure", "kl_per_sample", "kl_per_dim", "collapsed")

STABILITY_FIELDS = ("n_runs", "n_pairs", "cka_mean", "cka_sd", "cka_min", "overlap_mean",
                    "overlap_sd", "overlap_min")


def stability(runs: list[tuple[dict, object]], axes: list[str], load) -> pd.DataFrame:
    """How alike the latent spaces of runs that differ only in seed are: per condition (the
    other axes), linear CKA and the 15-NN overlap of every pair of its runs, mean, s.d. and
    minimum. `runs`: (axis values as a dict, key) of each run; `load(key)` -> (its mu, its
    neighbour_sets), called only for conditions with more than one run. Runs with a non-finite
    mu (diverged) are left out; a condition with one run has no pair and is left out."""
    keys = [a for a in axes if a != "seed"]
    groups: dict[tuple, list] = {}
    for values, key in runs:
        groups.setdefault(tuple(values[a] for a in keys), []).append(key)
    rows = []
    for condition, members in groups.items():
        loaded = [load(key) for key in members] if len(members) > 1 else []
        loaded = [(mu, graph) for mu, graph in loaded if np.isfinite(mu).all()]
        if len(loaded) < 2:
            continue
        pairs = [(i, j) for i in range(len(loaded)) for j in range(i + 1, len(loaded))]
        cka = np.array([linear_cka(loaded[i][0], loaded[j][0]) for i, j in pairs])
        overlap = np.array([neighbour_overlap(loaded[i][1], loaded[j][1]) for i, j in pairs])
        rows.append({**dict(zip(keys, condition)), "n_runs": len(loaded),
                     "n_pairs": len(pairs), "cka_mean": cka.mean(),
                     "cka_sd": cka.std(ddof=1) if len(pairs) > 1 else np.nan,
                     "cka_min": cka.min(), "overlap_mean": overlap.mean(),
                     "overlap_sd": overlap.std(ddof=1) if len(pairs) > 1 else np.nan,
                     "overlap_min": overlap.min()})
    return pd.DataFrame(rows, columns=[*keys, *STABILITY_FIELDS])


def study_baselines(matrix_path, samples_txt, phenotype_path, latent_paths: list,
                    baselines_out, clinical_out, source=None) -> None:
    """The latent_baselines rule, once per study: latent_baselines.csv (baseline_scores of
    the preprocessed matrix: the genes, and its PCA at every latent width of the study's saved
    runs, read from their latent.npy headers) and latent_baselines_clinical.csv (clinical_scores
    of each PCA, source "pca", and of cancer type alone as one-hot columns, source
    "cancer type"). Each PCA is fit once and shared by both."""
    labels = sample_labels(samples_txt, phenotype_path, source)
    widths = [np.load(path, mmap_mode="r").shape[1] for path in latent_paths]
    matrix = np.load(matrix_path, mmap_mode="r")
    pca = pca_projections(matrix, widths)
    phenotype = sample_phenotype(samples_txt, phenotype_path)
    rows = [{"source": "pca", **row, "n_dims": k}
            for k, projection in pca.items() for row in clinical_scores(projection, phenotype)]
    one_hot = pd.get_dummies(phenotype["label"]).to_numpy(dtype=float)
    rows += [{"source": "cancer type", **row} for row in clinical_scores(one_hot, phenotype)]
    write_atomic(baselines_out, baseline_scores(matrix, labels, widths, pca=pca).to_csv(
        index=False))
    write_atomic(clinical_out, pd.DataFrame(rows, columns=["source", *CLINICAL_FIELDS]).to_csv(
        index=False))


LOSS_QUALITY_FIELDS = ("n_runs", "n_scored", "spearman_rho", "p", "ari_median",
                       "ari_pca_median")


def versus_baselines(table: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Each model's runs against their own baselines, on each of BASELINE_SCORES: the run's
    score paired with its PCA's (same width), the genes' and its untrained encoder's (the same
    init and seed, before training), Wilcoxon signed-rank over the
    finished runs (seeds, and the grid's other points), rows as `pairwise` gives them (axis
    "baseline", level_a the baseline, level_b "runs"; effect > 0: the runs score higher), Holm
    within one model and score."""
    models = table["model"] if "model" in table else pd.Series("(all)", index=table.index)
    rows = []
    for model, part in table[table["status"] == "ok"].groupby(models, sort=False):
        for score in BASELINE_SCORES:
            family = []
            for baseline, name in BASELINES.items():
                both = part[[score, f"{score}_{baseline}"]].dropna()
                family.append({"model": model, "axis": "baseline", "outcome": score,
                               "level_a": name, "level_b": "runs", "paired": True,
                               **compare(both[f"{score}_{baseline}"], both[score], paired=True,
                                         seed=seed)})
            for row, p in zip(family, holm([r["p"] for r in family])):
                row["p_holm"], row["significant"] = p, bool(p < ALPHA)
            rows += family
    return pd.DataFrame(rows)


def loss_vs_quality(table: pd.DataFrame) -> pd.DataFrame:
    """Does a lower final validation loss mean a better latent space? Per model (objective:
    stats.by_objective), Spearman's rho
    between final_val_loss and ARI over the runs of the grid that finished with both (a
    negative rho: lower loss, higher ARI), beside the median ARI of the runs and of their PCA
    baselines. `table`: latent.csv's rows with the runs' final_val_loss."""
    models = table["model"] if "model" in table else pd.Series("", index=table.index)
    rows = []
    for model, part in table.groupby(models, sort=False):
        ok = part[(part["status"] == "ok") & part["ari"].notna()
                  & np.isfinite(part["final_val_loss"].astype(float))]
        rho, p = (stats.spearmanr(ok["final_val_loss"], ok["ari"]) if len(ok) >= 3
                  and ok["ari"].nunique() > 1 else (np.nan, np.nan))
        rows.append({"model": model, "n_runs": len(part), "n_scored": len(ok),
                     "spearman_rho": rho, "p": p, "ari_median": ok["ari"].median(),
                     "ari_pca_median": part["ari_pca"].median()})
    return pd.DataFrame(rows, columns=["model", *LOSS_QUALITY_FIELDS])


def latent_scores(runs_csv, score_paths: list, samples_txt, baselines_csv,
                  baselines_clinical_csv, axes: list[str], study: str, table_out, pairwise_out,
                  stability_out, clinical_out, loss_out, html_out, source) -> None:
    """The latent_scores rule, once per study, gathering what the score_latent jobs wrote
    (scores.json, neighbours.npy beside each run's latent.npy) and the latent_baselines job:
    latent.csv (scores per run, each beside its baselines'), latent_pairwise.csv (conditions
    compared on them, as the losses are, and each model against its baselines),
    latent_stability.csv (`stability` over seeds), latent_clinical.csv (clinical_scores of
    every run, then of the baselines), latent_loss.csv (`loss_vs_quality`) and an HTML
    rendering of them all with latent_baselines.csv. `source`: where the annotations came from
    (the user's file), for the caption."""
    by_folder = pd.read_csv(runs_csv).set_index("path")
    baselines = pd.read_csv(baselines_csv)
    pca = baselines[baselines["baseline"] == "pca"].set_index("dims")
    genes = baselines[baselines["baseline"] == "genes"].iloc[0]
    rows, clinical, folders = [], [], []
    for path in score_paths:
        folder = Path(path).parent
        run, scores = by_folder.loc[str(folder)], json.loads(Path(path).read_text())
        values = {a: run[a] for a in axes}
        beside = {f"{score}_{name}": source_scores[score] for score in BASELINE_SCORES
                  for name, source_scores in (("pca", pca.loc[scores["dims"]]), ("genes", genes),
                                              ("untrained", scores["untrained"]))}
        usage = json.loads((folder / "run.json").read_text()).get("latent_usage") or {}
        rows.append({**values, "status": run["status"], **scores["latent"],
                     **{key: run.get(key) for key in ("kl_pressure", "kl_per_sample",
                                                      "collapsed")},
                     "kl_per_dim": " ".join(f"{v:.3g}" for v in usage.get("kl_per_dim", [])),
                     **beside, "n_unannotated": scores["n_unannotated"], "path": str(folder)})
        clinical += [{**values, "source": "run", **row} for row in scores["clinical"]]
        folders.append((values, folder))
    beside = [f"{score}_{b}" for score in BASELINE_SCORES for b in BASELINES]
    table = pd.DataFrame(rows, columns=[*axes, "status", *LATENT_FIELDS, *KL_COLUMNS, *beside,
                                        "n_unannotated", "path"])
    clinical = pd.concat([pd.DataFrame(clinical, columns=[*axes, "source", *CLINICAL_FIELDS]),
                          pd.read_csv(baselines_clinical_csv)], ignore_index=True)
    compared = studied_axes(table, axes)
    if "model" in axes and table["model"].nunique() > 1:
        compared.append("model")
    pairs = pairwise(table, axes, compared, LATENT_OUTCOMES)
    pairs = pd.concat([pairs, versus_baselines(table).reindex(columns=pairs.columns)],
                      ignore_index=True)
    stable = stability(folders, axes, lambda folder: (
        load_latent(folder / LATENT_FILE), np.load(folder / NEIGHBOURS_FILE)))
    # losses compare within one objective: per model and level of reconstruction, kld_weight
    loss = loss_vs_quality(by_objective(table.assign(
        final_val_loss=by_folder.loc[table["path"], "final_val_loss"].to_numpy()), axes)[0])
    for out, frame in ((table_out, table), (pairwise_out, pairs), (stability_out, stable),
                       (clinical_out, clinical), (loss_out, loss)):
        write_atomic(out, frame.to_csv(index=False))
    unlabelled = int(table["n_unannotated"].max()) if len(table) else 0
    n_samples = len(Path(samples_txt).read_text().splitlines())
    partial = (f" Only part of the matrix is annotated: {unlabelled} of its {n_samples} "
               f"samples have no label in the phenotype table {source} and are "
               "left out of every score (n_unannotated)." if unlabelled else "")
    collapsed = collapse_counts(by_objective(by_folder, axes)[0])
    write_atomic(html_out, render_html(f"Study {study}: latent space", [
        ("Collapsed runs", collapse_advice(collapsed) + ". " + COLLAPSE_CAPTION, collapsed),
        ("Scores per run", LATENT_CAPTION + KL_CAPTION + BESIDE_CAPTION + partial, table),
        ("Baselines", BASELINE_CAPTION, baselines),
        ("Stability across seeds", STABILITY_CAPTION, stable),
        ("Survival and clinical variables", CLINICAL_CAPTION, clinical),
        ("Does a lower loss mean a better latent space?", LOSS_CAPTION, loss),
        ("Pairwise comparisons", LATENT_PAIRWISE_CAPTION, pairs),
    ], where=html_out))


LATENT_CAPTION = (
    "For each run that saved its encoder means (the study's save_latent selection; one draw "
    "of z per sample instead where the run sets latent_kind: sample): how well "
    "the means of all samples separate cancer types. knn_accuracy: a "
    f"{KNN_NEIGHBOURS}-nearest-neighbour vote (Euclidean) in stratified {CV_FOLDS}-fold "
    "cross-validation; knn_balanced_accuracy: the same averaged per type (chance 1 / n_types); "
    "majority_baseline: always guessing the commonest type; silhouette: mean silhouette width "
    "of the types (-1..1, 0 = no separation); types with fewer than "
    f"{CV_FOLDS} samples are left out of these four. ari, nmi: how well clusters found without "
    f"the labels match the types, as the published benchmark scored it: a {GRAPH_NEIGHBOURS}-"
    "nearest-neighbour graph of all samples (Euclidean, symmetrised), Leiden on modularity "
    f"(seed {LEIDEN_SEED}), then the adjusted Rand index (0 = chance, 1 = the same partition) "
    "and normalised mutual information against the types of the labelled samples; n_clusters: "
    "how many Leiden found (it is not told how many types there are). active_units: latent "
    f"units whose mean varies over all samples (variance > {ACTIVE_VARIANCE}, Burda et al. "
    "2016; a unit is a dimension, or a categorical variable, whose class probabilities' "
    "variances are summed); fewer than the latent size means posterior collapse in the rest. "
    "The encoder "
    "saw these samples in training (80% of them) without their labels: the scores describe the "
    "geometry of the latent space, not a classifier's performance on new patients.")
KL_CAPTION = (
    " kl_pressure: the weight on the KL per unit of summed squared error (kld_weight x genes "
    "with reconstruction mean, kld_weight with sum; 1 is the ELBO's balance); kl_per_dim: "
    "each latent unit's mean KL from its prior on the validation samples after training "
    "(nats); kl_per_sample: their sum; collapsed: no unit active on the validation samples, "
    "or kl_per_sample below the floor (the Collapsed runs table).")
COLLAPSE_CAPTION = (
    "Per model (and level of reconstruction or kld_weight where the study varies them), over "
    "every run of the study (saved or not): how many were judged (a finite model at the end), "
    "how many collapsed, and the median KL pressure of the collapsed runs and of the others. "
    "A run is collapsed when, on its validation samples after training, no latent unit is "
    f"active (the variance of its mean over the samples > {ACTIVE_VARIANCE}; a categorical "
    "variable's class probabilities' variances summed), or its KL from the prior, summed over "
    f"units, is below {KL_FLOOR} nats per sample. The studies' arithmetic (reconstruction "
    "mean, KL weight M_N) weighs the KL about genes x M_N times the ELBO's (README, \"Why the "
    "studies' latent spaces collapse\").")
BESIDE_CAPTION = (
    " Beside each run, its baselines' scores on the same samples (latent_baselines.csv): "
    "<score>_pca, a PCA of the preprocessed matrix with as many components as the run's latent "
    "width; <score>_genes, the matrix's genes themselves; <score>_untrained, the run's own "
    "encoder as initialised (same init and seed, no training). A run below its PCA baseline has "
    "learnt less about cancer type than a linear projection of the same size; one near its "
    "untrained encoder has learnt little at all.")
BASELINE_CAPTION = (
    "What a VAE's latent space must beat, scored with the same protocol on the same samples: "
    "genes, the preprocessed matrix itself (its top genes, scaled as the encoder saw them); "
    "pca, its principal components (fit on all samples, as the encoder saw all of them; dims: "
    "how many), once for every latent width of this study's runs. Deterministic: one value "
    "each, no seeds.")
STABILITY_CAPTION = (
    "How alike the latent spaces of runs that differ only in seed are, per condition (every "
    "pair of its saved runs; diverged runs left out): linear CKA of their encoder means "
    "(Kornblith et al. 2019; 1 = the same up to rotation and scale, which a VAE's prior leaves "
    f"free) and the overlap of their {GRAPH_NEIGHBOURS}-nearest-neighbour graphs (the share of "
    "a sample's neighbours both runs agree on; 1 = the same neighbourhoods). Seed changes the "
    "split, the init and the batch order together, so this is the spread a rerun gives.")
LOSS_CAPTION = (
    "Per model, Spearman's rho between a run's final validation loss and its ARI over the "
    "saved runs of the grid that finished (negative: a lower loss goes with a better "
    "clustering), with its two-sided p; the median ARI of those runs and of their PCA "
    "baselines. The published benchmark found that the loss does not track downstream "
    "quality; figures/<study>_quality shows the runs.")
LATENT_PAIRWISE_CAPTION = (
    "Rows with axis 'baseline' compare each model's finished runs with their own baselines "
    "(level_a: a PCA with as many components as the run's latent width, the genes, or the "
    "run's encoder before training), paired "
    "run by run, on knn_accuracy, silhouette and ARI: effect > 0 means the runs score higher "
    "than the baseline; Holm within one model and score. The other rows: the latent scores "
    "compared between levels of each studied axis within a model, and between "
    "models (matched on the other axes), with the same tests, effect sizes and Holm correction "
    "as the losses (statistics.html): Wilcoxon signed-rank where the runs pair one to one, else "
    "Mann-Whitney U. The smallest two-sided Wilcoxon p with n pairs is 2 / 2^n (5 pairs: "
    "0.0625, 10: 0.002), before Holm's correction: select enough seeds in save_latent for a "
    "comparison to be able to reach significance.")
