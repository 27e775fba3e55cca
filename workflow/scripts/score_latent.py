from vaebench.job import logged

with logged(snakemake):
    from vaebench.analysis import run_scores

    run_scores(snakemake.input.latent, snakemake.input.samples, snakemake.input.phenotype,
               snakemake.output.scores, snakemake.output.neighbours,
               source=snakemake.params.annotations,
               shared=snakemake.input.get("untrained_scores"))
