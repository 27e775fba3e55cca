"""Training speed: vaebench's trainer against the studies' way (Lightning + per-sample DataLoader).

In one invocation, each in its own process (runtime tuning such as malloc thresholds is
process-wide), alternating so that machine noise hits both alike:
  ours      vaebench.train.train_run on an 11,060 x 5,000 float32 matrix, VanillaVAE, batch
            1000, latent 100, 80/20 split, validation each epoch;
  baseline  bench/lightning_baseline.py: the same model, data shape and schedule.
For hidden [256] and [1024, 512, 256] it prints seconds per epoch (median over epochs after
the first, then over repeats), the speed-up, and the fraction of this machine's fp32 matmul
rate (measured here, best of torch's MKL and oneDNN paths) that our trainer reaches.

    .venv/bin/python bench/bench_train.py                 # full size, 6 epochs, 3 repeats
    .venv/bin/python bench/bench_train.py --samples 2000 --epochs 3 --repeats 1   # quick
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from timing import run_child

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "workflow" / "scripts"))


def ours(samples: int, genes: int, hidden: list[int], epochs: int) -> list[float]:
    """Seconds of each epoch after the first, from the trainer's own metrics."""
    import numpy as np

    from vaebench.config import RunConfig
    from vaebench.data import Preprocessed
    from vaebench.train import train_run

    x = np.random.default_rng(0).random((samples, genes), dtype=np.float32)
    data = Preprocessed(x, [f"g{i}" for i in range(genes)], [f"s{i}" for i in range(samples)],
                        {"scaling": "minmax", "scale_fit": "all"})
    cfg = RunConfig(model="vanilla", hidden=hidden, latent=100, batch_size=1000, epochs=epochs,
                    lr=1.0e-3, val_fraction=0.2, device="cpu")
    rows, record = train_run(cfg, data)
    assert record["status"] == "ok", record["stop_reason"]
    return [r["seconds"] for r in rows[1:]]


def epoch_gflop(samples: int, genes: int, hidden: list[int], val_fraction=0.2, batch=1000):
    """Matmul work of one epoch: training 3x the forward (forward, grad-input, grad-weight) on
    the full batches, validation 1x the forward on all validation samples."""
    widths = [genes, *hidden]
    macs = sum(a * b for a, b in zip(widths, widths[1:]))  # encoder blocks
    macs += 2 * hidden[-1] * 100  # fc_mu, fc_var (latent 100)
    macs += 100 * hidden[-1] + sum(a * b for a, b in zip(widths[::-1], widths[-2::-1]))  # decoder
    n_val = round(samples * val_fraction)
    n_train = (samples - n_val) // batch * batch
    return 2 * macs * (3 * n_train + n_val) / 1e9


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samples", type=int, default=11060)
    p.add_argument("--genes", type=int, default=5000)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--child-ours", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child_ours:
        hidden = [int(h) for h in a.child_ours.split(",")]
        times = ours(a.samples, a.genes, hidden, a.epochs)
        print(json.dumps({"median_epoch_s": statistics.median(times)}))
        return

    import torch

    sys.path.insert(0, str(HERE))
    from lightning_baseline import measure_matmul_gflops

    threads = torch.get_num_threads()
    peak = max(measure_matmul_gflops(threads, "aten"), measure_matmul_gflops(threads, "onednn"))
    size = ["--samples", str(a.samples), "--genes", str(a.genes), "--epochs", str(a.epochs)]
    print(f"machine: {threads} threads, fp32 matmul peak {peak:.0f} GFLOP/s "
          f"(best of MKL and oneDNN); {a.samples} x {a.genes}, {a.epochs} epochs "
          f"(first dropped), {a.repeats} repeats, medians\n")
    print("| model | baseline s/epoch | ours s/epoch | speed-up | ours GFLOP/s | of peak |")
    print("|---|---|---|---|---|---|")
    for hidden in ("256", "1024,512,256"):
        base_s, our_s = [], []
        for _ in range(a.repeats):
            our_s.append(run_child([__file__, "--child-ours", hidden, *size])["median_epoch_s"])
            base_s.append(run_child([str(HERE / "lightning_baseline.py"), "--hidden", hidden,
                                     *size])["median_epoch_s"])
        b, o = statistics.median(base_s), statistics.median(our_s)
        rate = epoch_gflop(a.samples, a.genes, [int(h) for h in hidden.split(",")]) / o
        print(f"| hidden [{hidden}] | {b:.3f} | {o:.3f} | {b / o:.2f}x | {rate:.0f} | "
              f"{rate / peak:.0%} |")


if __name__ == "__main__":
    main()
