"""The default pipeline from an empty working directory, as `make run` starts it: wall time,
and the CPU of Snakemake's own process against that of its jobs.

Each measurement is `snakemake --cores N -q` on a config (default: config/config.yaml) in a fresh
temporary directory, run in a child Python that reports its getrusage (self: Snakemake's
scheduler; children: the jobs). With `--baseline`, the same again with Snakemake's job rate
limit kept (`--max-jobs-per-timespan 99/1s`; the workflow lifts only the default 100/1s on a
local run, common.smk `local_scheduler_without_rate_limit`), in the same run of this script.

    .venv/bin/python bench/bench_pipeline.py                 # ~6 min on 2 cores
    .venv/bin/python bench/bench_pipeline.py --baseline      # ~13 min: both, for the ratio
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHILD = """
import json, resource, sys, time
from snakemake.cli import main
started = time.perf_counter()
sys.argv = ["snakemake", *{args!r}]
try:
    main()
except SystemExit as done:
    code = done.code
self, jobs = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
print(json.dumps({{"code": code, "wall": time.perf_counter() - started,
                  "snakemake_cpu": self.ru_utime + self.ru_stime,
                  "jobs_cpu": jobs.ru_utime + jobs.ru_stime}}))
"""


def pipeline(configfile: Path, cores: int, *extra: str) -> dict:
    """One run of the whole pipeline in a fresh working directory."""
    with tempfile.TemporaryDirectory() as workdir:
        args = ["--snakefile", str(REPO / "workflow" / "Snakefile"), "--cores", str(cores), "-q",
                *extra, "--directory", workdir, "--configfile", str(configfile)]
        done = subprocess.run([sys.executable, "-c", CHILD.format(args=args)],
                              capture_output=True, text=True, cwd=workdir)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if result["code"]:
            raise SystemExit(f"snakemake failed:\n{done.stderr[-3000:]}")
        log = sorted(Path(workdir, ".snakemake", "log").glob("*.log"))[-1].read_text()
        result["jobs"] = sum(int(n) for n in re.findall(r"^Execute (\d+) jobs", log, re.M))
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--configfile", type=Path, default=REPO / "config" / "config.yaml")
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--baseline", action="store_true",
                   help="also run it with Snakemake's job rate limit (the ratio's baseline)")
    a = p.parse_args()
    runs = {"this workflow": pipeline(a.configfile, a.cores)}
    if a.baseline:
        runs["with Snakemake's job rate limit"] = pipeline(
            a.configfile, a.cores, "--max-jobs-per-timespan", "99/1s")
    print(f"{a.configfile.name}, --cores {a.cores}\n")
    print("| run | jobs | wall s | Snakemake's CPU s | the jobs' CPU s |\n|---|---|---|---|---|")
    for name, r in runs.items():
        print(f"| {name} | {r['jobs']} | {r['wall']:.0f} | {r['snakemake_cpu']:.0f} | "
              f"{r['jobs_cpu']:.0f} |")
    if a.baseline:
        ours, theirs = runs.values()
        print(f"\nwall: {ours['wall']:.0f} / {theirs['wall']:.0f} s = "
              f"**{ours['wall'] / theirs['wall']:.2f}x**")


if __name__ == "__main__":
    main()
