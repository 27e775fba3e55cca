"""Scores of one latent space: how well a run's encoder means separate cancer types
(cross-validated kNN accuracy, silhouette; clusters found without the labels, as the published
benchmark scored them: `leiden_clusters`, ARI, NMI) and how many latent dimensions are in use
(`active_units`), all in `score_latents`; the same scores of what a VAE must beat, on the same
samples (`baseline_scores`: PCA, the genes); and the measures of how alike two latent spaces
of the same samples are (`linear_cka`, `neighbour_overlap`). A study's tables: latent_study.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import ACTIVE_VARIANCE  # Burda et al. 2016: active if Var over samples > 0.01
from ..data import MIN_CLASS_SAMPLES, DataError, atomic_path, load_phenotype, write_atomic
from .clinical import clinical_scores, sample_phenotype
from .tables import load_latent

KNN_NEIGHBOURS = 5
# Stratified k-fold needs k samples a class: the phenotype step refuses a label with fewer
# than two such classes (data.check_scorable_label) with this same number.
CV_FOLDS = MIN_CLASS_SAMPLES
# the benchmark's kNN graph for Leiden (meltager/vae_benchmark experiment.py, get_data_cluster)
GRAPH_NEIGHBOURS = 15
LEIDEN_SEED = 42  # the benchmark's
LATENT_FIELDS = ("n_samples", "n_types", "knn_accuracy", "knn_balanced_accuracy",
                 "majority_baseline", "silhouette", "ari", "nmi", "n_clusters", "active_units")


def active_units(mu, threshold: float = ACTIVE_VARIANCE, unit_width: int = 1) -> int:
    """Latent units in use: those whose mean varies over the samples, Var > threshold (Burda
    et al. 2016). A collapsed unit (posterior = prior for every sample) has ~0. A unit is
    `unit_width` consecutive columns of mu, whose variances add up: 1 for a Gaussian dimension,
    the classes of one variable for a categorical latent (its means are class probabilities)."""
    variance = np.var(np.asarray(mu, dtype=float), axis=0)
    return int((variance.reshape(-1, unit_width).sum(axis=1) > threshold).sum())


def nearest_neighbours(x, k: int) -> np.ndarray:
    """Each row's k nearest rows of x [n x D] (Euclidean), the row itself among them, as
    sklearn's kneighbors on the fitted data returns them: [n x min(k, n)] indices, nearest
    first. Computed once per latent space and shared by the Leiden graph and the stability
    neighbourhoods (`neighbour_sets`)."""
    from sklearn.neighbors import NearestNeighbors

    x = np.asarray(x, dtype=float)
    return NearestNeighbors(n_neighbors=min(k, len(x))).fit(x).kneighbors(
        x, return_distance=False)


def leiden_clusters(x, neighbours: int = GRAPH_NEIGHBOURS, seed: int = LEIDEN_SEED,
                    nearest: np.ndarray | None = None) -> np.ndarray:
    """Cluster ids of the rows of x [n x D], found without labels as the benchmark did: each
    row linked to its `neighbours` nearest rows (Euclidean, the row itself among them, as
    sklearn's kneighbors on the fitted data returns it), the graph symmetrised explicitly (an
    edge where either row lists the other: the union) with one self-loop per row, then Leiden
    on modularity (leidenalg, iterated until stable, fixed seed). The benchmark left symmetry to
    igraph's `mode='undirected'`, which newer igraph refuses on an asymmetric matrix.
    `nearest`: x's `nearest_neighbours` where already found (at least `neighbours` columns)."""
    import igraph
    import leidenalg

    n = len(x)
    k = min(neighbours, n)
    nearest = (nearest_neighbours(x, k) if nearest is None else nearest)[:, :k]
    # each undirected edge once, as the code low * n + high; one self-loop per row even where
    # kNN ties left a row out of its own list
    low, high = np.minimum(np.arange(n)[:, None], nearest), np.maximum(np.arange(n)[:, None],
                                                                         nearest)
    codes = np.unique(np.concatenate([(low * n + high).ravel(), np.arange(n) * (n + 1)]))
    graph = igraph.Graph(n=n, edges=np.stack([codes // n, codes % n], axis=1))
    partition = leidenalg.find_partition(graph, leidenalg.ModularityVertexPartition,
                                         n_iterations=-1, seed=seed)
    return np.asarray(partition.membership)


def silhouette(x, labels, block: int = 1024) -> float:
    """The mean silhouette width of the classes of `labels` in x [n x D] (Euclidean), as
    sklearn's silhouette_score computes it (a sample alone in its class scores 0), in float32
    blocks of `block` rows: each block's distances to all rows are summed per class in one
    product. 1.4x faster than sklearn's at TCGA size; agrees with it to ~1e-6."""
    x = np.asarray(x, dtype=np.float32)
    codes, classes = pd.factorize(pd.Series(labels, dtype=object))
    sizes = np.bincount(codes, minlength=len(classes)).astype(float)
    members = np.eye(len(classes), dtype=np.float32)[codes]  # [n x classes]
    squares = np.einsum("ij,ij->i", x, x)
    sums = np.empty((len(x), len(classes)))
    for start in range(0, len(x), block):
        rows = slice(start, start + block)
        squared = squares[rows, None] + squares[None, :] - 2 * (x[rows] @ x.T)
        sums[rows] = np.sqrt(np.maximum(squared, 0)) @ members
    own = np.arange(len(x)), codes
    alone = sizes[codes] == 1
    within = sums[own] / np.where(alone, 1, sizes[codes] - 1)
    means = sums / sizes
    means[own] = np.inf
    nearest_other = means.min(axis=1)
    width = (nearest_other - within) / np.maximum(nearest_other, within)
    return float(np.where(alone, 0.0, np.nan_to_num(width)).mean())


def score_latents(mu, labels, folds: int = CV_FOLDS, neighbours: int = KNN_NEIGHBOURS,
                  seed: int = 0, nearest: np.ndarray | None = None, unit_width: int = 1) -> dict:
    """How well a latent space (one row per sample) separates the classes in `labels`.

    Classes with fewer than `folds` samples are left out (stratified cross-validation needs one
    per fold); so is a sample without a label (None or ""). Returns
    - knn_accuracy: the share of samples whose class a k-nearest-neighbour vote (k=5, Euclidean
      distance between encoder means) fitted on the other folds gets right (stratified 5-fold
      cross-validation, folds shuffled with `seed`);
    - knn_balanced_accuracy: the same, averaged per class (chance: 1 / n_types);
    - majority_baseline: the share of the commonest class, what always guessing it scores;
    - silhouette: the mean silhouette width of the classes (-1..1; 0: no separation);
    - ari, nmi: agreement of the clusters `leiden_clusters` finds in all samples (no labels
      used) with the classes, on the labelled samples: adjusted Rand index (0: chance, 1: the
      same partition) and normalised mutual information (arithmetic mean); n_clusters: how many;
    - active_units: latent units in use over all samples (`active_units`; `unit_width` columns
      a unit);
    - n_samples, n_types: what was scored. All NaN if mu has a non-finite value (a diverged run).
    `nearest`: mu's `nearest_neighbours` where already found (for the Leiden graph).
    """
    from sklearn.metrics import (
        adjusted_rand_score,
        balanced_accuracy_score,
        normalized_mutual_info_score,
    )
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.neighbors import KNeighborsClassifier

    mu, labels = np.asarray(mu, dtype=float), pd.Series(labels, dtype=object)
    if len(mu) != len(labels):
        raise ValueError(f"{len(mu)} latent rows but {len(labels)} labels")
    counts = labels[labels.notna() & (labels != "")].value_counts()
    keep = labels.isin(counts.index[counts >= folds]).to_numpy()
    x, y = mu[keep], labels[keep].astype(str).to_numpy()
    scores = dict.fromkeys(LATENT_FIELDS, np.nan)
    scores.update(n_samples=len(y), n_types=len(set(y)))
    if not np.isfinite(mu).all() or scores["n_types"] < 2:
        return scores
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    predicted = cross_val_predict(KNeighborsClassifier(n_neighbors=neighbours), x, y, cv=cv)
    scores.update(knn_accuracy=float((predicted == y).mean()),
                  knn_balanced_accuracy=float(balanced_accuracy_score(y, predicted)),
                  majority_baseline=float(pd.Series(y).value_counts(normalize=True).iloc[0]),
                  silhouette=silhouette(x, y))
    clusters = leiden_clusters(mu, nearest=nearest)
    labelled = labels.notna().to_numpy() & (labels != "").to_numpy()
    truth, found = labels[labelled].astype(str).to_numpy(), clusters[labelled]
    scores.update(ari=float(adjusted_rand_score(truth, found)),
                  nmi=float(normalized_mutual_info_score(truth, found)),
                  n_clusters=len(set(clusters)),
                  active_units=active_units(mu, unit_width=unit_width))
    return scores


BASELINE_SCORES = ("knn_accuracy", "silhouette", "ari")  # shown beside each run's own
# column suffix -> name: PCA at the run's width, the genes, the run's encoder as initialised
BASELINES = {"pca": "PCA (same width)", "genes": "genes", "untrained": "untrained encoder"}
# a run's files (beside run.json): its saved means, those of its encoder as initialised (both
# written by the trainer), and what the score_latent job writes from them
LATENT_FILE, UNTRAINED_FILE = "latent.npy", "latent_untrained.npy"
NEIGHBOURS_FILE = "neighbours.npy"


def pca_projections(x, dims, seed: int = 0) -> dict[int, np.ndarray]:
    """{k: x's PCA with k components} for each of `dims` (fit on all samples, as the encoder
    saw them all; no more components than the matrix has): fit once, scored by several."""
    from sklearn.decomposition import PCA

    x = np.asarray(x, dtype=float)
    return {k: PCA(n_components=min(k, *x.shape), random_state=seed).fit_transform(x)
            for k in sorted(set(dims))}


def baseline_scores(x, labels, dims, seed: int = 0, pca: dict | None = None) -> pd.DataFrame:
    """score_latents of what a VAE's latent space must beat, on the same samples with the same
    protocol: the preprocessed matrix x [samples x genes] itself ("genes"), and its PCA with
    each of `dims` components ("pca", `pca_projections`, or `pca` where already made). One row
    per baseline: baseline, dims, the scores."""
    pca = pca if pca is not None else pca_projections(x, dims, seed)
    rows = [{"baseline": "genes", "dims": x.shape[1], **score_latents(x, labels, seed=seed)}]
    rows += [{"baseline": "pca", "dims": k, **score_latents(pca[k], labels, seed=seed)}
             for k in sorted(set(dims))]
    return pd.DataFrame(rows, columns=["baseline", "dims", *LATENT_FIELDS])


def linear_cka(a, b) -> float:
    """Linear centred kernel alignment (Kornblith et al. 2019) of two representations of the
    same samples, a [n x d1] and b [n x d2]: ||A'B||_F^2 / (||A'A||_F ||B'B||_F) of the
    column-centred matrices. 1 when b is a rotation or isotropic scaling of a; near 0 for
    unrelated ones. NaN if either is constant or non-finite."""
    a = np.asarray(a, dtype=float) - np.mean(a, axis=0)
    b = np.asarray(b, dtype=float) - np.mean(b, axis=0)
    norm = np.linalg.norm(a.T @ a) * np.linalg.norm(b.T @ b)
    if not np.isfinite(norm) or norm == 0:
        return float("nan")
    return float(np.linalg.norm(a.T @ b) ** 2 / norm)


def neighbour_sets(x, neighbours: int = GRAPH_NEIGHBOURS,
                   nearest: np.ndarray | None = None) -> np.ndarray:
    """Each row's `neighbours` nearest other rows (Euclidean), as an [n x k] index array;
    `nearest`: x's `nearest_neighbours` with one column more, where already found."""
    k = min(neighbours, len(x) - 1)
    found = (nearest_neighbours(x, k + 1) if nearest is None else nearest)[:, :k + 1]
    # drop each row itself (first, unless tied with another point at distance 0; where a tie
    # left it out, drop the farthest): a stable sort puts the other rows first, in order
    itself = found == np.arange(len(found))[:, None]
    itself[~itself.any(axis=1), -1] = True
    return np.take_along_axis(found, np.argsort(itself, axis=1, kind="stable"), axis=1)[:, :k]


def neighbour_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Mean share of a row's nearest neighbours that two neighbour_sets have in common."""
    shared = (a[:, :, None] == b[:, None, :]).any(axis=2).sum(axis=1)
    return float(np.mean(shared / a.shape[1]))


def sample_labels(samples_txt, phenotype_path, source=None) -> np.ndarray:
    """The label (cancer type, tissue, ...) of each sample of samples.txt, in its order (""
    where unannotated), from the phenotype rule's table. Annotations that label none of the
    samples are a DataError naming both files (`source`: where the annotations came from)."""
    samples = Path(samples_txt).read_text().splitlines()
    types = load_phenotype(phenotype_path).set_index("sample")["label"]
    labels = types.reindex(samples).fillna("").to_numpy(dtype=object)
    if len(samples) and not (labels != "").any():
        raise DataError(
            f"the phenotype table {source or phenotype_path} ({len(types)} samples, e.g. "
            f"{types.index[0] if len(types) else 'none'!r}) has no sample id in common with the "
            f"expression matrix {samples_txt} ({len(samples)} samples, e.g. {samples[0]!r}): "
            "do both files come from the same cohort, with the same sample ids?")
    return labels


def run_scores(latent_path, samples_txt, phenotype_path, scores_out, neighbours_out,
               source=None, shared=None) -> None:
    """The score_latent rule: one run's scores, in a job of its own (a study's runs are scored
    in parallel, each as soon as it has trained), read by the study's latent_scores job:
    - scores.json: {"latent": score_latents of the saved means (latent.npy), "untrained": the
      same of the run's encoder as initialised (latent_untrained.npy beside it; its sha256 as
      "untrained_sha256"), "clinical":
      clinical_scores rows of the means, "dims": their width, "n_unannotated": samples without
      a label};
    - neighbours.npy: each sample's GRAPH_NEIGHBOURS nearest others (`neighbour_sets`, computed
      with the Leiden graph's), for the stability of the latent space over seeds; -1 where the
      means are not finite (a diverged run). Both files are checked against run.json first.
    `shared`: the scores.json of an earlier run with the same encoder as initialised: its
    "untrained" scores are copied where it scored the same latent_untrained.npy (sha256) as
    this run's (else this run's are scored, with a warning)."""
    labels = sample_labels(samples_txt, phenotype_path, source)
    mu = load_latent(latent_path)
    untrained = load_latent(Path(latent_path).with_name(UNTRAINED_FILE))
    nearest = (nearest_neighbours(mu, GRAPH_NEIGHBOURS + 1) if np.isfinite(mu).all()
               else np.full((len(mu), GRAPH_NEIGHBOURS + 1), -1))
    record = json.loads(Path(latent_path).with_name("run.json").read_text())
    untrained_sha = record["outputs"][UNTRAINED_FILE]["sha256"]  # checked by load_latent
    units = (record.get("latent_usage") or {}).get("n_units") or mu.shape[1]
    width = mu.shape[1] // units  # a categorical variable's classes; 1 for a Gaussian
    scores = {"latent": score_latents(mu, labels, nearest=nearest, unit_width=width),
              "untrained": untrained_scores(untrained, untrained_sha, labels, width, shared),
              "untrained_sha256": untrained_sha,
              "clinical": clinical_scores(mu, sample_phenotype(samples_txt, phenotype_path)),
              "dims": mu.shape[1], "n_unannotated": int((labels == "").sum())}
    neighbours = neighbour_sets(mu, nearest=nearest) if nearest.min() >= 0 else nearest[:, 1:]
    with atomic_path(neighbours_out) as tmp, open(tmp, "wb") as f:
        np.save(f, neighbours.astype(np.int32))
    write_atomic(scores_out, json.dumps(scores, indent=1, default=lambda value: value.item()))


def untrained_scores(untrained, sha256: str, labels, unit_width, shared=None) -> dict:
    """score_latents of a run's encoder as initialised (`untrained`, the means of
    latent_untrained.npy, whose checksum is `sha256`), or their copy from the scores.json of
    another run (`shared`) that scored the same file. A different file means the runs'
    encoder_key missed a setting: scored here, and said."""
    if shared is not None:
        earlier = json.loads(Path(shared).read_text())
        if earlier.get("untrained_sha256") == sha256:
            print(f"the untrained encoder's scores: copied from {shared} (the same encoder "
                  "as initialised)")
            return earlier["untrained"]
        print(f"warning: the run of {shared} started from another encoder than this run, "
              "though their settings differ only in training (config.TRAINING_ONLY): scoring "
              "this run's own", file=sys.stderr)
    return score_latents(untrained, labels, unit_width=unit_width)
