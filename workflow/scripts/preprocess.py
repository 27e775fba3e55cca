from vaebench.job import logged

with logged(snakemake) as warn:
    from vaebench.data import check_orientation, preprocess, read_expression, save_preprocessed

    read = dict(snakemake.params.read)
    if "annotations" in snakemake.input.keys():
        check_orientation(snakemake.input.expression, read["samples_as"],
                          snakemake.input.annotations, read["sample_column"],
                          f"datasets.{snakemake.wildcards.dataset}.table.samples_as")
    source = (f"{snakemake.input.expression} (preprocessing variant "
              f"{snakemake.wildcards.variant!r} of dataset {snakemake.wildcards.dataset!r})")
    expr = read_expression(snakemake.input.expression, read["format"], layer=read["layer"],
                           samples_as=read["samples_as"],
                           annotation_columns=read["annotation_columns"])
    prep = preprocess(expr, **snakemake.params.options, source=source)
    for warning in prep.summary.get("warnings", []):
        warn(warning)
    save_preprocessed(prep, snakemake.output.matrix, snakemake.output.genes,
                      snakemake.output.samples, snakemake.output.summary)
    print(f"{prep.x.shape[0]} samples x {prep.x.shape[1]} genes")
