from vaebench.job import logged

with logged(snakemake):
    from vaebench.data import read_phenotype, write_phenotype

    spec = snakemake.params.read
    phenotype = read_phenotype(snakemake.input.annotations, spec["format"], spec["columns"],
                               where=spec["where"])
    write_phenotype(phenotype, snakemake.output.phenotype)
    print(f"{len(phenotype)} samples, {phenotype['label'].nunique()} labels; columns: "
          f"{', '.join(phenotype.columns)}")
