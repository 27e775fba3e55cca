# Do the papers' findings hold? Each claim of config/claims/<paper>.yaml tested on the study it
# applies to (README "Do the papers' findings hold?"); the claims are read and matched when the
# Snakefile parses (common.smk), so a malformed one stops the workflow before any job.


rule claims:
    input:
        unpack(claim_inputs),
    output:
        claims=LAYOUT.claims("claims.csv"),
        parts=LAYOUT.claims("claim_parts.csv"),
        html=report(
            LAYOUT.claims("claims.html"),
            caption="../report/claims.rst",
            category="Do the papers' findings hold?",
            labels={"table": "claims"},
        ),
        per_study=[LAYOUT.table(s, "claims.csv") for s in PLAN.claim_study_outputs],
    log:
        LAYOUT.log("claims"),
    conda:
        "../../envs/analysis.yaml"
    params:
        code=ANALYSIS_CODE,
        papers=PLAN.papers,
        matches=PLAN.matches,
        tables=PLAN.claim_tables(),
        studies=PLAN.claim_study_outputs,
    script:
        "../scripts/claims.py"
