"""Cluster jobs: the bundles the two big configs plan (how many, how many runs, how long), and
the controller's load on a login node: CPU seconds and peak memory of Snakemake planning
config/eltager2023.yaml (6,480 runs) through profiles/slurm, as at every start (a dry-run in an
empty working directory: every job to do). A commit (HEAD by default) against a baseline commit
in the same run, each from a git worktree of its own, alternating; medians of --repeats.

    .venv/bin/python bench/bench_controller.py --baseline 845343d   # ~10 min on 2 cores
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = "config/eltager2023.yaml"
sys.path.insert(0, str(REPO / "workflow" / "scripts"))
from vaebench.config import load_yaml  # noqa: E402  (path above)
from vaebench.plan import Plan  # noqa: E402  (path above)


def print_bundles() -> None:
    """The bundles of config/paper.yaml and config/eltager2023.yaml, from the plan."""
    print("| config | runs | bundles (Slurm jobs) | runs per bundle | minutes per bundle "
          "| max_job_minutes |")
    print("|---|---|---|---|---|---|")
    for name in ("config/paper.yaml", CONFIG):
        config = load_yaml(REPO / name)
        plan = Plan.of(config, claims=False)
        packed = [b for study in plan.bundles.values() for b in study]
        sizes = sorted(len(b.runs) for b in packed)
        minutes = sorted(b.minutes for b in packed)
        maximum = config.get("cluster", {}).get("max_job_minutes", 1380)
        print(f"| {name} | {sum(sizes):,} | {len(packed)} | {sizes[0]}-{sizes[-1]} "
              f"| {minutes[0]}-{minutes[-1]} | {maximum} |")
    print()


def plan(checkout: Path) -> tuple[float, float, int, int]:
    """(CPU seconds, wall seconds, peak RSS in MB, group jobs) of one dry-run from
    `checkout`."""
    with tempfile.TemporaryDirectory() as workdir:
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%U %S %e %M", sys.executable, "-m", "snakemake", "-n",
             "--snakefile", str(checkout / "workflow/Snakefile"),
             "--profile", str(checkout / "profiles/slurm"),
             "--configfile", str(checkout / CONFIG)],
            cwd=workdir, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"the dry-run from {checkout} failed:\n{done.stderr[-3000:]}")
        user, system, wall, rss_kb = done.stderr.strip().splitlines()[-1].split()
        groups = done.stdout.count("Group job ")
    return float(user) + float(system), float(wall), int(rss_kb) // 1024, groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, help="the commit to compare with")
    parser.add_argument("--commit", default="HEAD", help="the commit measured")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print_bundles()
    commits = {"baseline": args.baseline, "measured": args.commit}
    results: dict[str, list] = {name: [] for name in commits}
    with tempfile.TemporaryDirectory() as tmp:
        for name, commit in commits.items():
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach",
                            str(Path(tmp) / name), commit], check=True, capture_output=True)
        try:
            for _ in range(args.repeats):
                for name in commits:
                    results[name].append(plan(Path(tmp) / name))
        finally:
            for name in commits:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                                str(Path(tmp) / name)], check=False)
    print(f"| {CONFIG} through profiles/slurm | CPU (s) | wall (s) | peak RSS (MB) "
          "| group jobs |")
    print("|---|---|---|---|---|")
    medians = {}
    for name, rows in results.items():
        medians[name] = [statistics.median(column) for column in zip(*rows)]
        cpu, wall, rss, groups = medians[name]
        print(f"| {name} ({commits[name]}) | {cpu:.1f} | {wall:.1f} | {rss:.0f} | {groups:.0f} |")
    ratio = medians["measured"][0] / medians["baseline"][0]
    print(f"\nCPU: measured / baseline = {ratio:.2f}x (medians of {args.repeats})")


if __name__ == "__main__":
    main()
