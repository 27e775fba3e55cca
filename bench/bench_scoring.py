"""What scoring one run's latent space costs at TCGA size, and what the baselines cost once.

One process, on a synthetic latent space of the papers' shape (11,069 samples, 33 cancer types
with TCGA's sizes, latent 100, types planted as clusters) and the synthetic phenotype (overall
survival, age, sex), timing each part of what `latent_scores` does per run (median of
`--repeats`): the kNN and silhouette scores, the Leiden clusters, the same for the run's
untrained encoder, survival and clinical associations, one stability pair (CKA and the 15-NN
overlap), and once per study the baselines (PCA at the run's width, the genes of a 5,000-gene
matrix). The last lines project the
scoring of config/eltager2023.yaml (6,480 runs, every one saving its latent means).

    .venv/bin/python bench/bench_scoring.py                       # ~3 min on 2 cores
    .venv/bin/python bench/bench_scoring.py --samples 2000 --repeats 1   # quick check
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))

from vaebench.analysis import (  # noqa: E402
    baseline_scores,
    clinical_scores,
    leiden_clusters,
    linear_cka,
    neighbour_overlap,
    neighbour_sets,
    score_latents,
)
from vaebench.data import make_synthetic  # noqa: E402

RUNS_6480 = 6480


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samples", type=int, default=11069)
    p.add_argument("--latent", type=int, default=100)
    p.add_argument("--genes", type=int, default=5000)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()

    _, phenotype = make_synthetic(a.samples, 50, seed=0)
    labels = phenotype["cancer type abbreviation"].to_numpy(dtype=object)
    normalised = pd.DataFrame({
        "sample": phenotype["sample"], "label": labels, "sample_type": "",
        "survival_time": phenotype["OS.time"].astype(str),
        "survival_event": phenotype["OS"].astype(str),
        "age": phenotype["age_at_initial_pathologic_diagnosis"].astype(str),
        "gender": phenotype["gender"].astype(str)})
    rng = np.random.default_rng(0)
    codes = pd.factorize(labels)[0]
    centres = rng.normal(scale=2.0, size=(codes.max() + 1, a.latent))
    mu = (centres[codes] + rng.normal(size=(a.samples, a.latent))).astype(np.float32)
    other = (mu + 0.3 * rng.normal(size=mu.shape)).astype(np.float32)
    genes = rng.random((a.samples, a.genes), dtype=np.float32)

    graph = neighbour_sets(mu)
    parts = {
        "kNN accuracy + silhouette + Leiden (score_latents)":
            lambda: score_latents(mu, labels),
        "  of which Leiden clusters (15-NN graph + leidenalg)": lambda: leiden_clusters(mu),
        "the untrained encoder's scores (score_latents again)":
            lambda: score_latents(other, labels),
        "survival (Cox, 5-fold) + age/sex (clinical_scores)":
            lambda: clinical_scores(mu, normalised),
        "one stability pair (CKA + 15-NN overlap)":
            lambda: (linear_cka(mu, other), neighbour_overlap(graph, neighbour_sets(other))),
    }
    print(f"{a.samples} samples, latent {a.latent}, {len(set(labels))} types; median of "
          f"{a.repeats}\n")
    print("| per run | seconds |\n|---|---|")
    seconds = {}
    for name, fn in parts.items():
        seconds[name] = timed(fn, a.repeats)
        print(f"| {name} | {seconds[name]:.2f} |")
    per_run = sum(s for name, s in seconds.items() if not name.startswith("  "))
    print(f"| **per run, all of it** | **{per_run:.2f}** |")
    once = timed(lambda: baseline_scores(genes, labels, [a.latent]), 1)
    print(f"\n| once per study | seconds |\n|---|---|\n| baselines: genes ({a.genes}) and "
          f"PCA ({a.latent}) | {once:.1f} |")
    total = RUNS_6480 * per_run / 3600
    print(f"\nconfig/eltager2023.yaml: {RUNS_6480} runs x {per_run:.1f} s = {total:.1f} h of "
          "scoring on this machine, one run after another (stability: one pair per run; the "
          "baselines once per latent width)")


if __name__ == "__main__":
    main()
