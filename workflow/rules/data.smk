# Raw expression matrices (synthetic or downloaded) and their preprocessed variants.


rule make_synthetic:
    input:
        code=DATA_CODE,
    output:
        expression="resources/{dataset}/expression.tsv.gz",
        phenotype="resources/{dataset}/phenotype.tsv",
    wildcard_constraints:
        dataset=datasets_pattern("synthetic"),
    params:
        synthetic=synthetic_params,
    log:
        "logs/make_synthetic/{dataset}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/make_synthetic.py"


rule download_xena:
    output:
        expression="resources/{dataset}/expression.tsv.gz",
    wildcard_constraints:
        dataset=datasets_pattern("xena"),
    params:
        source=download_params,
    log:
        "logs/download_xena/{dataset}.log",
    retries: 2
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/download.py"


# The sample annotations (cancer type) of a Xena dataset, for scoring latent spaces.
rule download_phenotype:
    output:
        phenotype="resources/{dataset}/phenotype.tsv",
    wildcard_constraints:
        dataset=phenotype_downloads_pattern(),
    params:
        source=phenotype_download_params,
    log:
        "logs/download_phenotype/{dataset}.log",
    retries: 2
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/download.py"


rule preprocess:
    input:
        unpack(orientation_input),
        expression=preprocess_input,
        code=DATA_CODE,
    output:
        matrix="results/data/{dataset}/input-{source}/{variant}/matrix.npy",
        genes="results/data/{dataset}/input-{source}/{variant}/genes.txt",
        samples="results/data/{dataset}/input-{source}/{variant}/samples.txt",
        summary="results/data/{dataset}/input-{source}/{variant}/summary.json",
    wildcard_constraints:
        source="[0-9a-f]{8}",
    params:
        read=preprocess_read_params,
        options=preprocess_params,
    log:
        "logs/preprocess/{dataset}/input-{source}/{variant}.log",
    resources:
        mem_mb=8000,
        runtime=30,
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/preprocess.py"


# A dataset's sample annotations in one normalised table (sample, label, sample_type, survival,
# clinical), whatever their format: what the latent-space scores read.
rule phenotype:
    input:
        annotations=phenotype_input,
        code=DATA_CODE,
    output:
        phenotype="results/data/{dataset}/input-{source}/phenotype.tsv",
    wildcard_constraints:
        source="[0-9a-f]{8}",
    params:
        read=phenotype_params,
    log:
        "logs/phenotype/{dataset}/input-{source}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/phenotype.py"
