from vaebench.job import logged

with logged(snakemake):
    from vaebench.data import check_scorable_label, read_phenotype, resolve_columns, write_phenotype

    spec = snakemake.params.read
    phenotype = read_phenotype(snakemake.input.annotations, spec["format"], spec["columns"],
                               where=spec["where"])
    # this table exists for studies that score latent spaces: say now if its label cannot be
    check_scorable_label(phenotype, snakemake.input.annotations,
                         resolve_columns(spec["columns"])[0]["label"], spec["where"])
    write_phenotype(phenotype, snakemake.output.phenotype)
    print(f"{len(phenotype)} samples, {phenotype['label'].nunique()} labels; columns: "
          f"{', '.join(phenotype.columns)}")
