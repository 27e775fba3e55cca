# Per study: every epoch of every run, one row per run, and mean / s.d. over seeds per epoch.


rule aggregate:
    input:
        metrics=study_metrics,
        records=study_records,
    output:
        epochs=LAYOUT.table("{study}", "epochs.csv"),
        runs=LAYOUT.table("{study}", "runs.csv"),
        summary=LAYOUT.table("{study}", "summary.csv"),
    log:
        LAYOUT.log("aggregate", "{study}"),
    conda:
        "../../envs/analysis.yaml"
    params:
        code=ANALYSIS_CODE,
        axes=study_axes,
    script:
        "../scripts/aggregate.py"
