# The papers' figures, from the aggregated tables only.


rule figures:
    input:
        epochs="results/{study}/tables/epochs.csv",
        runs="results/{study}/tables/runs.csv",
        code=PLOT_CODE,
    output:
        png=report(
            "results/{study}/figures/{study}.png",
            caption="../report/figure.rst",
            category="Figures",
            labels={"study": "{study}", "format": "PNG"},
        ),
        pdf="results/{study}/figures/{study}.pdf",
    params:
        figure=figure_settings,
    log:
        "logs/figures/{study}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/figures.py"
