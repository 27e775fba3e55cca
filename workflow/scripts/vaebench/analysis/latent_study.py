"""A study's latent-space tables, gathered from its runs: the scores of every run beside its
baselines' (latent.csv), the comparisons (latent_pairwise.csv: between conditions, and each
model against its baselines), stability over seeds, survival and clinical variables, whether
the loss predicts the scores, and the HTML page with the captions that say what each assumes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

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
    LEIDEN_SEED,
    UNTRAINED_FILE,
    baseline_scores,
    linear_cka,
    neighbour_overlap,
    neighbour_sets,
    pca_projections,
    sample_labels,
    score_latents,
)
from .render import render_html
from .stats import ALPHA, LATENT_OUTCOMES, compare, holm, pairwise, studied_axes
from .tables import load_latent

STABILITY_FIELDS = ("n_runs", "n_pairs", "cka_mean", "cka_sd", "cka_min", "overlap_mean",
                    "overlap_sd", "overlap_min")


def stability(latents: list[tuple[dict, np.ndarray]], axes: list[str]) -> pd.DataFrame:
    """How alike the latent spaces of runs that differ only in seed are: per condition (the
    other axes), linear CKA and the 15-NN overlap of every pair of its runs, mean, s.d. and
    minimum. `latents`: (axis values as a dict, mu) of each run. Runs with a non-finite mu
    (diverged) are left out; a condition with one run has no pair and is left out."""
    keys = [a for a in axes if a != "seed"]
    groups: dict[tuple, list] = {}
    for values, mu in latents:
        if np.isfinite(mu).all():
            groups.setdefault(tuple(values[a] for a in keys), []).append(mu)
    rows = []
    for condition, mus in groups.items():
        if len(mus) < 2:
            continue
        graphs = [neighbour_sets(mu) for mu in mus]
        pairs = [(i, j) for i in range(len(mus)) for j in range(i + 1, len(mus))]
        cka = np.array([linear_cka(mus[i], mus[j]) for i, j in pairs])
        overlap = np.array([neighbour_overlap(graphs[i], graphs[j]) for i, j in pairs])
        rows.append({**dict(zip(keys, condition)), "n_runs": len(mus), "n_pairs": len(pairs),
                     "cka_mean": cka.mean(), "cka_sd": cka.std(ddof=1) if len(pairs) > 1 else
                     np.nan, "cka_min": cka.min(), "overlap_mean": overlap.mean(),
                     "overlap_sd": overlap.std(ddof=1) if len(pairs) > 1 else np.nan,
                     "overlap_min": overlap.min()})
    return pd.DataFrame(rows, columns=[*keys, *STABILITY_FIELDS])


def clinical_table(latents: list[tuple[dict, np.ndarray]], pca: dict[int, np.ndarray],
                   phenotype: pd.DataFrame, axes: list[str]) -> pd.DataFrame:
    """clinical_scores of every run (source "run"), of the matrix's PCA at each of their
    widths (`pca`: pca_projections; source "pca") and of cancer type alone as one-hot columns
    (source "cancer type")."""
    rows = [{**values, "source": "run", **row} for values, mu in latents
            for row in clinical_scores(mu, phenotype)]
    for k, projection in pca.items():
        rows += [{"source": "pca", **row, "n_dims": k}
                 for row in clinical_scores(projection, phenotype)]
    one_hot = pd.get_dummies(phenotype["label"]).to_numpy(dtype=float)
    rows += [{"source": "cancer type", **row} for row in clinical_scores(one_hot, phenotype)]
    return pd.DataFrame(rows, columns=[*axes, "source", *CLINICAL_FIELDS])


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
    """Does a lower final validation loss mean a better latent space? Per model, Spearman's rho
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


def latent_scores(runs_csv, latent_paths: list, samples_txt, phenotype_path, matrix_path,
                  axes: list[str], study: str, table_out, pairwise_out, baselines_out,
                  stability_out, clinical_out, loss_out, html_out, source=None) -> None:
    """The latent_scores rule: latent.csv (scores per run, each beside its baselines'),
    latent_pairwise.csv (conditions compared on them, as the losses are), latent_baselines.csv
    (baseline_scores of the preprocessed matrix, PCA at every latent width of the study),
    latent_stability.csv (`stability` over seeds), latent_clinical.csv (clinical.clinical_scores
    of every run and baseline), latent_loss.csv (`loss_vs_quality`) and an HTML rendering.
    `source`: where the annotations came from (the user's file), for messages."""
    runs = pd.read_csv(runs_csv)
    source = source or phenotype_path
    labels = sample_labels(samples_txt, phenotype_path, source)
    # Samples of the matrix the phenotype table does not annotate: stated per row and above.
    unlabelled = int((labels == "").sum())
    by_folder = runs.set_index("path")
    rows, latents = [], []
    for path in latent_paths:
        run = by_folder.loc[str(Path(path).parent)]
        mu = load_latent(path)
        latents.append(({a: run[a] for a in axes}, mu))
        # the same encoder as initialised (the trainer writes it beside latent.npy)
        untrained = score_latents(load_latent(Path(path).with_name(UNTRAINED_FILE)), labels)
        rows.append({**{a: run[a] for a in axes}, "status": run["status"],
                     **score_latents(mu, labels), "dims": mu.shape[1],
                     **{f"{score}_untrained": untrained[score] for score in BASELINE_SCORES},
                     "n_unannotated": unlabelled, "path": str(Path(path).parent)})
    widths = [row.pop("dims") for row in rows]
    matrix = np.load(matrix_path, mmap_mode="r")
    pca = pca_projections(matrix, widths)  # fit once: the baselines and clinical scores share it
    baselines = baseline_scores(matrix, labels, widths, pca=pca)
    clinical = clinical_table(latents, pca, sample_phenotype(samples_txt, phenotype_path), axes)
    pca = baselines[baselines["baseline"] == "pca"].set_index("dims")
    genes = baselines[baselines["baseline"] == "genes"].iloc[0]
    for row, width in zip(rows, widths):
        for score in BASELINE_SCORES:
            row[f"{score}_pca"], row[f"{score}_genes"] = pca.at[width, score], genes[score]
    beside = [f"{score}_{b}" for score in BASELINE_SCORES for b in BASELINES]
    table = pd.DataFrame(rows, columns=[*axes, "status", *LATENT_FIELDS, *beside,
                                        "n_unannotated", "path"])
    compared = studied_axes(table, axes)
    if "model" in axes and table["model"].nunique() > 1:
        compared.append("model")
    pairs = pairwise(table, axes, compared, LATENT_OUTCOMES)
    pairs = pd.concat([pairs, versus_baselines(table).reindex(columns=pairs.columns)],
                      ignore_index=True)
    write_atomic(table_out, table.to_csv(index=False))
    write_atomic(pairwise_out, pairs.to_csv(index=False))
    write_atomic(baselines_out, baselines.to_csv(index=False))
    stable = stability(latents, axes)
    write_atomic(stability_out, stable.to_csv(index=False))
    write_atomic(clinical_out, clinical.to_csv(index=False))
    loss = loss_vs_quality(table.assign(
        final_val_loss=by_folder.loc[table["path"], "final_val_loss"].to_numpy()))
    write_atomic(loss_out, loss.to_csv(index=False))
    partial = (f" Only part of the matrix is annotated: {unlabelled} of its {len(labels)} "
               f"samples have no label in the phenotype table {source} and are "
               "left out of every score (n_unannotated)." if unlabelled else "")
    write_atomic(html_out, render_html(f"Study {study}: latent space", [
        ("Scores per run", LATENT_CAPTION + BESIDE_CAPTION + partial, table),
        ("Baselines", BASELINE_CAPTION, baselines),
        ("Stability across seeds", STABILITY_CAPTION, stable),
        ("Survival and clinical variables", CLINICAL_CAPTION, clinical),
        ("Does a lower loss mean a better latent space?", LOSS_CAPTION, loss),
        ("Pairwise comparisons", LATENT_PAIRWISE_CAPTION, pairs),
    ]))


LATENT_CAPTION = (
    "For each run that saved its encoder means (the study's save_latent selection): how well "
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
    f"dimensions whose mean varies over the samples (variance > {ACTIVE_VARIANCE}, Burda et "
    "al. 2016); fewer than the latent size means posterior collapse in the rest. The encoder "
    "saw these samples in training (80% of them) without their labels: the scores describe the "
    "geometry of the latent space, not a classifier's performance on new patients.")
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
