from vaebench.job import logged

with logged(snakemake):
    from vaebench.claims.report import write_claims
    from vaebench.claims.runs import claim_table

    specs = snakemake.params.tables
    tables = {s: claim_table(spec["runs"], spec["latent"], spec["model"])
              for s, spec in specs.items()}
    write_claims(snakemake.params.papers, snakemake.params.matches, tables,
                 {s: spec["axes"] for s, spec in specs.items()},
                 {s: spec["figures"] for s, spec in specs.items()},
                 snakemake.output.claims, snakemake.output.parts, snakemake.output.html,
                 dict(zip(snakemake.params.studies, snakemake.output.per_study)))
