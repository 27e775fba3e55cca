# The papers' figures, from the aggregated tables only.


rule figures:
    input:
        epochs=LAYOUT.table("{study}", "epochs.csv"),
        runs=LAYOUT.table("{study}", "runs.csv"),
    output:
        png=report(
            LAYOUT.figure("{study}", "{study}.png"),
            caption="../report/figure.rst",
            category="Figures",
            labels={"study": "{study}", "format": "PNG"},
        ),
        pdf=report(
            LAYOUT.figure("{study}", "{study}.pdf"),
            caption="../report/figure.rst",
            category="Figures",
            labels={"study": "{study}", "format": "PDF"},
        ),
    log:
        LAYOUT.log("figures", "{study}"),
    conda:
        "../../envs/analysis.yaml"
    params:
        code=PLOT_CODE,
        figure=figure_settings,
    script:
        "../scripts/figures.py"
