from vaebench.job import logged

with logged(snakemake):
    from vaebench.data import write_atomic
    from vaebench.front import front_page

    claims = snakemake.input.get("claims")
    write_atomic(snakemake.output[0], front_page(snakemake.params.title, snakemake.params.studies,
                                                 claims, snakemake.output[0]))
