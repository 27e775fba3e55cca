# Beyond the papers: statistics between conditions, and how well latent spaces separate
# cancer types (docs/analysis.md). From the aggregated tables and the saved latents.


rule statistics:
    input:
        runs="results/{study}/tables/runs.csv",
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
        code=ANALYSIS_CODE,
        axes=study_axes,
    script:
        "../scripts/study_statistics.py"


# Each saved run is scored in a job of its own as soon as it has trained (in parallel, on any
# node: no GPU), the baselines once per study; the study job only gathers them into tables.
rule score_latent:
    input:
        # an earlier run with the same encoder as initialised: its untrained scores are reused
        unpack(untrained_scored),
        latent="results/{study}/runs/{run}/latent.npy",
        untrained="results/{study}/runs/{run}/latent_untrained.npy",
        record="results/{study}/runs/{run}/run.json",
        samples=study_samples,
        phenotype=study_phenotype,
    output:
        scores="results/{study}/runs/{run}/scores.json",
        neighbours="results/{study}/runs/{run}/neighbours.npy",
    log:
        "logs/score_latent/{study}/{run}.log",
    wildcard_constraints:
        study=latent_studies_pattern(),
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=ANALYSIS_CODE,
        annotations=study_annotations_source,
    script:
        "../scripts/score_latent.py"


rule latent_baselines:
    input:
        # read for their widths only: a run retrained after a config edit changes no baseline
        latents=ancient(study_latents),
        samples=study_samples,
        phenotype=study_phenotype,
        matrix=study_matrix,
    output:
        baselines="results/{study}/tables/latent_baselines.csv",
        clinical="results/{study}/tables/latent_baselines_clinical.csv",
    log:
        "logs/latent_baselines/{study}.log",
    wildcard_constraints:
        study=latent_studies_pattern(),
    conda:
        "../../envs/analysis.yaml"
    threads: 4
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        code=ANALYSIS_CODE,
        annotations=study_annotations_source,
    script:
        "../scripts/latent_baselines.py"


rule latent_scores:
    input:
        runs="results/{study}/tables/runs.csv",
        scores=study_scores,
        neighbours=study_neighbours,
        latents=study_latents,
        samples=study_samples,
        baselines="results/{study}/tables/latent_baselines.csv",
        baselines_clinical="results/{study}/tables/latent_baselines_clinical.csv",
    output:
        table="results/{study}/tables/latent.csv",
        pairwise="results/{study}/tables/latent_pairwise.csv",
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
        code=ANALYSIS_CODE,
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
        code=PLOT_CODE,
        annotations=study_annotations_source,
        label=study_label,
    script:
        "../scripts/embedding.py"


rule quality_figure:
    input:
        latent="results/{study}/tables/latent.csv",
        runs="results/{study}/tables/runs.csv",
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
        code=PLOT_CODE,
        axes=study_axes,
        label=study_label,
    script:
        "../scripts/quality_figure.py"
