from vaebench.job import logged

with logged(snakemake):
    from vaebench.data import preprocess, read_xena, save_preprocessed

    source = (f"{snakemake.input.expression} (preprocessing variant "
              f"{snakemake.wildcards.variant!r} of dataset {snakemake.wildcards.dataset!r})")
    prep = preprocess(read_xena(snakemake.input.expression), **snakemake.params.options,
                      source=source)
    save_preprocessed(prep, snakemake.output.matrix, snakemake.output.genes,
                      snakemake.output.samples, snakemake.output.summary)
    print(f"{prep.x.shape[0]} samples x {prep.x.shape[1]} genes")
