"""LogCoshVAE (models.md §1.5)."""

from __future__ import annotations

import math

import torch.nn.functional as F

from .base import VAE, kl_per_sample


class LogCoshVAE(VAE):
    """loss = mean[(1/alpha) log cosh(alpha t)] + beta * M_N * KL, t = x_hat - x (models.md §1.5).

    log cosh is computed as alpha t + softplus(-2 alpha t) - log 2, equal in value to the
    reference's alpha t + log(1 + exp(-2 alpha t)) - log 2 but without exp overflowing to inf
    when t < -4.4 (alpha 10), which z-scored data reaches.
    """

    name = "logcosh"

    def __init__(self, n_genes, latent, hidden, output="sigmoid", activation="relu",
                 alpha=10.0, beta=1.0):
        super().__init__(n_genes, latent, hidden, output, activation)
        self.alpha, self.beta = alpha, beta

    def loss(self, x, out, kld_weight):
        t = out["recon"] - x
        log_cosh = self.alpha * t + F.softplus(-2.0 * self.alpha * t) - math.log(2.0)
        recon = log_cosh.mean() / self.alpha
        kld = kl_per_sample(out["mu"], out["log_var"]).mean()
        return {"loss": recon + self.beta * kld_weight * kld, "recon": recon, "kld": kld}
