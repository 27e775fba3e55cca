# Raw expression matrices (synthetic or downloaded) and their preprocessed variants.


rule make_synthetic:
    output:
        expression="resources/{dataset}/expression.tsv.gz",
        phenotype="resources/{dataset}/phenotype.tsv",
    log:
        "logs/make_synthetic/{dataset}.log",
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
        expression="resources/{dataset}/expression.tsv.gz",
    log:
        "logs/download_xena/{dataset}.log",
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
        phenotype="resources/{dataset}/phenotype.tsv",
    log:
        "logs/download_phenotype/{dataset}.log",
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
        matrix="results/data/{dataset}/input-{source}/{variant}/matrix.npy",
        genes="results/data/{dataset}/input-{source}/{variant}/genes.txt",
        samples="results/data/{dataset}/input-{source}/{variant}/samples.txt",
        summary="results/data/{dataset}/input-{source}/{variant}/summary.json",
    log:
        "logs/preprocess/{dataset}/input-{source}/{variant}.log",
    wildcard_constraints:
        source="[0-9a-f]{8}",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=8000,
        runtime=30,
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
        phenotype="results/data/{dataset}/input-{source}/phenotype.tsv",
    log:
        "logs/phenotype/{dataset}/input-{source}.log",
    wildcard_constraints:
        source="[0-9a-f]{8}",
    conda:
        "../../envs/analysis.yaml"
    params:
        code=DATA_CODE,
        read=phenotype_params,
    script:
        "../scripts/phenotype.py"
