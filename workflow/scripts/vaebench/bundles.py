"""Bundles: the runs of a study packed into cluster jobs by time, each saved run's scoring with
its own training.

One Slurm job per run would queue 6,480 jobs for the benchmark; one job per N runs asks for a
time limit that depends on which runs land in it. Instead every run gets an estimate in minutes
from its maximum epochs (`cluster.epoch_seconds`, measured: bench/README.md, "Cluster
jobs"), and the runs of a study are packed, in grid order, into bundles of about
`cluster.bundle_minutes`, never more than half of `cluster.max_job_minutes`: a bundle that runs
out of time is retried with twice its time, and that retry still fits. A third attempt is capped
at the maximum.

The saved runs that share an untrained encoder (config.encoder_key: they differ only in training
settings) share the scores of that encoder (plan.untrained_sources), which links their scoring
jobs. They are packed together where they fit, and a family too long for one bundle is cut into
pieces that each score their encoder once, so no scoring waits for a run of another bundle.

The workflow names each training and scoring job's bundle as its Snakemake `group`
(common.smk), and the cluster profile merges each group into one Slurm job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .config import ConfigError, RunConfig, encoder_key

MAX_JOB_MINUTES = 1380  # 23 h: under the 24 h limit of many GPU partitions, retries included
# A bundle's length: a few hours start sooner on a busy cluster (backfill) and spread a grid
# over more GPUs at once; a run longer than this gets a bundle of its own
BUNDLE_MINUTES = 120
EPOCH_SECONDS = 2.0  # a papers' epoch on 2 CPU cores takes 1.1-1.6 s (bench/README.md)
START_MINUTES = 1  # a run's process start, imports and data load (2-5 s measured), rounded up
SCORE_MINUTES = 1  # one score_latent job at TCGA size: 7-17 s measured


@dataclass(frozen=True)
class Bundle:
    """name: the Snakemake group ("<study>.<k>"); runs: its runs in grid order; minutes: what
    its first attempt asks for, training and scoring of every run added up."""
    name: str
    runs: tuple[str, ...]
    minutes: int


def run_minutes(settings: dict, epoch_seconds: float | dict) -> int:
    """A run's training estimate: start-up plus its maximum epochs at the config's seconds per
    epoch for its model (`{model: s, default: s}` or one number for all)."""
    if isinstance(epoch_seconds, dict):
        model = settings.get("model", RunConfig.model)
        epoch_seconds = epoch_seconds.get(model, epoch_seconds.get("default", EPOCH_SECONDS))
    epochs = settings.get("epochs", RunConfig.epochs)
    return START_MINUTES + math.ceil(epochs * epoch_seconds / 60)


def pack(study: str, runs: dict[str, dict], saved: list[str], cluster: dict) -> list[Bundle]:
    """The bundles of one study's runs: `runs` {run: settings} in grid order, `saved` the runs
    whose latent spaces are scored, `cluster` the config's `cluster` section. Next fit: runs are
    added to the open bundle until the next would pass the target, families of saved runs with
    one untrained encoder as a unit where they fit in one bundle."""
    budget = cluster.get("max_job_minutes", MAX_JOB_MINUTES) // 2
    target = min(cluster.get("bundle_minutes", BUNDLE_MINUTES), budget)
    epoch_seconds = cluster.get("epoch_seconds", EPOCH_SECONDS)
    saved_set = set(saved)
    minutes = {run: run_minutes(settings, epoch_seconds) + SCORE_MINUTES * (run in saved_set)
               for run, settings in runs.items()}
    for run, needed in minutes.items():
        if needed > budget:
            raise ConfigError(
                f"studies.{study}: run {run} may take {needed} minutes "
                f"({runs[run].get('epochs', RunConfig.epochs)} epochs at cluster.epoch_seconds), "
                f"more than half of cluster.max_job_minutes "
                f"({cluster.get('max_job_minutes', MAX_JOB_MINUTES)}): a retry with twice the "
                "time would not fit; raise max_job_minutes or lower the epochs")
    families: dict[str, list[str]] = {}
    for run in runs:
        key = encoder_key(runs[run]) if run in saved_set else run
        families.setdefault(key, []).append(run)
    bundles: list[list[str]] = [[]]
    used = 0
    for family in families.values():
        total = sum(minutes[run] for run in family)
        if bundles[-1] and used + total > target and total <= target:
            bundles.append([])
            used = 0
        for run in family:  # a family longer than a bundle fills bundles one after another
            if bundles[-1] and used + minutes[run] > target:
                bundles.append([])
                used = 0
            bundles[-1].append(run)
            used += minutes[run]
    return [Bundle(f"{study}.{k}", tuple(members), sum(minutes[run] for run in members))
            for k, members in enumerate(b for b in bundles if b)]


def member_minutes(minutes: int, bundle: Bundle, attempt: int, max_job_minutes: int) -> int:
    """A bundle member's time limit at an attempt: `minutes` times the attempt, the factor
    capped so that the members together ask for at most max_job_minutes."""
    factor = min(attempt, max_job_minutes / bundle.minutes)
    return math.floor(minutes * factor)
