from vaebench.job import logged

with logged(snakemake):
    from vaebench.plots import study_figure

    study_figure(snakemake.input.epochs, snakemake.input.runs, snakemake.params.figure,
                 snakemake.wildcards.study, [snakemake.output.png, snakemake.output.pdf])
