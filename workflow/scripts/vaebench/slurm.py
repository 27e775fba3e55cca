"""Why Slurm ended a job, for a run whose job ended without a record.

A bundle that Slurm kills (out of time, out of memory, its node lost, preempted) takes all its
runs down, and Snakemake deletes the outputs of the ones that had finished: their logs remain.
Every job's log begins with the Slurm job that ran it (vaebench.job.logged), and sacct says how
that job ended. No Slurm here (no sacct, or the job unknown to it): nothing is said.
"""

from __future__ import annotations

import re
import shutil
import subprocess

JOB_LINE = "slurm job {}"
_JOB = re.compile(r"^slurm job (\d+(?:_\d+)?)$", re.M)

# sacct's State of a job that ended early: what happened, and what to change.
CAUSES = {
    "TIMEOUT": "out of time: raise cluster.epoch_seconds in the config (the runs' estimate; "
               "their metrics.csv has the real seconds per epoch)",
    "OUT_OF_MEMORY": "out of memory: raise `mem_mb` in the profile",
    "NODE_FAIL": "its node failed: run the same command again",
    "PREEMPTED": "preempted by a job of higher priority: run the same command again (the "
                 "Slurm plugin does not resubmit a preempted job)",
    "CANCELLED": "cancelled (scancel, or Snakemake stopped): run the same command again",
    "BOOT_FAIL": "its node did not boot: run the same command again",
    "DEADLINE": "past its deadline: run the same command again",
}


def job_of_log(path) -> str | None:
    """The Slurm job a job's log names in its first lines, or None (not run under Slurm)."""
    try:
        with open(path) as log:
            head = log.read(4096)
    except OSError:
        return None
    found = _JOB.search(head)
    return found[1] if found else None


def job_states(jobs) -> dict[str, str]:
    """{job id: sacct's State, first word ("CANCELLED by 1000": CANCELLED)} of the Slurm jobs,
    one sacct call; {} where sacct is missing or fails."""
    jobs = sorted(set(jobs))
    if not jobs or shutil.which("sacct") is None:
        return {}
    try:
        out = subprocess.run(["sacct", "-X", "-n", "-P", "-o", "JobID,State", "-j",
                              ",".join(jobs)], capture_output=True, text=True, timeout=60,
                             check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    states = {}
    for line in out.splitlines():
        job, _, state = line.partition("|")
        if state:
            states[job] = state.split()[0]
    return states


def cause(state: str | None) -> str | None:
    """What a State means for the runs of its job, with the fix; None for a job that ended on
    its own (FAILED, COMPLETED: the run's log says why)."""
    return f"Slurm {state}: {CAUSES[state]}" if state in CAUSES else None
