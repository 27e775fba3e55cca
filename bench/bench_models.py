"""Seconds per epoch of the eight models at the benchmark's shape, against VanillaVAE and a
Lightning loop written the way the benchmark's code (the fork) trained.

The shape of config/eltager2023.yaml: 11,060 x 5,000 float32 (z-scored-like), batch 64, one
hidden layer of 512, latent 50 (the grid's middle), 70/30 split, validation in batches of 64,
each model with that config's model_params (the fork's variants). Each model trains in its own
process (runtime tuning is process-wide), 3 epochs, the first dropped (oneDNN builds its kernels
then); medians over epochs, then repeats. The Lightning baseline (bench/lightning_baseline.py:
per-sample Dataset, DataLoader(shuffle, drop_last), Adam, a Trainer) trains VanillaVAE at the
same shape. At batch 64 an epoch is ~120 small steps, so the script also times one step's
matmuls alone (forward and both backward products of every Linear, oneDNN) to say how much of a
step is arithmetic and how much per-step overhead.

    .venv/bin/pip install -e '.[bench]'          # lightning, for the baseline
    .venv/bin/python bench/bench_models.py       # ~4 min on 2 cores
    .venv/bin/python bench/bench_models.py --samples 2000 --repeats 1   # quick
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from timing import best_time, run_child

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "workflow" / "scripts"))
MODELS = ("vanilla", "iwae", "infovae", "logcosh", "betavae", "betatcvae", "dipvae",
          "categorical")
HIDDEN, LATENT, BATCH, VAL_FRACTION = 512, 50, 64, 0.3


def ours(model: str, samples: int, genes: int, epochs: int) -> dict:
    import numpy as np
    import yaml

    from vaebench.config import RunConfig
    from vaebench.data import Preprocessed
    from vaebench.train import train_run

    params = yaml.safe_load((REPO / "config" / "eltager2023.yaml").read_text())["model_params"]
    x = np.random.default_rng(0).standard_normal((samples, genes), dtype=np.float32)
    data = Preprocessed(x, [f"g{i}" for i in range(genes)], [f"s{i}" for i in range(samples)],
                        {"scaling": "zscore", "scale_fit": "all"})
    cfg = RunConfig(model=model, model_params=params.get(model, {}), hidden=[HIDDEN],
                    latent=LATENT, batch_size=BATCH, val_fraction=VAL_FRACTION,
                    val_batch_size=BATCH, epochs=epochs, lr=1.0e-4, output="linear",
                    kld_weight="per_split", device="cpu")
    rows, record = train_run(cfg, data)
    assert record["status"] == "ok", record["stop_reason"]
    return {"epoch_s": statistics.median(r["seconds"] for r in rows[1:]),
            "steps": record["resolved"]["n_batches_per_epoch"],
            "val_batches": -(-record["data"]["n_val"] // BATCH)}


def matmul_step_s(genes: int, repeats: int = 30) -> float:
    """One training step's Linear products alone (VanillaVAE, batch 64): forward, grad-input and
    grad-weight of the encoder, heads, decoder and output layer, through oneDNN as the trainer."""
    import torch

    from vaebench.models.base import Linear  # noqa: F401  (oneDNN's op is registered by torch)

    mm = torch.ops.mkldnn._linear_pointwise
    layers = [(genes, HIDDEN), (HIDDEN, LATENT), (HIDDEN, LATENT), (LATENT, HIDDEN),
              (HIDDEN, genes)]
    tensors = [(torch.randn(BATCH, i), torch.randn(o, i), torch.randn(BATCH, o))
                for i, o in layers]

    def step():
        for x, w, g in tensors:
            mm(x, w, None, "none", [], "")  # forward
            mm(g, w.t(), None, "none", [], "")  # grad wrt input
            mm(g.t(), x.t(), None, "none", [], "")  # grad wrt weight

    return best_time(step, repeats)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samples", type=int, default=11060)
    p.add_argument("--genes", type=int, default=5000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--child", help=argparse.SUPPRESS)
    a = p.parse_args()
    size = ["--samples", str(a.samples), "--genes", str(a.genes), "--epochs", str(a.epochs)]
    if a.child:
        result = ours(a.child, a.samples, a.genes, a.epochs)
        if a.child == "vanilla":
            result["matmul_step_s"] = matmul_step_s(a.genes)
        print(json.dumps(result))
        return

    times: dict[str, list[float]] = {m: [] for m in MODELS}
    baseline: list[float] = []
    vanilla = {}
    for _ in range(a.repeats):  # alternate, so machine noise hits every model alike
        for model in MODELS:
            result = run_child([__file__, "--child", model, *size])
            times[model].append(result["epoch_s"])
            vanilla = result if model == "vanilla" else vanilla
        try:
            baseline.append(run_child([str(HERE / "lightning_baseline.py"), "--hidden",
                                       str(HIDDEN), "--latent", str(LATENT), "--batch-size",
                                       str(BATCH), "--val-fraction", str(VAL_FRACTION),
                                       *size])["median_epoch_s"])
        except subprocess.CalledProcessError as err:  # no lightning: `pip install -e .[bench]`
            print(f"(Lightning baseline skipped: {err.stderr.strip().splitlines()[-1]})")
    median = {m: statistics.median(t) for m, t in times.items()}
    print(f"{a.samples} x {a.genes}, batch {BATCH}, hidden [{HIDDEN}], latent {LATENT}, "
          f"{a.epochs} epochs (first dropped), {a.repeats} repeats, medians\n")
    print("| model | s/epoch | vs VanillaVAE |")
    print("|---|---|---|")
    for model in MODELS:
        print(f"| {model} | {median[model]:.3f} | {median[model] / median['vanilla']:.2f}x |")
    if baseline:
        b = statistics.median(baseline)
        print(f"| Lightning loop, VanillaVAE (the fork's way) | {b:.3f} | "
              f"ours {b / median['vanilla']:.2f}x faster |")
    steps = vanilla["steps"] + vanilla["val_batches"] / 3  # a validation step: forward only
    step_ms = 1000 * median["vanilla"] / steps
    floor_ms = 1000 * vanilla["matmul_step_s"]
    print(f"\nVanillaVAE: {vanilla['steps']} training + {vanilla['val_batches']} validation "
          f"batches per epoch, {step_ms:.2f} ms per training-step equivalent; its matmuls "
          f"alone take {floor_ms:.2f} ms ({floor_ms / step_ms:.0%}), the rest "
          f"({step_ms - floor_ms:.2f} ms) is per-step overhead: BatchNorm, activations, loss, "
          "optimizer, the batch gather and Python.")


if __name__ == "__main__":
    main()
