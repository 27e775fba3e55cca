"""A Snakemake working directory read from outside Snakemake: whether a Snakemake still works in
it (`vaebench recover`), and which outputs the jobs it started have not finished yet (`vaebench
summary`: a run still training is not a failed one).

Snakemake 9, with its default file persistence, keeps in the directory's .snakemake/:
locks/<n>.output.lock (and <n>.input.lock), written when a Snakemake starts its jobs and removed
when it ends; incomplete/<name>, written when a job starts and removed when it ends, one for
each output of the job, named by the output's path (relative to the directory, as the rule
writes it) in URL-safe base64, cut into pieces no longer than a file name may be: folders
@<piece>/ and the last piece. A Snakemake killed leaves both behind.

Neither says on which machine its Snakemake runs: on a cluster's shared file system a second
login node sees the lock of a Snakemake it cannot see. So the workflow records its controller
(`onstart`: host, pid, start) in .snakemake/vaebench-controller.json, after taking the lock,
and `recover` and `summary` on another host leave a lock that record explains alone.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import socket
from pathlib import Path

CONTROLLER = Path(".snakemake") / "vaebench-controller.json"


def live_snakemake_pids(directory: Path) -> list[int]:
    """Processes working in `directory` whose command line mentions snakemake: a Snakemake, or
    one of its jobs (they run scripts from .snakemake/scripts/). Linux only (/proc)."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if int(proc.name) == os.getpid() or Path(os.readlink(proc / "cwd")) != directory:
                continue
            if b"snakemake" in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return pids


def snakemake_locks(directory: Path) -> list[Path]:
    """The lock files of the Snakemakes running in `directory`, or killed there."""
    return sorted((directory / ".snakemake" / "locks").glob("*.lock"))


def record_controller(directory: Path = Path(".")) -> None:
    """Write which host and process run the Snakemake now working in `directory` (its onstart
    hook: after it has taken the lock, so the record is never older than its lock)."""
    record = {"host": socket.gethostname(), "pid": os.getpid(),
              "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
    path = Path(directory) / CONTROLLER
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record) + "\n")


def controller_elsewhere(directory: Path) -> dict | None:
    """The record of the Snakemake that holds `directory`'s lock, where it ran on another host
    than this one: this host cannot tell whether it still runs. None where no lock is held,
    the record is older than the lock (a Snakemake killed before it wrote one), or it names
    this host."""
    locks = snakemake_locks(directory)
    path = Path(directory) / CONTROLLER
    try:
        written = path.stat().st_mtime
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not locks or written < max(_mtime(lock) for lock in locks) - 1:
        return None
    return record if record.get("host") != socket.gethostname() else None


def incomplete_markers(directory: Path) -> dict[str, float]:
    """{output path, as the rule names it: when its job started (the marker's mtime)} for the
    jobs Snakemake has started in `directory` and not seen end."""
    folder = directory / ".snakemake" / "incomplete"
    markers = {}
    for path in folder.rglob("*"):
        try:
            name = "".join(part.removeprefix("@") for part in path.relative_to(folder).parts)
            key = base64.urlsafe_b64decode(name).decode()
            if path.is_file():
                markers[key] = path.stat().st_mtime
        except (ValueError, OSError):  # not a marker (a folder, "migration_underway"); gone
            continue
    return markers


def unfinished_outputs(directory: Path) -> dict[str, bool]:
    """{output path: whether its job still runs} for every output Snakemake marks incomplete in
    `directory`; paths absolute. A job still runs when a live Snakemake (or a job of it) works in
    the directory and the marker is not older than its lock, i.e. not left by a Snakemake killed
    before the live one started (say one that redoes the job with --rerun-incomplete, not there
    yet). Without /proc (not Linux), or where the lock's Snakemake runs on another host
    (controller_elsewhere), a lock stands for the live Snakemake."""
    directory = Path(os.path.abspath(directory))
    markers = incomplete_markers(directory)
    if not markers:
        return {}
    locks = snakemake_locks(directory)
    if controller_elsewhere(directory):  # another host's: taken to be alive, as without /proc
        live = True
    elif Path("/proc/self").exists():
        live = bool(live_snakemake_pids(directory.resolve()))
    else:
        live = bool(locks)
    since = float("inf") if not live else min(
        (_mtime(lock) for lock in locks), default=float("-inf"))
    return {os.path.normpath(directory / key): started >= since
            for key, started in markers.items()}


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # its Snakemake ended meanwhile
        return float("inf")
