# Per study: every epoch of every run, one row per run, and mean / s.d. over seeds per epoch.


rule aggregate:
    input:
        metrics=study_metrics,
        records=study_records,
    output:
        epochs="results/{study}/tables/epochs.csv",
        runs="results/{study}/tables/runs.csv",
        summary="results/{study}/tables/summary.csv",
    log:
        "logs/aggregate/{study}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        code=ANALYSIS_CODE,
        axes=study_axes,
    script:
        "../scripts/aggregate.py"
