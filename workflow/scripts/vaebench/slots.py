"""Which GPU a training job uses, when K runs share each of G GPUs. No torch here.

Snakemake hands out amounts of a resource, not device ids: each training job takes one `gpu`
and a limit of G x K (`--resources gpu=G*K`) caps how many train at once. Which device a job
then uses is decided here, by the jobs themselves: a slot is a lock file
`<dir>/gpu<d>-slot<k>.lock`, held with flock(2) for the job's lifetime.

- Safe against races: taking a slot is one non-blocking flock, which the kernel grants to one
  process only.
- Safe against kill -9: the kernel drops a process's locks when it dies, however it dies, so a
  dead job's slot is free again (the empty file it leaves means nothing).
- Spread over all devices: a job takes slot 0 of the first device that has it free, then slot
  1 of each device, and so on, so G jobs land on G different devices before any device gets a
  second run.

The lock directory must be on a local file system of the machine whose GPUs are shared (flock
on network file systems varies); by default it is under the system's temporary directory and
named after the Slurm job when there is one (a bundle's members share their node's GPU).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


class SlotError(RuntimeError):
    """No slot could be taken: the message says how many there are and who holds them."""


@dataclass(frozen=True)
class Slot:
    device: int  # index among the visible devices (0 .. devices - 1)
    slot: int  # which of the device's K slots
    visible: str  # the CUDA_VISIBLE_DEVICES entry of that device (what the job then sees)


def visible_devices(environ=os.environ) -> list[str]:
    """The GPUs this process may use, as CUDA_VISIBLE_DEVICES names them (Slurm sets it for a
    job); without it, none are known here (the caller says how many there are)."""
    value = environ.get("CUDA_VISIBLE_DEVICES", "").strip()
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def detect_devices(environ=os.environ) -> list[str]:
    """The GPUs a job may use: CUDA_VISIBLE_DEVICES where set (Slurm sets it), else every GPU
    `nvidia-smi -L` lists (by index), else none."""
    if "CUDA_VISIBLE_DEVICES" in environ:
        return visible_devices(environ)
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True,
                                 timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.split(":")[0].removeprefix("GPU ").strip()
            for line in listing.splitlines() if line.startswith("GPU ")]


def default_lock_dir(environ=os.environ) -> Path:
    job = environ.get("SLURM_JOB_ID")
    name = f"vaebench-gpu-slots-slurm{job}" if job else f"vaebench-gpu-slots-{os.getuid()}"
    return Path(tempfile.gettempdir()) / name


@contextmanager
def gpu_slot(devices: list[str], per_device: int, lock_dir=None,
             wait_seconds: float | None = None, poll_seconds: float = 0.2,
             log=None) -> Iterator[Slot]:
    """Hold a free slot for the block: one of `per_device` slots of one of `devices` (their
    CUDA_VISIBLE_DEVICES names). When all are taken (no `--resources gpu=` limit, or another
    Snakemake on the same GPUs) it waits, saying so once to `log`: forever by default, a slot
    frees whenever a run ends; with `wait_seconds`, at most that long, then SlotError."""
    if not devices or per_device < 1:
        raise SlotError(f"no GPU slots to take: {len(devices)} device(s) x {per_device} run(s)")
    lock_dir = Path(lock_dir) if lock_dir is not None else default_lock_dir()
    try:
        lock_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _unwritable(lock_dir, err) from None
    deadline = None if wait_seconds is None else time.monotonic() + wait_seconds
    waiting = False
    while True:
        for k in range(per_device):
            for d, name in enumerate(devices):
                handle = _try_lock(lock_dir / f"gpu{d}-slot{k}.lock")
                if handle is not None:
                    try:
                        yield Slot(device=d, slot=k, visible=name)
                    finally:
                        handle.close()  # closing the file releases the lock
                    return
        if deadline is not None and time.monotonic() > deadline:
            raise SlotError(f"all {len(devices)} x {per_device} GPU slots in {lock_dir} stayed "
                            f"taken for {wait_seconds:.0f} s: is another Snakemake training "
                            "on these GPUs? Lower --resources gpu=... or wait for it")
        if not waiting and log is not None:
            print(f"waiting for a GPU slot: all {len(devices)} x {per_device} are taken (set "
                  f"--resources gpu={len(devices) * per_device} to queue in Snakemake instead)",
                  file=log, flush=True)
        waiting = True
        time.sleep(poll_seconds)


def _unwritable(lock_dir: Path, err: OSError) -> SlotError:
    return SlotError(
        f"cannot keep GPU slot locks in {lock_dir}: {err.strerror or err}. They live in the "
        "temporary directory: point it at a writable local directory with TMPDIR (or "
        "Snakemake's --default-resources tmpdir=...)")


def _try_lock(path: Path):
    try:
        handle = open(path, "a+")  # noqa: SIM115  (held open while the slot is held)
    except OSError as err:
        raise _unwritable(path.parent, err) from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


@contextmanager
def placed(device: str, runs_per_gpu: int, environ=os.environ) -> Iterator[dict | None]:
    """The GPU placement of one training job, for its lifetime: with `device` auto or cuda and
    GPUs present, a slot is held and CUDA_VISIBLE_DEVICES narrowed to its device (the job then
    sees one GPU, cuda:0; set before torch first touches CUDA); yields what run.json records.
    With device cpu, or no GPU, nothing is held and None is yielded."""
    devices = detect_devices(environ) if device != "cpu" else []
    if not devices:
        yield None
        return
    with gpu_slot(devices, runs_per_gpu, default_lock_dir(environ), log=sys.stdout) as slot:
        environ["CUDA_VISIBLE_DEVICES"] = slot.visible
        record = {"visible_device": slot.visible, "slot": slot.slot,
                  "runs_per_gpu": runs_per_gpu, "devices": devices}
        if environ.get("SLURM_JOB_ID"):  # a Slurm bundle: which one ran this run
            record["slurm_job"] = environ["SLURM_JOB_ID"]
        yield record
