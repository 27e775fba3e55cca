from vaebench.job import logged

with logged(snakemake):
    from vaebench.analysis import latent_scores

    latent_scores(snakemake.input.runs, list(snakemake.input.scores), snakemake.input.samples,
                  snakemake.input.baselines, snakemake.input.baselines_clinical,
                  snakemake.params.axes, snakemake.wildcards.study, snakemake.output.table,
                  snakemake.output.pairwise, snakemake.output.stability,
                  snakemake.output.clinical, snakemake.output.loss, snakemake.output.html,
                  source=snakemake.params.annotations)
