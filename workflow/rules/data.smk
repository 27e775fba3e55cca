# Raw expression matrices (synthetic or downloaded) and their preprocessed variants.


rule make_synthetic:
    output:
        expression=LAYOUT.download("{dataset}", "expression.tsv.gz"),
        phenotype=LAYOUT.download("{dataset}", "phenotype.tsv"),
    log:
        LAYOUT.log("make_synthetic", "{dataset}"),
    wildcard_constraints:
        dataset=datasets_pattern("synthetic"),
    conda:
        "../../envs/analysis.yaml"
    params:
        code=DATA_CODE,
        synthetic=synthetic_params,
    script:
        "../scripts/make_synthetic.py"


rule download_xena:
    output:
        expression=LAYOUT.download("{dataset}", "expression.tsv.gz"),
    log:
        LAYOUT.log("download_xena", "{dataset}"),
    wildcard_constraints:
        dataset=datasets_pattern("xena"),
    retries: 2
    conda:
        "../../envs/analysis.yaml"
    params:
        source=download_params,
    script:
        "../scripts/download.py"


# The sample annotations (cancer type) of a Xena dataset, for scoring latent spaces.
rule download_phenotype:
    output:
        phenotype=LAYOUT.download("{dataset}", "phenotype.tsv"),
    log:
        LAYOUT.log("download_phenotype", "{dataset}"),
    wildcard_constraints:
        dataset=phenotype_downloads_pattern(),
    retries: 2
    conda:
        "../../envs/analysis.yaml"
    params:
        source=phenotype_download_params,
    script:
        "../scripts/download.py"


rule preprocess:
    input:
        unpack(orientation_input),
        expression=preprocess_input,
    output:
        matrix=LAYOUT.data("{dataset}", "{source}", "{variant}/matrix.npy"),
        genes=LAYOUT.data("{dataset}", "{source}", "{variant}/genes.txt"),
        samples=LAYOUT.data("{dataset}", "{source}", "{variant}/samples.txt"),
        summary=LAYOUT.data("{dataset}", "{source}", "{variant}/summary.json"),
    log:
        LAYOUT.log("preprocess", "{dataset}/input-{source}/{variant}"),
    wildcard_constraints:
        source="[0-9a-f]{8}",
    conda:
        "../../envs/analysis.yaml"
    resources:
        **attempt_scaled(mem_mb=8000, minutes=30),
    params:
        code=DATA_CODE,
        read=preprocess_read_params,
        options=preprocess_params,
    script:
        "../scripts/preprocess.py"


# A dataset's sample annotations in one normalised table (sample, label, sample_type, survival,
# clinical), whatever their format: what the latent-space scores read.
rule phenotype:
    input:
        annotations=phenotype_input,
    output:
        phenotype=LAYOUT.data("{dataset}", "{source}", "phenotype.tsv"),
    log:
        LAYOUT.log("phenotype", "{dataset}/input-{source}"),
    wildcard_constraints:
        source="[0-9a-f]{8}",
    conda:
        "../../envs/analysis.yaml"
    params:
        code=DATA_CODE,
        read=phenotype_params,
    script:
        "../scripts/phenotype.py"
