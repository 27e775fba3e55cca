import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from vaebench.analysis import aggregate

aggregate(snakemake.input.metrics, snakemake.input.records, snakemake.params.axes,
          snakemake.output.epochs, snakemake.output.runs, snakemake.output.summary)
