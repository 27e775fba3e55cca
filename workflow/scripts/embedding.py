from vaebench.job import logged

with logged(snakemake):
    from vaebench.plots import embedding_figure

    embedding_figure(snakemake.input.runs, list(snakemake.input.latents),
                     snakemake.input.samples, snakemake.input.phenotype,
                     snakemake.wildcards.study, [snakemake.output.png, snakemake.output.pdf],
                     source=snakemake.params.annotations, label=snakemake.params.label)
