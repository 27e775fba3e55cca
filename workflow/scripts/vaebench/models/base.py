"""The MLP encoder/decoder every model shares, oneDNN's Linear, the analytic KL, and the one
place the reconstruction error is reduced.

Shapes: B batch, G genes, D latent, U latent units (D, or categorical variables).

The reconstruction (`VAE.squared_error`, `VAE.reduce_error`) is reduced one of two ways:
- "mean" (the studies' arithmetic, AntixK's): the mean over all B x G elements. The loss
  mean_{b,g} e + w KL is, times G, sum_g e + G w KL: the KL weighs G x w against the ELBO's.
- "sum" (the ELBO's): summed over the G genes, averaged over the batch. With KL weight 1 the
  squared-error loss sum_g (x_hat - x)^2 + KL is the negative Gaussian ELBO with a fixed
  variance sigma^2 = 1/2, up to the constant G/2 log(pi).
In both, the weight on the KL per unit of summed squared error is the run's KL pressure
(`kl_pressure`), and the implied likelihood variance is sigma^2 = pressure / 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import MODEL_OPTIONS, ConfigError
from ..private_torch import linear


class Linear(nn.Linear):
    """nn.Linear (same parameters, init and state_dict) that uses oneDNN for fp32 on CPU
    (private_torch.linear)."""

    def forward(self, x: Tensor) -> Tensor:
        return linear(x, self.weight, self.bias)


ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


def mlp(widths: list[int], activation: str) -> nn.Sequential:
    """Blocks Linear -> BatchNorm1d -> activation between consecutive widths."""
    return nn.Sequential(*(nn.Sequential(Linear(a, b), nn.BatchNorm1d(b), ACTIVATIONS[activation]())
                           for a, b in zip(widths, widths[1:])))


def check_choices(model: str, **choices) -> None:
    """Each named option of `model` must be one of its allowed values (config.MODEL_OPTIONS)."""
    for key, value in choices.items():
        allowed = MODEL_OPTIONS[model][key]
        if value not in allowed:
            raise ConfigError(f"{model} {key} must be one of {', '.join(allowed)}, got {value!r}")


def kl_per_sample(mu: Tensor, log_var: Tensor) -> Tensor:
    """Analytic KL(N(mu, exp(log_var)) || N(0, I)) summed over the last axis: [..., D] -> [...]."""
    return -0.5 * torch.sum(1 + log_var - mu**2 - log_var.exp(), dim=-1)


def kl_pressure(kld_weight: float, reconstruction: str, n_genes: int) -> float:
    """The weight on the KL per unit of summed squared error: kld_weight x G for "mean",
    kld_weight for "sum" (1: the ELBO's balance at sigma^2 = 1/2)."""
    return kld_weight * (n_genes if reconstruction == "mean" else 1)


class VAE(nn.Module):
    """MLP VAE: encoder blocks Linear -> BatchNorm1d -> activation (ReLU or Tanh), heads
    fc_mu/fc_var, mirrored decoder.

    hidden=[1024, 512, 256] gives encoder G->1024->512->256 and decoder D->256->512->1024->G.
    `output` is "sigmoid" (min-max scaled data in [0, 1]) or "linear" (z-scored data).
    Subclasses differ in `loss`, and some in their heads (`build_heads`, `code_width`: what the
    decoder takes) and in what they sample.

    `dataset_size` is the number of samples of the split the batches come from (training or
    validation); the trainer sets it before each pass, for objectives that estimate q(z) over
    the data set (BetaTCVAE).
    """

    name: str
    default_grad_clip: float | None = None
    # How the studies' code reduced this model's reconstruction (`reconstruction` None).
    reference_reconstruction = "mean"
    _reconstruction: str | None = None
    # A KL weight the model's arithmetic fixes whatever the run says (DIPVAE's fork: 1).
    fixed_kld_weight: float | None = None

    def __init__(self, n_genes: int, latent: int, hidden: list[int], output: str = "sigmoid",
                 activation: str = "relu"):
        super().__init__()
        if output not in ("sigmoid", "linear"):
            raise ConfigError(f"output must be 'sigmoid' or 'linear', got {output!r}")
        if activation not in ACTIVATIONS:
            raise ConfigError(f"activation must be one of {', '.join(ACTIVATIONS)}, "
                              f"got {activation!r}")
        self.encoder = mlp([n_genes, *hidden], activation)
        self.build_heads(hidden[-1], latent)
        self.embed_width = self.code_width(latent)  # the width of `embed`'s latent means
        self.decoder = mlp([self.code_width(latent), *reversed(hidden)], activation)
        self.final_layer = Linear(hidden[0], n_genes)
        self.output_activation = nn.Sigmoid() if output == "sigmoid" else nn.Identity()
        self.dataset_size: int | None = None

    def build_heads(self, width: int, latent: int) -> None:
        self.fc_mu = Linear(width, latent)
        self.fc_var = Linear(width, latent)

    def code_width(self, latent: int) -> int:
        """The width of what the decoder takes (z)."""
        return latent

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x [B x G] -> (mu [B x D], log_var [B x D])."""
        h = self.encoder(x)
        return self.fc_mu(h), self.fc_var(h)

    def decode(self, z: Tensor) -> Tensor:
        """z [N x D] -> reconstruction [N x G]."""
        return self.output_activation(self.final_layer(self.decoder(z)))

    @property
    def reconstruction(self) -> str:
        """"mean" or "sum" (module docstring); the model's reference unless set."""
        return self._reconstruction or self.reference_reconstruction

    @reconstruction.setter
    def reconstruction(self, value: str | None) -> None:
        if value not in (None, "mean", "sum"):
            raise ConfigError(f"reconstruction must be 'mean' or 'sum', got {value!r}")
        self._reconstruction = value

    def squared_error(self, recon: Tensor, x: Tensor) -> Tensor:
        """recon, x [B x G] -> the squared error reduced as `reconstruction` says (scalar)."""
        if self.reconstruction == "sum":
            return F.mse_loss(recon, x, reduction="sum") / x.shape[0]
        return F.mse_loss(recon, x)

    def reduce_error(self, error: Tensor) -> Tensor:
        """An elementwise error [B x G] -> scalar, reduced as `reconstruction` says."""
        return error.sum() / error.shape[0] if self.reconstruction == "sum" else error.mean()

    def latent_units(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x [B x G] -> (KL of each latent unit from its prior [B x U], each unit's mean
        [B x U x W]); a unit is one Gaussian dimension here (W = 1). What collapse is judged
        on (train.latent_usage)."""
        mu, log_var = self.encode(x)
        return -0.5 * (1 + log_var - mu**2 - log_var.exp()), mu.unsqueeze(-1)

    @staticmethod
    def reparameterize(mu: Tensor, log_var: Tensor) -> Tensor:
        return mu + torch.randn_like(mu) * torch.exp(0.5 * log_var)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """x [B x G] -> recon [B x G], mu, log_var, z [B x D]. Always samples z (the reference)."""
        mu, log_var = self.encode(x)
        z = self.reparameterize(mu, log_var)
        return {"recon": self.decode(z), "mu": mu, "log_var": log_var, "z": z}

    def embed(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """x [B x G] -> the latent space kept for downstream scores, [B x D]: the means mu, or
        with a `generator` one draw of z = mu + sigma * eps from it."""
        mu, log_var = self.encode(x)
        if generator is None:
            return mu
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + eps * torch.exp(0.5 * log_var)

    def loss(self, x: Tensor, out: dict[str, Tensor], kld_weight: float) -> dict[str, Tensor]:
        """x [B x G], the output of forward, M_N -> {"loss", "recon", "kld", ...} scalars."""
        raise NotImplementedError


@dataclass(frozen=True)
class Objective:
    """What a run optimises, resolved once (`resolve_objective`): the reconstruction's reduction,
    the KL weight in training and in validation, and the KL pressure (the weight on the KL per
    unit of summed squared error: base.kl_pressure). The trainer uses it, run.json records it."""
    reconstruction: str
    kld_weight: float
    val_kld_weight: float
    kl_pressure: float


def resolve_objective(model: VAE, kld_weight, batch_size: int, n_train: int, n_val: int,
                      n_genes: int) -> Objective:
    """The one place the KL weight is decided. A model may fix it (DIPVAE's fork: 1); the run
    setting `kld_weight` null is M_N = batch / n_train with reconstruction "mean" (the studies;
    also in validation, as AntixK/PyTorch-VAE's experiment.py before its 2021 rewrite:
    docs/decisions.md) and 1 with "sum" (each model's published objective); "per_split"
    divides by the validation set's size in validation (the benchmark's fork); a number is
    used as it is."""
    m_n = batch_size / n_train
    if model.fixed_kld_weight is not None:
        weights = (model.fixed_kld_weight, model.fixed_kld_weight)
    elif kld_weight is None:
        weights = (m_n, m_n) if model.reconstruction == "mean" else (1.0, 1.0)
    elif kld_weight == "per_split":
        weights = (m_n, batch_size / n_val)
    else:
        weights = (float(kld_weight), float(kld_weight))
    return Objective(model.reconstruction, *weights,
                     kl_pressure(weights[0], model.reconstruction, n_genes))
