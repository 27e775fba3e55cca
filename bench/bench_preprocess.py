"""Benchmark: read a full-size Xena expression file and preprocess it (top 5,000 genes).

Target (issue "core package"): read_xena + preprocess(top_k=5000) on the real file's shape
(20,531 genes x 11,069 samples, gzip) in under 120 s and 6 GB peak RSS on a 2-core machine.

The input is a synthetic file of that shape (vaebench.data.write_synthetic), generated once and
cached in --workdir. Each repetition runs in a fresh Python process, so its peak RSS (ru_maxrss)
is that run's own, imports included. Prints one row per run and the median, as Markdown.

    python bench/bench_preprocess.py                          # full size, 3 runs
    python bench/bench_preprocess.py --genes 2000 --samples 1000   # quick check
    python bench/bench_preprocess.py --formats xena h5ad table     # the readers, vs Xena's

With several --formats, the same data is written in each (h5ad: dense X; table: a gzip TSV with
samples as rows, the annotations as its leading columns) and each is read and preprocessed in
turn, in fresh processes; the summary gives each format's median time as a ratio to Xena's.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_SECONDS = 120.0
TARGET_GB = 6.0


FORMATS = {  # format -> (file suffix, read_expression keyword arguments)
    "xena": (".tsv.gz", {}),
    "h5ad": (".h5ad", {"format": "h5ad"}),
    "table": ("_rows.tsv.gz", {"format": "table", "samples_as": "rows"}),
}


def measure(path: str, fmt: str, top_k: int) -> dict:
    """One run, inside the child process: time read and preprocess, report peak RSS."""
    from vaebench.data import annotation_columns, preprocess, read_expression

    options = dict(FORMATS[fmt][1])
    if fmt == "table":
        options["annotation_columns"] = annotation_columns(None)
    start = time.perf_counter()
    expr = read_expression(path, **options)
    read_done = time.perf_counter()
    preprocess(expr, top_k)
    done = time.perf_counter()
    return {"read_s": read_done - start, "preprocess_s": done - read_done,
            "total_s": done - start,
            # ru_maxrss is in KiB on Linux
            "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9}


def input_file(workdir: Path, fmt: str, n_genes: int, n_samples: int, seed: int) -> Path:
    """The cached synthetic file; written (atomically, so never half) on first use."""
    from vaebench.data import write_synthetic

    path = workdir / f"synthetic_{n_genes}x{n_samples}_seed{seed}{FORMATS[fmt][0]}"
    if not path.exists():
        print(f"generating {path} (once) ...", flush=True)
        start = time.perf_counter()
        phenotype = path.with_name(path.name.split(".")[0] + ".phenotype.tsv")
        write_synthetic(path, phenotype if fmt == "xena" else None, n_samples, n_genes, seed,
                        format=fmt, samples_as="rows")
        print(f"  done in {time.perf_counter() - start:.0f} s", flush=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/vaebench-bench"))
    parser.add_argument("--genes", type=int, default=20531)
    parser.add_argument("--samples", type=int, default=11069)
    parser.add_argument("--top-k", type=int,
                        help="default 5000, scaled down with --genes (the real file's ratio)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--formats", nargs="+", default=["xena"], choices=list(FORMATS))
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: measure this file once
    args = parser.parse_args()

    if args.child:
        print(json.dumps(measure(args.child, args.formats[0], args.top_k)))
        return

    top_k = args.top_k or max(1, round(5000 * args.genes / 20531))
    medians = {fmt: bench_format(args, fmt, top_k) for fmt in args.formats}
    if len(medians) > 1 and "xena" in medians:
        print("\n| format | total (s) | vs xena | peak RSS (GB) |\n|---|---|---|---|")
        for fmt, (seconds, peak) in medians.items():
            print(f"| {fmt} | {seconds:.1f} | {seconds / medians['xena'][0]:.2f}x | {peak:.2f} |")


def bench_format(args, fmt: str, top_k: int) -> tuple[float, float]:
    """Repeats of one format in fresh processes; prints the table; (median s, median GB)."""
    path = input_file(args.workdir, fmt, args.genes, args.samples, args.seed)
    size_mb = path.stat().st_size / 1e6
    print(f"\ninput: {path} ({args.genes} genes x {args.samples} samples, {size_mb:.0f} MB); "
          f"top_k={top_k}; {platform.python_version()} on {platform.machine()}\n")
    print("| run | read (s) | preprocess (s) | total (s) | peak RSS (GB) |")
    print("|---|---|---|---|---|")
    runs = []
    for i in range(1, args.repeats + 1):
        out = subprocess.run([sys.executable, __file__, "--child", str(path), "--formats", fmt,
                              "--top-k", str(top_k)],
                             check=True, stdout=subprocess.PIPE, text=True).stdout
        run = json.loads(out.strip().splitlines()[-1])
        runs.append(run)
        print(f"| {i} | {run['read_s']:.1f} | {run['preprocess_s']:.1f} | {run['total_s']:.1f} "
              f"| {run['peak_gb']:.2f} |", flush=True)
    seconds = statistics.median(r["total_s"] for r in runs)
    peak = statistics.median(r["peak_gb"] for r in runs)
    print(f"| **median** | {statistics.median(r['read_s'] for r in runs):.1f} "
          f"| {statistics.median(r['preprocess_s'] for r in runs):.1f} | **{seconds:.1f}** "
          f"| **{peak:.2f}** |")
    print(f"\ntime: {seconds:.1f} s of {TARGET_SECONDS:.0f} s target (ratio "
          f"{seconds / TARGET_SECONDS:.2f})\npeak RSS: {peak:.2f} GB of {TARGET_GB:.0f} GB target "
          f"(ratio {peak / TARGET_GB:.2f})")
    return seconds, peak


if __name__ == "__main__":
    main()
