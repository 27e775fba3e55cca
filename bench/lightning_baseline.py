"""Baseline trainer written the way the published studies did it.

A PyTorch Lightning module fed by a per-sample ``Dataset`` and a ``DataLoader``, in the style of
AntixK/PyTorch-VAE (old ``experiment.py`` + ``VanillaVAE``), adapted to an MLP on gene expression:

* ``DataLoader(train, batch_size, shuffle=True, drop_last=True)``, ``num_workers=0``;
* Adam, ``ExponentialLR`` stepped once per epoch;
* encoder ``Linear -> BatchNorm1d -> ReLU`` per hidden layer, ``fc_mu``/``fc_var``;
  decoder ``Linear(latent, hidden[-1]) -> BN -> ReLU`` ...
  ``-> Linear(hidden[0], n_genes) -> Sigmoid``;
* loss ``mse_loss(recons, x) + kld_weight * mean_b(sum_d KL)``,
  ``kld_weight = batch / n_train``;
* validation every epoch, ``num_sanity_val_steps=2`` (the Lightning default the studies ran with).

Nothing here tunes the runtime (no allocator settings, no oneDNN linear, default Adam): this is
the "as the studies did it" reference.  Allocator settings are process-wide, so time the baseline
in its own process (``python bench/lightning_baseline.py ...``) when the project's trainer, which
does tune the runtime, is imported in the same benchmark process.

Public functions:

* ``time_baseline(x_train, x_val, hidden, latent, batch_size, epochs) -> list[float]``:
  seconds per epoch (training + validation + per-epoch Lightning overhead), first
  (warm-up) epoch excluded, so ``epochs >= 2``.
* ``measure_matmul_gflops(threads) -> float``: best fp32 matmul rate of this machine via torch.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Sequence

import lightning as L
import torch
import torch.nn.functional as F
from timing import best_time
from torch import nn
from torch.utils.data import DataLoader, Dataset

__all__ = [
    "ExpressionDataset",
    "VanillaVAE",
    "VAEExperiment",
    "EpochTimer",
    "time_baseline",
    "matmul_gflops_by_shape",
    "measure_matmul_gflops",
]


# --------------------------------------------------------------------------------------------
# Data: one sample per __getitem__, batches assembled by default_collate (as in the studies).
# --------------------------------------------------------------------------------------------
class ExpressionDataset(Dataset):
    """Per-sample dataset over a (samples x genes) float32 matrix."""

    def __init__(self, x: torch.Tensor):
        self.x = torch.as_tensor(x, dtype=torch.float32)

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, idx: int):
        # (sample, label) pairs like the image datasets the original code was written for.
        return self.x[idx], 0


# --------------------------------------------------------------------------------------------
# Model: VanillaVAE with MLP encoder/decoder.
# --------------------------------------------------------------------------------------------
class VanillaVAE(nn.Module):
    def __init__(self, in_features: int, latent_dim: int, hidden_dims: Sequence[int]):
        super().__init__()
        hidden_dims = list(hidden_dims)
        modules, d = [], in_features
        for h in hidden_dims:
            modules.append(nn.Sequential(nn.Linear(d, h), nn.BatchNorm1d(h), nn.ReLU()))
            d = h
        self.encoder = nn.Sequential(*modules)
        self.fc_mu = nn.Linear(hidden_dims[-1], latent_dim)
        self.fc_var = nn.Linear(hidden_dims[-1], latent_dim)

        self.decoder_input = nn.Sequential(
            nn.Linear(latent_dim, hidden_dims[-1]), nn.BatchNorm1d(hidden_dims[-1]), nn.ReLU()
        )
        rev = hidden_dims[::-1]
        modules = [
            nn.Sequential(nn.Linear(rev[i], rev[i + 1]), nn.BatchNorm1d(rev[i + 1]), nn.ReLU())
            for i in range(len(rev) - 1)
        ]
        self.decoder = nn.Sequential(*modules)
        self.final_layer = nn.Sequential(nn.Linear(rev[-1], in_features), nn.Sigmoid())

    def encode(self, x):
        h = self.encoder(x)
        return self.fc_mu(h), self.fc_var(h)

    def decode(self, z):
        return self.final_layer(self.decoder(self.decoder_input(z)))

    @staticmethod
    def reparameterize(mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return eps * std + mu

    def forward(self, x):
        mu, log_var = self.encode(x)
        z = self.reparameterize(mu, log_var)
        return [self.decode(z), x, mu, log_var]

    @staticmethod
    def loss_function(recons, x, mu, log_var, *, M_N: float):
        recons_loss = F.mse_loss(recons, x)
        kld_loss = torch.mean(-0.5 * torch.sum(1 + log_var - mu**2 - log_var.exp(), dim=1), dim=0)
        loss = recons_loss + M_N * kld_loss
        return {"loss": loss, "Reconstruction_Loss": recons_loss, "KLD": -kld_loss}


# --------------------------------------------------------------------------------------------
# Lightning module (old experiment.py, ported to Lightning 2.x hooks).
# --------------------------------------------------------------------------------------------
class VAEExperiment(L.LightningModule):
    def __init__(
        self,
        model: VanillaVAE,
        *,
        n_train: int,
        n_val: int,
        batch_size: int,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        scheduler_gamma: float | None = 0.95,
    ):
        super().__init__()
        self.model = model
        self.n_train, self.n_val = n_train, n_val
        self.batch_size = batch_size
        self.lr, self.weight_decay, self.scheduler_gamma = lr, weight_decay, scheduler_gamma

    def forward(self, x):
        return self.model(x)

    def training_step(self, batch, batch_idx):
        x, _labels = batch
        results = self.forward(x)
        train_loss = self.model.loss_function(*results, M_N=self.batch_size / self.n_train)
        self.log_dict({k: v.detach() for k, v in train_loss.items()}, on_step=True, on_epoch=False)
        return train_loss["loss"]

    def validation_step(self, batch, batch_idx):
        x, _labels = batch
        results = self.forward(x)
        val_loss = self.model.loss_function(*results, M_N=self.batch_size / self.n_val)
        self.log("val_loss", val_loss["loss"], on_step=False, on_epoch=True)
        return val_loss["loss"]

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(
            self.model.parameters(), lr=self.lr, weight_decay=self.weight_decay
        )
        if self.scheduler_gamma is None:
            return optimizer
        scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=self.scheduler_gamma)
        return [optimizer], [scheduler]


class EpochTimer(L.Callback):
    """Wall time of each epoch, start to start: training, validation, scheduler step and all
    per-epoch Lightning/DataLoader overhead.  The last epoch ends at ``on_train_end``.
    The sanity-check validation runs before the first ``on_train_epoch_start`` and is excluded."""

    def __init__(self):
        self.times: list[float] = []
        self._t0: float | None = None

    def on_train_epoch_start(self, trainer, pl_module):
        now = time.perf_counter()
        if self._t0 is not None:
            self.times.append(now - self._t0)
        self._t0 = now

    def on_train_end(self, trainer, pl_module):
        if self._t0 is not None:
            self.times.append(time.perf_counter() - self._t0)
            self._t0 = None


def time_baseline(
    x_train: torch.Tensor,
    x_val: torch.Tensor,
    hidden: Sequence[int],
    latent: int,
    batch_size: int,
    epochs: int,
    *,
    lr: float = 1e-3,
    seed: int = 0,
) -> list[float]:
    """Train the Lightning baseline for ``epochs`` epochs; return seconds per epoch for every
    epoch after the first (warm-up) one, i.e. ``epochs - 1`` values.  Each value covers the
    training pass, the validation pass and Lightning's per-epoch overhead."""
    if epochs < 2:
        raise ValueError("epochs must be >= 2 (the first epoch is warm-up and is dropped)")
    L.seed_everything(seed, workers=True, verbose=False)
    train_loader = DataLoader(
        ExpressionDataset(x_train), batch_size=batch_size, shuffle=True, drop_last=True
    )
    # The whole validation split is evaluated (the own trainer does the same).
    val_loader = DataLoader(ExpressionDataset(x_val), batch_size=batch_size, shuffle=False)
    model = VanillaVAE(x_train.shape[1], latent, hidden)
    experiment = VAEExperiment(
        model, n_train=len(x_train), n_val=len(x_val), batch_size=batch_size, lr=lr
    )
    timer = EpochTimer()
    trainer = L.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=2,
        callbacks=[timer],
    )
    with warnings.catch_warnings():
        # "does not have many workers" etc.: the studies ran with num_workers=0 as well.
        warnings.filterwarnings("ignore", category=UserWarning, module="lightning")
        warnings.filterwarnings("ignore", message=".*num_workers.*")
        trainer.fit(experiment, train_loader, val_loader)
    return timer.times[1:]


# --------------------------------------------------------------------------------------------
# Machine throughput.
# --------------------------------------------------------------------------------------------
_SHAPES = (
    (1000, 5000, 256),  # encoder forward:  x @ W1^T
    (1000, 256, 5000),  # decoder forward:  h @ W^T  /  encoder grad_input
    (256, 1000, 5000),  # weight gradient:  grad^T @ x
    (2048, 2048, 2048),  # large square
)


def matmul_gflops_by_shape(
    threads: int, backend: str = "aten", repeats: int = 7
) -> dict[tuple[int, int, int], float]:
    """fp32 GFLOP/s of C[m,n] = A[m,k] @ B[k,n] per (m, k, n), best of ``repeats``.

    ``backend="aten"``: ``torch.mm``, the path ``nn.Linear`` takes by default (MKL sgemm).
    ``backend="onednn"``: the same product through oneDNN (``torch.ops.mkldnn._linear_pointwise``
    on dense tensors), the path the project's trainer uses.
    """
    if backend not in ("aten", "onednn"):
        raise ValueError(f"unknown backend {backend!r}")
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    out = {}
    try:
        with torch.inference_mode():
            for m, k, n in _SHAPES:
                a = torch.rand(m, k)
                if backend == "aten":
                    b = torch.rand(k, n)

                    def fn(a=a, b=b):
                        return torch.mm(a, b)
                else:
                    w = torch.rand(n, k)  # [out, in], like nn.Linear.weight

                    def fn(a=a, w=w):
                        return torch.ops.mkldnn._linear_pointwise(a, w, None, "none", [], "")

                out[(m, k, n)] = 2.0 * m * k * n / best_time(fn, repeats) / 1e9
    finally:
        torch.set_num_threads(old)
    return out


def measure_matmul_gflops(threads: int, backend: str = "aten", repeats: int = 7) -> float:
    """Best fp32 matmul rate (GFLOP/s) of this machine with ``threads`` threads, over the model's
    shapes and a large square (see ``matmul_gflops_by_shape``)."""
    return max(matmul_gflops_by_shape(threads, backend, repeats).values())


# --------------------------------------------------------------------------------------------
# CLI: time the baseline in a fresh process (no runtime tuning leaks in from the caller).
# --------------------------------------------------------------------------------------------
def _main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samples", type=int, default=11060)
    p.add_argument("--genes", type=int, default=5000)
    p.add_argument("--hidden", default="256", help="comma-separated, e.g. 1024,512,256")
    p.add_argument("--latent", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--gflops", action="store_true", help="also measure matmul GFLOP/s")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(a.seed)
    x = torch.rand(a.samples, a.genes, generator=g)
    perm = torch.randperm(a.samples, generator=g)
    n_val = int(round(a.samples * a.val_fraction))
    x_val, x_train = x[perm[:n_val]].contiguous(), x[perm[n_val:]].contiguous()
    del x
    hidden = [int(h) for h in a.hidden.split(",")]
    times = time_baseline(x_train, x_val, hidden, a.latent, a.batch_size, a.epochs)
    res = {
        "hidden": hidden,
        "threads": torch.get_num_threads(),
        "epoch_s": [round(t, 4) for t in times],
        "median_epoch_s": round(sorted(times)[len(times) // 2], 4),
    }
    if a.gflops:
        res["matmul_gflops_aten"] = round(measure_matmul_gflops(torch.get_num_threads()), 1)
        res["matmul_gflops_onednn"] = round(
            measure_matmul_gflops(torch.get_num_threads(), "onednn"), 1
        )
    print(json.dumps(res))


if __name__ == "__main__":
    _main()
