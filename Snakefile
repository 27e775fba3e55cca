# vaebench's entry point at the top level, as the design card names it: plain `snakemake` from
# the repository root reads this file (Snakemake looks for ./Snakefile before
# workflow/Snakefile). The workflow itself is workflow/Snakefile, where the Snakemake workflow
# catalog looks for it; its rules, scripts and report resolve their paths from their own files.


include: "workflow/Snakefile"


localrules:
    default,


# `include` keeps the including file's default target, and this file has none of its own: the
# workflow's `all`, under a name of this file.
rule default:
    default_target: True
    input:
        rules.all.input,
