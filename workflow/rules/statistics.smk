# Beyond the papers: statistics between conditions, and how well latent spaces separate
# cancer types (README, "Beyond the papers"). From the aggregated tables and the saved latents.


rule statistics:
    input:
        runs="results/{study}/tables/runs.csv",
        code=ANALYSIS_CODE,
    output:
        pairwise="results/{study}/tables/pairwise.csv",
        sensitivity="results/{study}/tables/sensitivity.csv",
        divergence="results/{study}/tables/divergence.csv",
        html=report(
            "results/{study}/tables/statistics.html",
            caption="../report/statistics.rst",
            category="Comparisons",
            labels={"study": "{study}", "table": "statistics"},
        ),
    log:
        "logs/statistics/{study}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        axes=study_axes,
    script:
        "../scripts/study_statistics.py"


rule latent_scores:
    input:
        runs="results/{study}/tables/runs.csv",
        latents=study_latents,
        untrained=study_untrained_latents,
        samples=study_samples,
        phenotype=study_phenotype,
        matrix=study_matrix,
        code=ANALYSIS_CODE,
    output:
        table="results/{study}/tables/latent.csv",
        pairwise="results/{study}/tables/latent_pairwise.csv",
        baselines="results/{study}/tables/latent_baselines.csv",
        stability="results/{study}/tables/latent_stability.csv",
        clinical="results/{study}/tables/latent_clinical.csv",
        loss="results/{study}/tables/latent_loss.csv",
        html=report(
            "results/{study}/tables/latent.html",
            caption="../report/latent.rst",
            category="Comparisons",
            labels={"study": "{study}", "table": "latent space"},
        ),
    log:
        "logs/latent_scores/{study}.log",
    wildcard_constraints:
        study=latent_studies_pattern(),
    conda:
        "../../envs/analysis.yaml"
    params:
        axes=study_axes,
        annotations=study_annotations_source,
    script:
        "../scripts/latent_scores.py"


rule embedding:
    input:
        runs="results/{study}/tables/runs.csv",
        latents=study_latents,
        samples=study_samples,
        phenotype=study_phenotype,
        code=PLOT_CODE,
    output:
        png=report(
            "results/{study}/figures/{study}_embedding.png",
            caption="../report/embedding.rst",
            category="Figures",
            labels={"study": "{study}", "format": "PNG (latent space)"},
        ),
        pdf=report(
            "results/{study}/figures/{study}_embedding.pdf",
            caption="../report/embedding.rst",
            category="Figures",
            labels={"study": "{study}", "format": "PDF (latent space)"},
        ),
    log:
        "logs/embedding/{study}.log",
    wildcard_constraints:
        study=latent_studies_pattern(),
    conda:
        "../../envs/analysis.yaml"
    params:
        annotations=study_annotations_source,
    script:
        "../scripts/embedding.py"


rule quality_figure:
    input:
        latent="results/{study}/tables/latent.csv",
        runs="results/{study}/tables/runs.csv",
        code=PLOT_CODE,
    output:
        png=report(
            "results/{study}/figures/{study}_quality.png",
            caption="../report/quality.rst",
            category="Figures",
            labels={"study": "{study}", "format": "PNG (loss vs latent quality)"},
        ),
        pdf=report(
            "results/{study}/figures/{study}_quality.pdf",
            caption="../report/quality.rst",
            category="Figures",
            labels={"study": "{study}", "format": "PDF (loss vs latent quality)"},
        ),
    log:
        "logs/quality_figure/{study}.log",
    wildcard_constraints:
        study=latent_studies_pattern(),
    conda:
        "../../envs/analysis.yaml"
    params:
        axes=study_axes,
    script:
        "../scripts/quality_figure.py"
