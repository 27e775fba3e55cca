import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from vaebench.plots import study_figure

study_figure(snakemake.input.epochs, snakemake.input.runs, snakemake.params.figure,
             snakemake.wildcards.study, [snakemake.output.png, snakemake.output.pdf])
