"""`vaebench synth | preprocess | train | aggregate | plot`: the workflow's steps, by hand;
`vaebench summary`: a finished (or half-finished, or running) workflow's result on one screen;
`vaebench recover`: a working directory fit to run again after Snakemake itself was killed;
`vaebench claims`: which study each claim is tested on, and the seeds it needs to decide;
`vaebench verdicts`: any claims file tested on any runs table, as the claims job does.

A preprocessed dataset is a folder of matrix.npy, genes.txt, samples.txt and summary.json (what
`preprocess` writes and the workflow's preprocess rule produces); `train` writes the same
metrics.csv and run.json as the workflow's train rule; `aggregate` turns a folder of runs into
the tables of the aggregate and statistics rules, `plot` draws a study figure from them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .config import ConfigError, RunConfig, load_yaml
from .data import DataError
from .workdir import controller_elsewhere, incomplete_markers, live_snakemake_pids, snakemake_locks

PREPROCESSED_FILES = ("matrix.npy", "genes.txt", "samples.txt", "summary.json")


def preprocessed_paths(folder) -> list[Path]:
    return [Path(folder) / name for name in PREPROCESSED_FILES]


def _synth(args) -> None:
    from .data import write_synthetic

    if args.format == "h5ad" and args.phenotype:
        raise DataError("synth --format h5ad: the phenotype goes into the file's obs; leave out "
                        "--phenotype")
    if args.format == "xena" and not args.phenotype:
        raise DataError("synth --format xena: give --phenotype (the annotations' TSV)")
    write_synthetic(args.expr, args.phenotype, args.samples, args.genes, args.seed,
                    format=args.format, samples_as=args.samples_as, sparse=args.sparse,
                    counts=args.counts)


def _preprocess(args) -> None:
    from .data import annotation_columns, preprocess, read_expression, save_preprocessed

    expr = read_expression(args.input, args.format, layer=args.layer, samples_as=args.samples_as,
                           annotation_columns=annotation_columns(None))
    prep = preprocess(expr, args.top_k, transform=args.transform, na_policy=args.na_policy,
                      duplicates=args.duplicates, variability=args.variability,
                      scaling=args.scaling, scale_fit=args.scale_fit, normals=args.normals,
                      source=args.input)
    for warning in prep.summary.get("warnings", []):
        print(f"vaebench: warning: {warning}", file=sys.stderr)
    Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    save_preprocessed(prep, *preprocessed_paths(args.out_dir))
    print(f"{prep.x.shape[0]} samples x {prep.x.shape[1]} genes -> {args.out_dir}")


def _train(args) -> None:
    from .data import load_preprocessed
    from .train import EpochReport, run

    source = str(args.config)
    values = load_yaml(args.config, "run config file") or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: expected a mapping of run settings, found "
                          f"{type(values).__name__}")
    cfg = RunConfig.from_dict(values, source=source)
    out = Path(args.out_dir)
    # A terminal gets one line redrawn in place; a file or pipe a line per epoch.
    in_terminal = sys.stderr.isatty()
    progress = EpochReport(cfg.epochs, sys.stderr if in_terminal else sys.stdout,
                           bar=in_terminal, early_stopping=cfg.early_stopping)
    record = run(cfg, load_preprocessed(*preprocessed_paths(args.data)),
                 out / "metrics.csv", out / "run.json", out / "latent.npy", progress)
    progress.close()
    print(f"{record['status']}: {record['stop_reason']}; best validation loss "
          f"{record['best_val_loss']} at epoch {record['best_epoch']} -> {out}")


def _aggregate(args) -> None:
    from .analysis import aggregate, study_statistics

    records = sorted(Path(args.runs).rglob("run.json"))
    if not records:
        raise ConfigError(f"no run.json below {args.runs}")
    axes = list(json.loads(records[0].read_text())["config"]["axes"])
    out = Path(args.out_dir)
    aggregate([r.with_name("metrics.csv") for r in records], records, axes,
              out / "epochs.csv", out / "runs.csv", out / "summary.csv")
    study_statistics(out / "runs.csv", axes, args.study or Path(args.runs).parent.name,
                     out / "pairwise.csv", out / "sensitivity.csv", out / "divergence.csv",
                     out / "statistics.html")
    print(f"{len(records)} runs (axes: {', '.join(axes)}) -> {out}")


def _plot(args) -> None:
    from .plots import study_figure

    tables = Path(args.tables)
    figure = {"kind": args.kind, "hue": args.hue, "x": args.x, "y": args.y, "col": args.col}
    study_figure(tables / "epochs.csv", tables / "runs.csv", figure,
                 args.study or tables.parent.name, args.out)


def workflow_config(configfile) -> dict:
    """A workflow config as the Snakefile reads it: with its results folder filled in from
    the file's name where it names none (vaebench.plan.results_of)."""
    from .plan import results_of

    config = load_yaml(configfile)
    config.setdefault("results", results_of(configfile))
    return config


def _summary(args) -> None:
    from .plan import Layout
    from .summary import summary

    configfile = Path(args.configfile)
    if not configfile.is_file():
        raise ConfigError(f"config file not found: {configfile} (give the one the workflow ran "
                          "with: --configfile)")
    config = workflow_config(configfile)
    results = Path(args.results or Layout.of(config).results)
    if not results.is_dir():
        raise ConfigError(f"no results folder {results} (run the workflow first, or name the "
                          "folder: vaebench summary path/to/results)")
    print(f"{results} ({configfile}):\n")
    print(summary(config, results, args.logs, args.top, args.full), end="")


def _claims(args) -> None:
    from .claims.verdicts import power_rows
    from .plan import Plan

    config = workflow_config(args.configfile)
    plan = Plan.of(config)
    papers, matches = plan.papers, plan.matches
    designs, axes = {}, {}
    for name, spec in config["studies"].items():
        runs = plan.runs[name].values()
        axes[name] = list(spec["grid"])
        designs[name] = [{a: r[a] for a in axes[name]} | {"model": r.get("model",
                                                                           RunConfig.model)}
                         for r in runs]
    power = {(r["paper"], r["claim_id"], r["study"]): r
             for r in power_rows(papers, matches, designs, axes)}
    claims = {(c["paper"], c["id"]): c for p in papers for c in p["claims"]}
    for paper in papers:
        print(f"{paper['paper']}: {paper['title']}")
        for match in (m for m in matches if m["paper"] == paper["paper"]):
            where = match["study"] or f"not run ({match['reason']})"
            if match["reference"]:
                where += f" (against {match['reference']})"
            claim = claims[(paper["paper"], match["claim"])]["claim"]
            print(f"  {match['claim']:<4} {where}: {claim}")
            row = power.get((paper["paper"], match["claim"], match["study"]))
            if row:
                print(f"       {_power_line(row)}")


def _power_line(row: dict) -> str:
    """What a claim's design allows: its parts and their n, the smallest p after Holm, and
    the seeds that bring it below 0.05."""
    parts = f"{row['parts']} part{'s' if row['parts'] != 1 else ''}, n {row['n']}"
    if row["floor_holm"] != row["floor_holm"]:  # NaN: a part has too few values to test
        head = f"{parts}: a part cannot be tested"
    else:
        floor = row["floor_holm"]
        head = (f"{parts}; smallest p after Holm ({row['family']} claim(s)) "
                + (f"{floor:.2g}" if floor >= 1e-16 else "< 1e-16"))
    if row["seeds"] is None:
        return f"{head}; cannot decide with up to 64 seeds"
    verb = "can decide" if row["seeds"] <= row["seeds_now"] else "cannot decide"
    line = f"{head}; {verb}: needs {row['seeds']} seed(s), has {row['seeds_now']}"
    if row["power_seeds"]:
        line += f"; {row['power_seeds']} for 80% power at rho 0"
    return line


def _verdicts(args) -> None:
    from .claims.report import claim_lines, verdicts_on_table
    from .claims.runs import read_runs_table
    from .claims.spec import load_claims

    papers = [load_claims(path) for path in args.claims]
    table = read_runs_table(args.runs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    claims = verdicts_on_table(papers, table, args.study, out / "claims.csv",
                               out / "claim_parts.csv")
    counts = claims["verdict"].value_counts()
    print(f"{args.runs} as study {args.study}: " + ", ".join(
        f"{n} {v}" for v, n in counts.items()) + f" (details: {out / 'claims.csv'})")
    print("\n".join(claim_lines(claims, width=100)))


def _recover(args) -> None:
    directory = Path(args.directory).resolve()
    locks = snakemake_locks(directory)
    if not locks:
        return
    elsewhere = controller_elsewhere(directory)
    if elsewhere and not args.force:
        raise ConfigError(f"{directory} is locked by a Snakemake started on host "
                          f"{elsewhere['host']} (pid {elsewhere.get('pid')}, "
                          f"{elsewhere.get('started')}), which this host cannot see: run "
                          f"`vaebench recover` there, or, if that Snakemake is surely gone "
                          "(and none of its Slurm jobs runs: squeue --me), `vaebench recover "
                          "--force` here")
    if not Path("/proc/self").exists():
        raise ConfigError(f"{directory} has a Snakemake lock, and without /proc this machine "
                          "cannot tell whether its Snakemake still runs; if none does, run "
                          "`snakemake --unlock` there")
    pids = live_snakemake_pids(directory)
    if pids:
        raise ConfigError(f"Snakemake (or a job of it) is still running in {directory} (pid "
                          f"{', '.join(map(str, pids))}): let it finish, or stop it (Ctrl-C, "
                          "or kill) and run this again")
    for lock in locks:
        lock.unlink(missing_ok=True)
    print(f"removed the lock a killed Snakemake left in {directory}; run with "
          "--rerun-incomplete to redo the jobs it left half-done")
    configfile = directory / args.configfile
    if configfile.is_file():
        for line in _cut_off_runs(workflow_config(configfile), incomplete_markers(directory)):
            print(line)


def _cut_off_runs(config: dict, markers: dict) -> list[str]:
    """Per study, the runs whose training a killed Snakemake cut off (their run.json marked
    incomplete), by the plan's layout: what --rerun-incomplete will train again."""
    from .plan import Plan

    plan = Plan.of(config, claims=False)
    lines = []
    for study, runs in plan.runs.items():
        cut = [run for run in runs if plan.layout.run(study, run, "run.json") in markers]
        if cut:
            lines.append(f"  {study}: {len(cut)} run(s) cut off: {', '.join(cut)}")
    return lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vaebench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="write a synthetic dataset in one of the input formats")
    p.add_argument("--expr", required=True,
                   help="output expression file (.tsv.gz for xena; .h5ad; .csv/.tsv[.gz])")
    p.add_argument("--phenotype", help="output annotations table (xena: needed; table: "
                   "without it, the annotations become columns of a samples-as-rows table)")
    p.add_argument("--format", default="xena", choices=["xena", "h5ad", "table"])
    p.add_argument("--samples-as", default="rows", choices=["rows", "columns"],
                   help="table: one row per sample, or one column per sample")
    p.add_argument("--sparse", action="store_true", help="h5ad: X as a sparse CSR matrix")
    p.add_argument("--counts", action="store_true",
                   help="raw counts (2^x - 1, rounded) instead of log2(x + 1) values")
    p.add_argument("--samples", type=int, default=600)
    p.add_argument("--genes", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_synth)

    p = sub.add_parser("preprocess", help="top-k variable genes, scaled, samples x genes")
    p.add_argument("--input", required=True, help="expression file (see --format)")
    p.add_argument("--format", default="xena", choices=["xena", "h5ad", "table"],
                   help="xena: genes x samples TSV; h5ad: AnnData; table: CSV/TSV")
    p.add_argument("--layer", help="h5ad: read this layer instead of X")
    p.add_argument("--samples-as", default="columns", choices=["rows", "columns"],
                   help="table: samples are rows or columns (TCGA-CDR annotation columns of a "
                   "samples-as-rows table are left out)")
    p.add_argument("--transform", default="none", choices=["none", "log2p1"],
                   help="log2p1: the values are counts, take log2(x + 1) first")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--top-k", type=int, default=5000)
    p.add_argument("--na-policy", default="drop_genes",
                   choices=["drop_genes", "fill_zero", "omit_then_zero"])
    p.add_argument("--normals", default="keep", choices=["keep", "drop"])
    p.add_argument("--duplicates", default="drop", choices=["drop", "first", "mean"])
    p.add_argument("--variability", default="mean_ad", choices=["mean_ad", "median_ad"])
    p.add_argument("--scaling", default="minmax", choices=["minmax", "zscore", "none"])
    p.add_argument("--scale-fit", default="all", choices=["all", "train"])
    p.set_defaults(func=_preprocess)

    p = sub.add_parser("train", help="train one run from a YAML run config")
    p.add_argument("--config", required=True,
                   help="YAML mapping of RunConfig keys (model, init, seed, lr, ...)")
    p.add_argument("--data", required=True, help="a preprocessed folder (see above)")
    p.add_argument("--out-dir", required=True,
                   help="gets metrics.csv and run.json (and latent.npy, latent_untrained.npy with "
                   "save_latent: true)")
    p.set_defaults(func=_train)

    p = sub.add_parser("aggregate", help="tables of a study from a folder of runs")
    p.add_argument("--runs", required=True, help="folder searched for run.json + metrics.csv")
    p.add_argument("--out-dir", required=True, help="gets epochs, runs, summary, statistics")
    p.add_argument("--study", help="name in titles (default: the runs folder's parent)")
    p.set_defaults(func=_aggregate)

    p = sub.add_parser("plot", help="a study figure from aggregated tables")
    p.add_argument("--tables", required=True, help="folder with epochs.csv and runs.csv")
    p.add_argument("--out", required=True, nargs="+", help="figure files (.png, .pdf, ...)")
    p.add_argument("--kind", default="curves", choices=["curves", "dots"])
    p.add_argument("--hue", default="init", help="curves: the axis drawn as separate lines")
    p.add_argument("--x", default="latent", help="dots: x axis")
    p.add_argument("--y", default="lr", help="dots: y axis")
    p.add_argument("--col", default="optimizer", help="dots: one panel per value")
    p.add_argument("--study", help="name in titles (default: the tables folder's parent)")
    p.set_defaults(func=_plot)

    p = sub.add_parser("summary", help="per study: runs ok / diverged / failed / running / "
                       "missing, and the best and worst conditions")
    p.add_argument("results", nargs="?",
                   help="the workflow's results folder (default: the config's `results`)")
    p.add_argument("--configfile", default="config/config.yaml",
                   help="the config the workflow ran with (default: config/config.yaml)")
    p.add_argument("--logs", help="the workflow's logs folder (default: where the config's "
                   "layout keeps them: logs/ beside results/, or inside a folder of its own)")
    p.add_argument("--full", action="store_true",
                   help="every study's best and worst conditions, and a line per claim")
    p.add_argument("--top", type=int, default=1,
                   help="with --full: best and worst conditions shown (per model in a study of "
                        "several)")
    p.set_defaults(func=_summary)

    p = sub.add_parser("claims", help="the papers' claims (config/claims): the study of a "
                       "config each is tested on, or why it is not run, and the seeds it "
                       "needs to decide")
    p.add_argument("--configfile", default="config/config.yaml",
                   help="the workflow config (default: config/config.yaml)")
    p.set_defaults(func=_claims)

    p = sub.add_parser("verdicts", help="test a claims file on a runs table of your own (in "
                       "runs.csv's columns: axes, seed, status, metrics)")
    p.add_argument("--runs", required=True, help="the runs table (CSV)")
    p.add_argument("--claims", required=True, nargs="+",
                   help="claim file(s), as config/claims/*.yaml")
    p.add_argument("--study", default="runs", help="the study's name in the output")
    p.add_argument("--out", default="verdicts",
                   help="folder for claims.csv and claim_parts.csv (default: verdicts)")
    p.set_defaults(func=_verdicts)

    p = sub.add_parser("recover", help="after Snakemake was killed: remove its stale lock")
    p.add_argument("--directory", default=".", help="Snakemake's working directory")
    p.add_argument("--configfile", default="config/config.yaml",
                   help="the config Snakemake ran, relative to the directory: the runs it cut "
                        "off are named (default: config/config.yaml, where there is one)")
    p.add_argument("--force", action="store_true",
                   help="remove a lock that a Snakemake on another host took (only once it "
                        "is surely gone: this host cannot see it)")
    p.set_defaults(func=_recover)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (ConfigError, DataError, OSError) as err:
        print(f"vaebench {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
