from vaebench.job import logged

with logged(snakemake):
    from vaebench.analysis import aggregate

    aggregate(snakemake.input.metrics, snakemake.input.records, snakemake.params.axes,
              snakemake.output.epochs, snakemake.output.runs, snakemake.output.summary)
