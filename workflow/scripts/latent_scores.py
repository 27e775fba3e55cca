import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from vaebench.analysis import latent_scores

latent_scores(snakemake.input.runs, list(snakemake.input.latents), snakemake.input.samples,
              snakemake.input.phenotype, snakemake.params.axes, snakemake.wildcards.study,
              snakemake.output.table, snakemake.output.pairwise, snakemake.output.html)
