# vaebench: sensitivity of VAEs to initialisation and hyperparameters on gene expression.
#
#   snakemake --cores 2                                   the default config (synthetic data)
#   snakemake --configfile config/paper.yaml --profile profiles/slurm     the papers on TCGA
#
# Outputs: resources/<dataset>/ (raw data), results/data/<dataset>/<variant>/ (preprocessed),
# results/<study>/runs/<axis>=<value>/.../ (one run), results/<study>/tables/ and figures/.

from snakemake.utils import min_version

min_version("9.0")


# The default config is read only when no --configfile is given: Snakemake would otherwise merge
# the two key by key, and the default studies would leak into the user's config.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/statistics.smk"


# Downloads need the internet; aggregation, statistics and figures take seconds: all stay on the
# login node.
localrules:
    all,
    download_xena,
    download_phenotype,
    make_synthetic,
    aggregate,
    figures,
    statistics,
    latent_scores,
    embedding,


wildcard_constraints:
    dataset="[A-Za-z0-9_-]+",
    variant="[A-Za-z0-9_-]+",
    study="[A-Za-z0-9_-]+",


rule all:
    input:
        all_outputs(),
    default_target: True
