"""Checksums of the package's own code: the workflow's `params.code` of each rule (editing a
module reruns the jobs that import it) and every run's record (run.json `code_sha256`), the
same value, so that a run can be traced to the code that trained it. No torch."""

from __future__ import annotations

import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# What a training job imports of the package (workflow/scripts/train.py and vaebench.train).
TRAINING = ("config.py", "gpu.py", "inits.py", "job.py", "optim.py", "private_torch.py", "slots.py",
            "slurm.py", "train.py", "data/*.py", "models/*.py")


def modules(patterns) -> list[Path]:
    """The package's files matching `patterns`, in a fixed order."""
    return [path for pattern in patterns for path in sorted(PACKAGE.glob(pattern))]


def checksum(paths) -> str:
    """The first 16 hex digits of the sha256 of the files' text, in order."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]
