"""Scores of one latent space: how well a run's encoder means separate cancer types
(cross-validated kNN accuracy, silhouette; clusters found without the labels, as the published
benchmark scored them: `leiden_clusters`, ARI, NMI) and how many latent dimensions are in use
(`active_units`), all in `score_latents`; the same scores of what a VAE must beat, on the same
samples (`baseline_scores`: PCA, the genes); and the measures of how alike two latent spaces
of the same samples are (`linear_cka`, `neighbour_overlap`). A study's tables: latent_study.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..data import DataError, load_phenotype

KNN_NEIGHBOURS = 5
CV_FOLDS = 5
GRAPH_NEIGHBOURS = 15  # the benchmark's kNN graph for Leiden (reference/eltager2023.md 5.1)
LEIDEN_SEED = 42  # the benchmark's
ACTIVE_VARIANCE = 0.01  # Burda et al. 2016: a unit is active if Var over samples of mu > 0.01
LATENT_FIELDS = ("n_samples", "n_types", "knn_accuracy", "knn_balanced_accuracy",
                 "majority_baseline", "silhouette", "ari", "nmi", "n_clusters", "active_units")


def active_units(mu, threshold: float = ACTIVE_VARIANCE) -> int:
    """Latent dimensions in use: those whose mean mu varies over the samples, Var > threshold
    (Burda et al. 2016). A collapsed dimension (posterior = prior for every sample) has ~0."""
    return int((np.var(np.asarray(mu, dtype=float), axis=0) > threshold).sum())


def leiden_clusters(x, neighbours: int = GRAPH_NEIGHBOURS, seed: int = LEIDEN_SEED) -> np.ndarray:
    """Cluster ids of the rows of x [n x D], found without labels as the benchmark did: each
    row linked to its `neighbours` nearest rows (Euclidean, the row itself among them, as
    sklearn's kneighbors on the fitted data returns it), the graph symmetrised explicitly (an
    edge where either row lists the other: the union) with one self-loop per row, then Leiden
    on modularity (leidenalg, iterated until stable, fixed seed). The benchmark left symmetry to
    igraph's `mode='undirected'`, which newer igraph refuses on an asymmetric matrix."""
    import igraph
    import leidenalg
    from sklearn.neighbors import NearestNeighbors

    x = np.asarray(x, dtype=float)
    k = min(neighbours, len(x))
    nearest = NearestNeighbors(n_neighbors=k).fit(x).kneighbors(x, return_distance=False)
    rows = np.repeat(np.arange(len(x)), k)
    pairs = np.unique(np.sort(np.stack([rows, nearest.ravel()], axis=1), axis=1), axis=0)
    loops = np.stack([np.arange(len(x))] * 2, axis=1)  # present once even where kNN ties
    edges = np.unique(np.concatenate([pairs, loops]), axis=0)
    graph = igraph.Graph(n=len(x), edges=edges.tolist())
    partition = leidenalg.find_partition(graph, leidenalg.ModularityVertexPartition,
                                         n_iterations=-1, seed=seed)
    return np.asarray(partition.membership)


def score_latents(mu, labels, folds: int = CV_FOLDS, neighbours: int = KNN_NEIGHBOURS,
                  seed: int = 0) -> dict:
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
    - active_units: latent dimensions in use over all samples (`active_units`);
    - n_samples, n_types: what was scored. All NaN if mu has a non-finite value (a diverged run).
    """
    from sklearn.metrics import (
        adjusted_rand_score,
        balanced_accuracy_score,
        normalized_mutual_info_score,
        silhouette_score,
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
                  silhouette=float(silhouette_score(x, y)))
    clusters = leiden_clusters(mu)
    labelled = labels.notna().to_numpy() & (labels != "").to_numpy()
    truth, found = labels[labelled].astype(str).to_numpy(), clusters[labelled]
    scores.update(ari=float(adjusted_rand_score(truth, found)),
                  nmi=float(normalized_mutual_info_score(truth, found)),
                  n_clusters=len(set(clusters)), active_units=active_units(mu))
    return scores


BASELINE_SCORES = ("knn_accuracy", "silhouette", "ari")  # shown beside each run's own
# column suffix -> name: PCA at the run's width, the genes, the run's encoder as initialised
BASELINES = {"pca": "PCA (same width)", "genes": "genes", "untrained": "untrained encoder"}
UNTRAINED_FILE = "latent_untrained.npy"


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


def neighbour_sets(x, neighbours: int = GRAPH_NEIGHBOURS) -> np.ndarray:
    """Each row's `neighbours` nearest other rows (Euclidean), as an [n x k] index array."""
    from sklearn.neighbors import NearestNeighbors

    k = min(neighbours, len(x) - 1)
    found = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x, return_distance=False)
    # drop each row itself (first, unless tied with another point at distance 0)
    return np.array([[j for j in row if j != i][:k] for i, row in enumerate(found)])


def neighbour_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Mean share of a row's nearest neighbours that two neighbour_sets have in common."""
    return float(np.mean([len(set(x) & set(y)) / len(x) for x, y in zip(a, b)]))


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
