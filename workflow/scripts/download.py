import sys

from vaebench.job import logged

with logged(snakemake):
    from vaebench.data import download

    # download_xena (expression) and download_phenotype: one output each.
    download(snakemake.params.source["url"], snakemake.output[0],
             snakemake.params.source["sha256"], log=sys.stderr)
