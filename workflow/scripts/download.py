import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from vaebench.data import download

# download_xena (expression) and download_phenotype: one output each.
download(snakemake.params.source["url"], snakemake.output[0],
         snakemake.params.source["sha256"], log=sys.stderr)
