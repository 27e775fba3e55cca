# Do the papers' findings hold? Each claim of config/claims/<paper>.yaml tested on the study it
# applies to (README "Do the papers' findings hold?"); the claims are read and matched when the
# Snakefile parses (common.smk), so a malformed one stops the workflow before any job.


rule claims:
    input:
        unpack(claim_inputs),
    output:
        claims="results/claims/claims.csv",
        parts="results/claims/claim_parts.csv",
        html=report(
            "results/claims/claims.html",
            caption="../report/claims.rst",
            category="Do the papers' findings hold?",
            labels={"table": "claims"},
        ),
        per_study=[f"results/{s}/tables/claims.csv" for s in claim_study_outputs()],
    log:
        "logs/claims.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        code=ANALYSIS_CODE,
        papers=CLAIM_PAPERS,
        matches=CLAIM_MATCHES,
        tables=claim_tables(),
        studies=claim_study_outputs(),
    script:
        "../scripts/claims.py"
