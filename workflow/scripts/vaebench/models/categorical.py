"""Categorical VAE: a Gumbel-softmax (concrete) relaxation of categorical latents (Jang et al.
2017, Maddison et al. 2017), with AntixK's loss arithmetic."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..config import ConfigError
from .base import VAE, Linear, check_choices

EPS = 1e-7  # the reference's guard inside the logs


class CategoricalVAE(VAE):
    """variant "jang" (default): D latent variables, each a Q-way categorical (Q =
    `categorical_dim`): logits [B x D x Q], q = softmax over Q, z = softmax((logits + g) / tau)
    with Gumbel noise g, the decoder takes z flattened [B x D*Q];
    KL = mean_b sum_{d,q} q (log(q + eps) - log(1/Q + eps)); loss = alpha * MSE + M_N * KL.
    The temperature really anneals (Jang et al.): every `anneal_interval` training steps,
    tau = max(temperature * exp(-anneal_rate * t), min_temperature), t the training steps so far.
    variant "fork" (the benchmark's, meltager/vae_benchmark models/cat_vae.py): one D-way
    categorical (logits [B x D], softmax over D, decoder takes [B x D]), KL against a uniform
    prior over `categorical_dim` classes (the fork: 33) and a fixed temperature (its anneal was
    a no-op).
    The latent means kept for downstream scores (`embed`) are q: [B x D*Q], or [B x D] (fork).
    MSE is the mean over B x G (reconstruction "mean", the benchmark) or summed over genes and
    averaged over the batch ("sum"; with KL weight 1 and alpha 1, Jang et al.'s objective with a
    Gaussian p(x|z) of variance 1/2 and the relaxed sample in the decoder).
    A latent unit (`latent_units`) is one categorical variable: D of them ("jang"), one ("fork");
    its mean is its class probabilities, so it is active when their variances over samples,
    summed over its classes, exceed the threshold.
    Parts: recon (MSE), kld.
    """

    name = "categorical"

    def __init__(self, n_genes, latent, hidden, output="sigmoid", activation="relu",
                 categorical_dim=40, temperature=1.0, min_temperature=0.5, anneal_rate=3e-5,
                 anneal_interval=100, alpha=1.0, variant="jang"):
        check_choices("categorical", variant=variant)
        if categorical_dim < 2 or temperature <= 0 or min_temperature <= 0 or anneal_interval < 1:
            raise ConfigError("categorical needs categorical_dim >= 2, positive temperatures and "
                              f"anneal_interval >= 1, got {categorical_dim}, {temperature}, "
                              f"{min_temperature}, {anneal_interval}")
        # read by build_heads and code_width, inside super().__init__
        self.variant, self.categorical_dim = variant, int(categorical_dim)
        super().__init__(n_genes, latent, hidden, output, activation)
        self.initial_temperature = self.temperature = float(temperature)
        self.min_temperature, self.anneal_rate = min_temperature, anneal_rate
        self.anneal_interval, self.alpha = anneal_interval, alpha
        self.latent = latent
        self.clock = 0

    def build_heads(self, width, latent):
        self.fc_z = Linear(width, self.code_width(latent))

    def code_width(self, latent):
        return latent if self.variant == "fork" else latent * self.categorical_dim

    def logits(self, x: Tensor) -> Tensor:
        """x [B x G] -> [B x D x Q] ("jang") or [B x D] ("fork")."""
        logits = self.fc_z(self.encoder(x))
        return logits if self.variant == "fork" else logits.view(len(x), self.latent, -1)

    def embed(self, x, generator=None):
        """q's class probabilities, or with a `generator` one relaxed draw of z (forward's)."""
        logits = self.logits(x)
        if generator is None:
            return F.softmax(logits, dim=-1).flatten(1)
        u = torch.rand(logits.shape, generator=generator, device=logits.device,
                       dtype=logits.dtype)
        return self.relaxed(logits, u).flatten(1)

    def latent_units(self, x):
        """x [B x G] -> (KL of each categorical variable from the uniform prior [B x U], its
        class probabilities [B x U x Q]); U = D ("jang") or 1 ("fork")."""
        q = F.softmax(self.logits(x), dim=-1)
        if self.variant == "fork":
            q = q.unsqueeze(1)
        kl = torch.sum(q * (torch.log(q + EPS) - math.log(1.0 / self.categorical_dim + EPS)), -1)
        return kl, q

    def relaxed(self, logits: Tensor, u: Tensor) -> Tensor:
        """The Gumbel-softmax draw of z from logits, given uniform noise u of their shape."""
        gumbel = -torch.log(-torch.log(u + EPS) + EPS)
        return F.softmax((logits + gumbel) / self.temperature, dim=-1)

    def forward(self, x):
        """x [B x G] -> recon [B x G], logits, z (same shape as logits)."""
        logits = self.logits(x)
        z = self.relaxed(logits, torch.rand_like(logits))
        return {"recon": self.decode(z.flatten(1)), "logits": logits, "z": z}

    def step_temperature(self) -> None:
        """One training step: the annealing clock ticks (jang only)."""
        self.clock += 1
        if self.variant == "jang" and self.clock % self.anneal_interval == 0:
            self.temperature = max(
                self.initial_temperature * math.exp(-self.anneal_rate * self.clock),
                self.min_temperature)

    def loss(self, x, out, kld_weight):
        if self.training:
            self.step_temperature()
        q = F.softmax(out["logits"], dim=-1)
        prior = math.log(1.0 / self.categorical_dim + EPS)
        dims = tuple(range(1, q.dim()))
        kld = torch.sum(q * (torch.log(q + EPS) - prior), dim=dims).mean()
        recon = self.squared_error(out["recon"], x)
        return {"loss": self.alpha * recon + kld_weight * kld, "recon": recon, "kld": kld}
