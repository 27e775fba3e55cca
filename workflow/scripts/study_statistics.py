from vaebench.job import logged

with logged(snakemake):
    from vaebench.analysis import study_statistics

    study_statistics(snakemake.input.runs, snakemake.params.axes, snakemake.wildcards.study,
                     snakemake.output.pairwise, snakemake.output.sensitivity,
                     snakemake.output.divergence, snakemake.output.html)
