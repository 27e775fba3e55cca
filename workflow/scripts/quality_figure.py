from vaebench.job import logged

with logged(snakemake):
    from vaebench.plots import quality_figure

    quality_figure(snakemake.input.latent, snakemake.input.runs, snakemake.params.axes,
                   snakemake.wildcards.study, [snakemake.output.png, snakemake.output.pdf],
                   label=snakemake.params.label)
