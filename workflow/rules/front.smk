# The front page: the verdicts, every study's runs and the latent quality beside its baselines,
# with links to every page and figure (vaebench.front).


rule front_page:
    input:
        unpack(front_inputs),
    output:
        report(
            LAYOUT.index(),
            caption="../report/front.rst",
            category="1. At a glance",
            labels={"page": "front page"},
        ),
    log:
        LAYOUT.log("front_page"),
    conda:
        "../../envs/analysis.yaml"
    params:
        code=FRONT_CODE,
        studies=front_studies(),
        title=f"vaebench: {LAYOUT.results}",
    script:
        "../scripts/front_page.py"
