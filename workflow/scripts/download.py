import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from vaebench.data import download

download(snakemake.params.source["url"], snakemake.output.expression,
         snakemake.params.source["sha256"], log=sys.stderr)
