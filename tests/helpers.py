"""Running the real workflow from tests: Snakemake in a subprocess, dry-run job counts, configs."""

import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "tests" / "data" / "tiny.yaml"
# Where the Snakemake workflow catalog looks, and where `snakemake` in the repository finds it.
SNAKEFILE = REPO / "workflow" / "Snakefile"


def snakemake(*args, cwd=REPO, check=True, **run_options):
    """`snakemake *args` on this repository's Snakefile; its stdout and stderr are the console
    a user sees. `run_options` go to subprocess.run (env, preexec_fn, ...)."""
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE), *args]
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900,
                          **run_options)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def planned_jobs(workdir, configfile, *targets) -> dict[str, int]:
    """{rule: count} of what a dry-run for `targets` (none: the default) would run; {} when
    there is nothing to do."""
    # targets first: --configfile takes every value after it
    done = snakemake("-n", *targets, "--directory", str(workdir), "--configfile",
                     str(configfile))
    return job_counts(done.stdout + done.stderr)


def job_counts(console: str) -> dict[str, int]:
    """{rule: count} from the "Job stats" table Snakemake prints."""
    stats = console.split("Job stats:")[1].split("\n\n")[0] if "Job stats:" in console else ""
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M)
            if m[1] != "total"}


def write_config(path, cfg):
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path
