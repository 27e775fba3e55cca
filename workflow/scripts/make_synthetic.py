import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from vaebench.data import write_synthetic

spec = snakemake.params.synthetic
write_synthetic(snakemake.output.expression, snakemake.output.phenotype,
                spec["samples"], spec["genes"], spec["seed"])
