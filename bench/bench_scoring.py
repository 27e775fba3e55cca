"""What scoring one run's latent space costs at TCGA size, and what the baselines cost once.

On a synthetic latent space of the papers' shape (11,069 samples, 33 cancer types with TCGA's
sizes, latent 100, types planted as clusters) and the synthetic phenotype (overall survival,
age, sex):
- one `score_latent` job, as the workflow runs it (a fresh Python process through
  `run_scores`, reading latent.npy, latent_untrained.npy and run.json, writing scores.json and
  neighbours.npy): its wall time, imports included (median of `--repeats`); and the same job
  of a run that copies an earlier run's untrained-encoder scores (same encoder as initialised);
- its parts, in this process: the 16 nearest neighbours (shared by Leiden and stability), the
  kNN, silhouette and Leiden scores of the means, the same of the untrained encoder, survival
  and clinical associations;
- our silhouette (float32 blocks) against sklearn's silhouette_score, in the same run;
- what the study job still does per run (one stability pair: CKA and the 15-NN overlap);
- once per study, the latent_baselines job's work (the genes of a 5,000-gene matrix, PCA).
The last lines project the scoring of config/eltager2023.yaml as its plan bundles it (6,480 runs,
every one saving its latent means; each bundle scores each untrained encoder it holds once, the
other runs copying those scores), in its runs' GPU bundles after their training.

    .venv/bin/python bench/bench_scoring.py                       # ~6 min on 2 cores
    .venv/bin/python bench/bench_scoring.py --samples 2000 --repeats 1   # quick check
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import silhouette_score

SCRIPTS = Path(__file__).resolve().parents[1] / "workflow" / "scripts"
sys.path.insert(0, str(SCRIPTS))

from vaebench.analysis import (  # noqa: E402
    baseline_scores,
    clinical_scores,
    linear_cka,
    neighbour_overlap,
    neighbour_sets,
    score_latents,
    silhouette,
)
from vaebench.analysis.latent import GRAPH_NEIGHBOURS, nearest_neighbours  # noqa: E402
from vaebench.data import make_synthetic  # noqa: E402

ONE_JOB = """
import sys
sys.path.insert(0, {scripts!r})
from vaebench.analysis import run_scores
run_scores({latent!r}, {samples!r}, {phenotype!r}, {scores!r}, {neighbours!r},
           shared={shared!r})
"""


def benchmark_scoring_jobs() -> tuple[int, int]:
    """(runs, untrained encoders scored) of config/eltager2023.yaml's plan: each bundle scores
    each encoder it holds once (vaebench.plan, `untrained_from`)."""
    from vaebench.cli import workflow_config
    from vaebench.plan import Plan

    plan = Plan.of(workflow_config(SCRIPTS.parents[1] / "config" / "eltager2023.yaml"),
                   claims=False)
    sources = plan.untrained_from["benchmark"]
    return len(plan.runs["benchmark"]), len(set(sources.values()))


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run_folder(folder: Path, mu, untrained, phenotype: pd.DataFrame) -> Path:
    """A run folder as the trainer leaves it: latent.npy, latent_untrained.npy, and run.json
    with their checksums (run_scores checks them)."""
    folder.mkdir(parents=True, exist_ok=True)
    outputs = {}
    for name, array in (("latent.npy", mu), ("latent_untrained.npy", untrained)):
        np.save(folder / name, array)
        outputs[name] = {"sha256": hashlib.sha256((folder / name).read_bytes()).hexdigest()}
    (folder / "run.json").write_text(json.dumps({"outputs": outputs}))
    (folder / "samples.txt").write_text("\n".join(phenotype["sample"]) + "\n")
    phenotype.to_csv(folder / "phenotype.tsv", sep="\t", index=False)
    return folder / "latent.npy"


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
    # an encoder as initialised keeps some of the types' structure, blurred
    untrained = (0.3 * centres[codes] + rng.normal(size=mu.shape)).astype(np.float32)
    genes = rng.random((a.samples, a.genes), dtype=np.float32)

    nearest = nearest_neighbours(mu, GRAPH_NEIGHBOURS + 1)
    graph = neighbour_sets(mu, nearest=nearest)
    parts = {
        "16 nearest neighbours (Leiden graph + stability sets)":
            lambda: nearest_neighbours(mu, GRAPH_NEIGHBOURS + 1),
        "kNN accuracy + silhouette + Leiden of the means": lambda: score_latents(
            mu, labels, nearest=nearest),
        "the same of the untrained encoder": lambda: score_latents(untrained, labels),
        "survival (Cox, 5-fold) + age/sex": lambda: clinical_scores(mu, normalised),
    }
    print(f"{a.samples} samples, latent {a.latent}, {len(set(labels))} types; median of "
          f"{a.repeats}\n")
    print("| one score_latent job | seconds |\n|---|---|")
    now = 0.0
    for name, fn in parts.items():
        seconds = timed(fn, a.repeats)
        now += seconds
        print(f"| {name} | {seconds:.2f} |", flush=True)
    print(f"| all of it, in this process | {now:.2f} |")
    with tempfile.TemporaryDirectory() as tmp:
        latent = run_folder(Path(tmp) / "run", mu, untrained, normalised)
        files = dict(scripts=str(SCRIPTS), latent=str(latent),
                     samples=str(latent.with_name("samples.txt")),
                     phenotype=str(latent.with_name("phenotype.tsv")),
                     scores=str(latent.with_name("scores.json")),
                     neighbours=str(latent.with_name("neighbours.npy")))
        first = ONE_JOB.format(**files, shared=None)
        job = timed(lambda: subprocess.run([sys.executable, "-c", first], check=True),
                    a.repeats)
        # a run whose encoder as initialised is the first's: copies its untrained scores
        shared = latent.with_name("first_scores.json")
        shared.write_bytes(latent.with_name("scores.json").read_bytes())
        sharing = ONE_JOB.format(**files, shared=str(shared))
        copying = timed(lambda: subprocess.run([sys.executable, "-c", sharing], check=True,
                                               stdout=subprocess.DEVNULL), a.repeats)
    print(f"| **the whole job (fresh process, imports and files included)** | **{job:.2f}** |")
    print(f"| **the same, copying an earlier run's untrained scores** | **{copying:.2f}** |")
    print(f"\nthe job pays {job - now:.1f} s more than its parts: a fresh Python, its imports "
          "and its files")
    ours = timed(lambda: silhouette(mu, labels), a.repeats)
    theirs = timed(lambda: silhouette_score(mu.astype(float), labels.astype(str)), a.repeats)
    print(f"silhouette: sklearn's silhouette_score / ours = {theirs:.2f} / {ours:.2f} s = "
          f"**{theirs / ours:.2f}x**")
    other_graph = neighbour_sets(other)
    pair = timed(lambda: (linear_cka(mu, other), neighbour_overlap(graph, other_graph)),
                 a.repeats)
    print(f"\nthe study job, per pair of seeds (CKA + 15-NN overlap from the saved sets): "
          f"{pair:.2f} s")
    once = timed(lambda: baseline_scores(genes, labels, [a.latent]), 1)
    print(f"\n| once per study (latent_baselines) | seconds |\n|---|---|\n| genes ({a.genes}) "
          f"and PCA ({a.latent}) | {once:.1f} |")
    runs, encoders = benchmark_scoring_jobs()
    hours = (encoders * job + (runs - encoders) * copying) / 3600
    print(f"\nconfig/eltager2023.yaml: {encoders} score_latent jobs x {job:.1f} s + "
          f"{runs - encoders} copying x {copying:.1f} s = {hours:.1f} core-hours (each scoring "
          f"its own untrained encoder: {runs * job / 3600:.1f}), run after each training in "
          "its GPU bundle")

if __name__ == "__main__":
    main()
