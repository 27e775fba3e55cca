"""Analysis of a study's runs, from their outputs only (no torch).

Rooms: tables (aggregation into tidy tables, convergence measures, checked reading of run
outputs), stats (tests and effect sizes between conditions, sensitivity, divergence), latent
(downstream scores of one latent space and of its baselines), latent_study (a study's latent
tables: every run beside its baselines, stability over seeds, comparisons), clinical (survival
and clinical variables from a representation), render (HTML pages of the tables and captions).
"""

from .clinical import (
    CLINICAL_FIELDS,
    clinical_associations,
    clinical_scores,
    concordance_counts,
    sample_phenotype,
    survival_concordance,
)
from .latent import (
    BASELINE_SCORES,
    LATENT_FIELDS,
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
    LOSS_QUALITY_FIELDS,
    STABILITY_FIELDS,
    latent_scores,
    loss_vs_quality,
    stability,
    study_baselines,
    versus_baselines,
)
from .render import render_html
from .stats import (
    ALPHA,
    LATENT_OUTCOMES,
    LOSS_OUTCOMES,
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
    CONVERGENCE_FIELDS,
    RUN_FIELDS,
    USAGE_FIELDS,
    aggregate,
    collapse_advice,
    collapse_counts,
    convergence,
    load_latent,
    read_epochs,
    read_records,
    run_table,
    summarise,
    verified,
)

__all__ = [
    "ALPHA", "BASELINE_SCORES", "CLINICAL_FIELDS", "CONVERGENCE_FIELDS", "LATENT_FIELDS",
    "LATENT_OUTCOMES", "LOSS_OUTCOMES", "LOSS_QUALITY_FIELDS", "RUN_FIELDS", "STABILITY_FIELDS",
    "USAGE_FIELDS", "active_units", "aggregate", "baseline_scores", "by_objective",
    "clinical_associations", "clinical_scores", "collapse_advice", "collapse_counts", "compare",
    "concordance_counts", "convergence", "divergence", "holm", "latent_scores",
    "leiden_clusters", "linear_cka", "load_latent", "loss_vs_quality", "matched_rank_biserial",
    "neighbour_overlap", "neighbour_sets", "ordered", "pairwise", "read_epochs", "read_records",
    "render_html", "run_scores", "run_table", "sample_labels", "sample_phenotype", "score_latents",
    "sensitivity", "silhouette", "stability", "studied_axes", "study_baselines",
    "study_statistics", "summarise",
    "survival_concordance", "verified", "versus_baselines",
]
