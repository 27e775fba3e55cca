from vaebench.job import logged

with logged(snakemake):
    from vaebench.data import write_synthetic

    spec = snakemake.params.synthetic
    write_synthetic(snakemake.output.expression, snakemake.output.phenotype,
                    spec["samples"], spec["genes"], spec["seed"])
