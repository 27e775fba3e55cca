"""Analysis of a study's runs, from their outputs only (no torch).

Rooms: tables (aggregation into tidy tables, convergence measures, checked reading of run
outputs), stats (tests and effect sizes between conditions, sensitivity, divergence), latent
(downstream scores of one latent space and of its baselines), latent_study (a study's latent
tables: every run beside its baselines, stability over seeds, comparisons), clinical (survival
and clinical variables from a representation), render (HTML pages of the tables and captions).
"""

from .clinical import (
    clinical_associations,
    clinical_scores,
    survival_concordance,
)
from .latent import (
    active_units,
    baseline_scores,
    leiden_clusters,
    linear_cka,
    neighbour_overlap,
    neighbour_sets,
    run_scores,
    sample_labels,
    score_latents,
    silhouette,
)
from .latent_study import (
    latent_scores,
    stability,
    study_baselines,
    versus_baselines,
)
from .stats import (
    ALPHA,
    by_objective,
    compare,
    divergence,
    holm,
    matched_rank_biserial,
    ordered,
    pairwise,
    sensitivity,
    studied_axes,
    study_statistics,
)
from .tables import (
    aggregate,
    collapse_advice,
    collapse_counts,
    convergence,
    load_latent,
    run_table,
)

__all__ = [
    "ALPHA", "active_units", "aggregate", "baseline_scores", "by_objective",
    "clinical_associations", "clinical_scores", "collapse_advice", "collapse_counts", "compare",
    "convergence", "divergence", "holm", "latent_scores", "leiden_clusters", "linear_cka",
    "load_latent", "matched_rank_biserial", "neighbour_overlap", "neighbour_sets", "ordered",
    "pairwise", "run_scores", "run_table", "sample_labels", "score_latents", "sensitivity",
    "silhouette", "stability", "studied_axes", "study_baselines", "study_statistics",
    "survival_concordance", "versus_baselines",
]
