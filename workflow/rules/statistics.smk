# Beyond the papers: statistics between conditions, and how well latent spaces separate
# cancer types (docs/analysis.md). From the aggregated tables and the saved latents.


rule statistics:
    input:
        runs=LAYOUT.table("{study}", "runs.csv"),
    output:
        pairwise=LAYOUT.table("{study}", "pairwise.csv"),
        sensitivity=LAYOUT.table("{study}", "sensitivity.csv"),
        divergence=LAYOUT.table("{study}", "divergence.csv"),
        html=report(
            LAYOUT.table("{study}", "statistics.html"),
            caption="../report/statistics.rst",
            category="Comparisons",
            labels={"study": "{study}", "table": "statistics"},
        ),
    log:
        LAYOUT.log("statistics", "{study}"),
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
        latent=LAYOUT.run("{study}", "{run}", "latent.npy"),
        untrained=LAYOUT.run("{study}", "{run}", "latent_untrained.npy"),
        record=LAYOUT.run("{study}", "{run}", "run.json"),
        samples=study_samples,
        phenotype=study_phenotype,
    output:
        scores=LAYOUT.run("{study}", "{run}", "scores.json"),
        neighbours=LAYOUT.run("{study}", "{run}", "neighbours.npy"),
    log:
        LAYOUT.log("score_latent", "{study}/{run}"),
    wildcard_constraints:
        study=latent_studies_pattern(),
    group:
        bundle  # with its own training (common.smk)
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_per_attempt(2000),
        disk_mb=1000,
        bundle_slot=1,
        runtime=bundle_minutes("score"),
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
        baselines=LAYOUT.table("{study}", "latent_baselines.csv"),
        clinical=LAYOUT.table("{study}", "latent_baselines_clinical.csv"),
    log:
        LAYOUT.log("latent_baselines", "{study}"),
    wildcard_constraints:
        study=latent_studies_pattern(),
    conda:
        "../../envs/analysis.yaml"
    threads: 4
    resources:
        **attempt_scaled(mem_mb=8000, minutes=60),
    params:
        code=ANALYSIS_CODE,
        annotations=study_annotations_source,
    script:
        "../scripts/latent_baselines.py"


rule latent_scores:
    input:
        runs=LAYOUT.table("{study}", "runs.csv"),
        scores=study_scores,
        neighbours=study_neighbours,
        latents=study_latents,
        samples=study_samples,
        baselines=LAYOUT.table("{study}", "latent_baselines.csv"),
        baselines_clinical=LAYOUT.table("{study}", "latent_baselines_clinical.csv"),
    output:
        table=LAYOUT.table("{study}", "latent.csv"),
        pairwise=LAYOUT.table("{study}", "latent_pairwise.csv"),
        stability=LAYOUT.table("{study}", "latent_stability.csv"),
        clinical=LAYOUT.table("{study}", "latent_clinical.csv"),
        loss=LAYOUT.table("{study}", "latent_loss.csv"),
        html=report(
            LAYOUT.table("{study}", "latent.html"),
            caption="../report/latent.rst",
            category="Comparisons",
            labels={"study": "{study}", "table": "latent space"},
        ),
    log:
        LAYOUT.log("latent_scores", "{study}"),
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
        runs=LAYOUT.table("{study}", "runs.csv"),
        latents=study_latents,
        samples=study_samples,
        phenotype=study_phenotype,
    output:
        png=report(
            LAYOUT.figure("{study}", "{study}_embedding.png"),
            caption="../report/embedding.rst",
            category="Figures",
            labels={"study": "{study}", "format": "PNG (latent space)"},
        ),
        pdf=report(
            LAYOUT.figure("{study}", "{study}_embedding.pdf"),
            caption="../report/embedding.rst",
            category="Figures",
            labels={"study": "{study}", "format": "PDF (latent space)"},
        ),
    log:
        LAYOUT.log("embedding", "{study}"),
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
        latent=LAYOUT.table("{study}", "latent.csv"),
        runs=LAYOUT.table("{study}", "runs.csv"),
    output:
        png=report(
            LAYOUT.figure("{study}", "{study}_quality.png"),
            caption="../report/quality.rst",
            category="Figures",
            labels={"study": "{study}", "format": "PNG (loss vs latent quality)"},
        ),
        pdf=report(
            LAYOUT.figure("{study}", "{study}_quality.pdf"),
            caption="../report/quality.rst",
            category="Figures",
            labels={"study": "{study}", "format": "PDF (loss vs latent quality)"},
        ),
    log:
        LAYOUT.log("quality_figure", "{study}"),
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
