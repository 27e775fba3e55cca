# The papers' figures, from the aggregated tables only.


rule figures:
    input:
        epochs="results/{study}/tables/epochs.csv",
        runs="results/{study}/tables/runs.csv",
    output:
        png=report(
            "results/{study}/figures/{study}.png",
            caption="../report/figure.rst",
            category="Figures",
            labels={"study": "{study}", "format": "PNG"},
        ),
        pdf=report(
            "results/{study}/figures/{study}.pdf",
            caption="../report/figure.rst",
            category="Figures",
            labels={"study": "{study}", "format": "PDF"},
        ),
    log:
        "logs/figures/{study}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        code=PLOT_CODE,
        figure=figure_settings,
    script:
        "../scripts/figures.py"
