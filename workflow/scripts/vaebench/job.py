"""The frame of every workflow script: its log, and the cause of a failure on the console.

Snakemake's console says only "check log file(s)" when a job fails, and the cause (a bad cell,
named by file, line and sample) sits at the end of a traceback in the log. `logged` sends the
script's output to its log and, if the job fails, prints the one-line cause where the user is
looking (the console; under Slurm, the job's Slurm log, which Snakemake names), the traceback
staying in the log.
"""

from __future__ import annotations

import os
import sys
import traceback
from contextlib import contextmanager

from .slurm import JOB_LINE


@contextmanager
def logged(snakemake):
    """Run the block with stdout and stderr in the job's log; on an exception, write the
    traceback there, the one-line cause to the console, and exit 1 (the job failed). Yields
    `warn(message)`, which writes a warning to both the log and the console."""
    console = sys.stderr
    sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)
    if os.environ.get("SLURM_JOB_ID"):  # how that job ended: vaebench summary asks sacct
        print(JOB_LINE.format(os.environ["SLURM_JOB_ID"]))

    def warn(message: str) -> None:
        for stream in (sys.stdout, console):
            print(f"vaebench: warning: rule {snakemake.rule}: {message}", file=stream,
                  flush=True)

    try:
        yield warn
    except Exception as err:  # noqa: BLE001  (every failure: log it, name it, fail the job)
        traceback.print_exc()
        where = ", ".join(f"{k}={v}" for k, v in snakemake.wildcards.items())
        # Our own errors are written to be read as they are; others need their type.
        cause = str(err) if type(err).__module__.startswith("vaebench") \
            else f"{type(err).__name__}: {err}"
        print(f"vaebench: rule {snakemake.rule} ({where}) failed: {cause}\n"
              f"  (traceback in {snakemake.log[0]})", file=console, flush=True)
        sys.exit(1)
