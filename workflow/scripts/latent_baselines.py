from vaebench.job import logged

with logged(snakemake):
    from vaebench.analysis import study_baselines

    study_baselines(snakemake.input.matrix, snakemake.input.samples, snakemake.input.phenotype,
                    list(snakemake.input.latents), snakemake.output.baselines,
                    snakemake.output.clinical, source=snakemake.params.annotations)
