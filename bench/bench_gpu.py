"""Many small runs: a training job's fixed start-up cost, seconds per epoch, and on a GPU the
runs per hour of K runs sharing it, with the projected wall time of the studies.

Measured in one invocation, on the papers' full shape (synthetic, 11,069 samples x 5,000 genes,
VanillaVAE):
  start-up  a real Snakemake run of `--runs` one-epoch training jobs, one at a time; a job's
            fixed cost is its wall time (benchmarks/train/*.tsv) minus its training wall time
            (run.json wall_seconds), against `python -c "import torch"` timed in the same run
            (target: at most 1.3x). "strict" also counts the model, the optimizer and the
            imports torch makes lazily inside wall_seconds (torch.optim imports torch._dynamo
            on first use, timed here too): job wall time minus the epochs' own seconds.
  epochs    K processes of `vaebench train` started together, each one run of `--epochs`
            epochs at batch 1000 (the papers) and 64 (the benchmark): seconds per epoch
            (median over each run's epochs after the first), wall time of the wave, runs per
            hour, GPU memory per run (nvidia-smi, CUDA context included) and the GPU's mean
            utilisation during the wave (nvidia-smi's utilization.gpu). On a CPU K is 1.
  projection  the papers (config/paper.yaml, 660 runs) and the benchmark
            (config/eltager2023.yaml, 6,480 runs) on this device at each K: per run the fixed
            cost plus its epochs at the measured seconds per epoch, divided by K. Runs that
            stop early are counted at --assume-epochs epochs (or their maximum, if smaller).

    .venv/bin/python bench/bench_gpu.py                          # CPU: start-up and s/epoch
    .venv/bin/python bench/bench_gpu.py --concurrency 1 2 4 8 16  # on a GPU: the K table
    .venv/bin/python bench/bench_gpu.py --samples 600 --genes 300 --batches 200 64 --runs 2 \
        --epochs 2                                               # quick check
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "workflow" / "scripts"))

from vaebench.config import RunConfig, study_runs  # noqa: E402

MODEL = {"model": "vanilla", "hidden": [256], "latent": 100, "val_fraction": 0.2}


def raw_genes(genes: int) -> int:
    """Genes to generate so that `genes` remain after preprocessing drops those with NA."""
    return genes * 3 // 2


def python_seconds(code: str, repeats: int) -> float:
    """Median wall time of `python -c code`, each in a fresh process."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def startup(workdir: Path, samples: int, genes: int, runs: int, batch: int,
            device: str) -> list[dict]:
    """Run `runs` one-epoch training jobs (batch `batch`) through the workflow, one at a time;
    per job its wall time, training wall time and epoch seconds."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = {
        "datasets": {"synthetic": {"synthetic": {"samples": samples, "genes": raw_genes(genes),
                                                 "seed": 0}}},
        "preprocess": {"minmax": {"top_k": genes, "scaling": "minmax"}},
        "defaults": {"device": device},
        "studies": {"startup": {
            "dataset": "synthetic", "preprocess": "minmax",
            "base": {**MODEL, "batch_size": batch, "epochs": 1},
            "grid": {"seed": list(range(1, runs + 1))},
            "figure": {"kind": "curves", "hue": "seed"}}},
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    for stale in ("results/startup", "benchmarks/train/startup"):  # measure fresh jobs
        shutil.rmtree(workdir / stale, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "snakemake", "--snakefile",
                    str(REPO / "workflow" / "Snakefile"), "--directory", str(workdir),
                    "--cores", "1", "--until", "train", "--quiet", "--configfile",
                    str(workdir / "config.yaml")], check=True, stdout=subprocess.DEVNULL)
    jobs = []
    for tsv in sorted((workdir / "benchmarks/train/startup").glob("*.tsv")):
        job_s = float(next(csv.DictReader(tsv.open(), delimiter="\t"))["s"])
        run_dir = workdir / "results/startup/runs" / tsv.stem
        record = json.loads((run_dir / "run.json").read_text())
        with (run_dir / "metrics.csv").open() as f:
            epochs_s = sum(float(row["seconds"]) for row in csv.DictReader(f))
        jobs.append({"job": job_s, "train": record["wall_seconds"], "epochs": epochs_s,
                     "device": record["device"]["type"]})
    if len(jobs) != runs:
        raise SystemExit(f"expected {runs} benchmark files in {workdir}, found {len(jobs)}")
    return jobs


def prepare(workdir: Path, samples: int, genes: int) -> Path:
    """The preprocessed matrix the waves train on (made once, reused)."""
    from vaebench.data import make_synthetic, preprocess, save_preprocessed

    folder = workdir / f"data-{samples}x{genes}"
    if not (folder / "summary.json").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        expr, _ = make_synthetic(samples, raw_genes(genes), seed=0)
        prep = preprocess(expr, top_k=genes)
        save_preprocessed(prep, *(folder / name for name in
                                  ("matrix.npy", "genes.txt", "samples.txt", "summary.json")))
    return folder


class GpuMemory:
    """Peak GPU memory in use (MiB, all processes) and the mean utilisation (%) while it runs,
    sampled by nvidia-smi every half second."""

    def __init__(self):
        sample = self._query()
        self.peak = self.idle = sample[0] if sample else None
        self.utilisation: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def _query() -> tuple[float, float] | None:
        if shutil.which("nvidia-smi") is None:
            return None
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used,utilization.gpu",
                              "--format=csv,noheader,nounits", "--id=0"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            return None
        used, busy = (float(v) for v in out.stdout.split(","))
        return used, busy

    def _sample(self):
        while not self._stop.wait(0.5):
            sample = self._query()
            if sample is not None:
                self.peak = max(self.peak, sample[0])
                self.utilisation.append(sample[1])

    def __enter__(self):
        if self.idle is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def wave(workdir: Path, data: Path, k: int, batch: int, epochs: int, device: str) -> dict:
    """K `vaebench train` processes started together (seeds 1..K), each one run."""
    folder = workdir / f"wave-{device}-k{k}-b{batch}"
    shutil.rmtree(folder, ignore_errors=True)
    procs = []
    with GpuMemory() as memory:
        started = time.perf_counter()
        for seed in range(1, k + 1):
            out = folder / f"seed{seed}"
            out.mkdir(parents=True)
            settings = {**MODEL, "batch_size": batch, "epochs": epochs, "seed": seed,
                        "device": device, "threads": 1 if k > 1 else None}
            (out / "run.yaml").write_text(yaml.safe_dump(settings))
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "vaebench.cli", "train", "--config", str(out / "run.yaml"),
                 "--data", str(data), "--out-dir", str(out)], stdout=subprocess.DEVNULL))
        if any(proc.wait() for proc in procs):
            raise SystemExit(f"a training process of {folder} failed")
        wall = time.perf_counter() - started
    per_epoch = []
    for seed in range(1, k + 1):
        with (folder / f"seed{seed}" / "metrics.csv").open() as f:
            seconds = [float(row["seconds"]) for row in csv.DictReader(f)]
        per_epoch.append(statistics.median(seconds[1:] or seconds))
    gpu_mib = (memory.peak - memory.idle) / k if memory.idle is not None else None
    busy = statistics.mean(memory.utilisation) if memory.utilisation else None
    return {"k": k, "batch": batch, "epoch_s": statistics.median(per_epoch), "wall": wall,
            "runs_per_hour": k * 3600 / wall, "gpu_mib": gpu_mib, "gpu_busy": busy}


def study_epochs(config_path: Path, assume_epochs: int) -> list[tuple[int, int]]:
    """(batch size, projected epochs) of every run of a workflow config."""
    config = yaml.safe_load(config_path.read_text())
    runs = []
    for name, study in config["studies"].items():
        for settings in study_runs(name, study, config).values():
            cfg = RunConfig.from_dict(settings)
            runs.append((cfg.batch_size, min(cfg.epochs, assume_epochs)
                         if cfg.early_stopping else cfg.epochs))
    return runs


def project(runs: list[tuple[int, int]], fixed: float, epoch_s: dict[int, float],
            k: int) -> float:
    """Seconds for all runs, K at a time: fixed cost plus epochs, at the measured seconds per
    epoch of the nearest measured batch size."""
    def seconds(batch):
        return epoch_s[min(epoch_s, key=lambda b: abs(b - batch))]
    return sum(fixed + epochs * seconds(batch) for batch, epochs in runs) / k


def _hms(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samples", type=int, default=11069)
    p.add_argument("--genes", type=int, default=5000)
    p.add_argument("--runs", type=int, default=6, help="training jobs of the start-up part")
    p.add_argument("--epochs", type=int, default=4, help="epochs of each run of a wave")
    p.add_argument("--batches", type=int, nargs="+", default=[1000, 64])
    p.add_argument("--concurrency", type=int, nargs="+", default=[1],
                   help="runs sharing the device at once (K)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--assume-epochs", type=int, default=100,
                   help="epochs a run with early stopping is projected at")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/vaebench-bench-gpu"))
    a = p.parse_args()

    import torch

    device = a.device if a.device != "auto" else "cuda" if torch.cuda.is_available() else "cpu"
    name = torch.cuda.get_device_name(0) if device == "cuda" else \
        f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; {a.samples} x {a.genes}, VanillaVAE hidden {MODEL['hidden']}, "
          f"latent {MODEL['latent']}\n")

    jobs = startup(a.workdir / "startup", a.samples, a.genes, a.runs, a.batches[0], device)
    torch_s = python_seconds("import torch", a.runs)
    # torch.optim imports torch._dynamo on an optimizer's first use, whether or not one compiles
    dynamo_s = python_seconds("import torch, torch._dynamo", a.runs)
    fixed = statistics.median(j["job"] - j["train"] for j in jobs)
    strict = statistics.median(j["job"] - j["epochs"] for j in jobs)
    print("| start-up (median of jobs) | seconds | / import torch |\n|---|---|---|")
    print(f"| `python -c \"import torch\"` | {torch_s:.2f} | 1.00x |")
    print(f"| `python -c \"import torch, torch._dynamo\"` | {dynamo_s:.2f} | "
          f"{dynamo_s / torch_s:.2f}x |")
    print(f"| job wall time | {statistics.median(j['job'] for j in jobs):.2f} | |")
    print(f"| fixed cost: job - run.json wall_seconds | {fixed:.2f} | **{fixed / torch_s:.2f}x** |")
    print(f"| strict: job - the epochs' seconds | {strict:.2f} | {strict / torch_s:.2f}x |")
    print(f"\n({len(jobs)} one-epoch jobs on {jobs[0]['device']}, one at a time; "
          "target: fixed cost at most 1.3x import torch)\n")

    data = prepare(a.workdir, a.samples, a.genes)
    results = [wave(a.workdir, data, k, batch, a.epochs, device)
               for batch in a.batches for k in a.concurrency]
    print("| batch | K | s/epoch per run | wave wall (s) | runs/hour | GPU MiB per run | "
          "GPU busy % |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        mib = f"{r['gpu_mib']:.0f}" if r["gpu_mib"] is not None else "-"
        busy = f"{r['gpu_busy']:.0f}" if r["gpu_busy"] is not None else "-"
        print(f"| {r['batch']} | {r['k']} | {r['epoch_s']:.3f} | {r['wall']:.1f} | "
              f"{r['runs_per_hour']:.0f} | {mib} | {busy} |")
    print(f"\n(each run {a.epochs} epochs; runs/hour counts whole processes, start-up "
          "included)\n")

    studies = {"the papers (config/paper.yaml)": REPO / "config" / "paper.yaml",
               "the benchmark (config/eltager2023.yaml)": REPO / "config" / "eltager2023.yaml"}
    print("| projection | runs | " + " | ".join(f"K={k}" for k in a.concurrency) + " |")
    print("|---|---|" + "---|" * len(a.concurrency))
    for label, path in studies.items():
        runs = study_epochs(path, a.assume_epochs)
        cells = []
        for k in a.concurrency:
            epoch_s = {r["batch"]: r["epoch_s"] for r in results if r["k"] == k}
            cells.append(_hms(project(runs, fixed, epoch_s, k)))
        print(f"| {label} | {len(runs)} | " + " | ".join(cells) + " |")
    print(f"\n(projections: fixed cost + epochs x s/epoch per run, K at a time; runs with early "
          f"stopping counted at {a.assume_epochs} epochs or their maximum)")


if __name__ == "__main__":
    main()
