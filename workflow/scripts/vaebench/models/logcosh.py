"""LogCoshVAE (AntixK/PyTorch-VAE models/logcosh_vae.py)."""

from __future__ import annotations

import math

import torch.nn.functional as F

from .base import VAE, kl_per_sample


class LogCoshVAE(VAE):
    """loss = mean[(1/alpha) log cosh(alpha t)] + beta * M_N * KL, t = x_hat - x
    (AntixK/PyTorch-VAE models/logcosh_vae.py).

    log cosh is computed as alpha t + softplus(-2 alpha t) - log 2, equal in value to the
    reference's alpha t + log(1 + exp(-2 alpha t)) - log 2 but without exp overflowing to inf
    when t < -4.4 (alpha 10), which z-scored data reaches.
    reconstruction "mean" (the studies): the mean over B x G, KL weight M_N. "sum": summed over
    genes, averaged over the batch; with KL weight 1 and beta 1 this is Chen, Chen & Wang's
    (2019) log-cosh VAE objective, sum_g (1/alpha) log cosh(alpha t) + KL: the likelihood
    p(x|z) ~ exp(-(1/alpha) log cosh(alpha t)), near t = 0 a Gaussian of variance 1/alpha.
    """

    name = "logcosh"

    def __init__(self, n_genes, latent, hidden, output="sigmoid", activation="relu",
                 alpha=10.0, beta=1.0):
        super().__init__(n_genes, latent, hidden, output, activation)
        self.alpha, self.beta = alpha, beta

    def loss(self, x, out, kld_weight):
        t = out["recon"] - x
        log_cosh = self.alpha * t + F.softplus(-2.0 * self.alpha * t) - math.log(2.0)
        recon = self.reduce_error(log_cosh) / self.alpha
        kld = kl_per_sample(out["mu"], out["log_var"]).mean()
        return {"loss": recon + self.beta * kld_weight * kld, "recon": recon, "kld": kld}
