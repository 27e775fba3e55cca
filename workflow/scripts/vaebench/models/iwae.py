"""IWAE (Burda et al. 2016; AntixK/PyTorch-VAE models/iwae.py)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import VAE, check_choices, kl_per_sample


class IWAE(VAE):
    """Importance-weighted AE with S samples of z per input (AntixK models/iwae.py).

    objective "antixk" (the studies): per-sample loss l_s = MSE_s + M_N * KL (analytic KL, equal
    for all s), loss = mean_b sum_s softmax(l)_s * l_s with the weights not detached. Because l is
    a loss, this up-weights the worst samples; with small spreads it is ~ the mean over s.
    objective "burda": the importance-weighted bound of Burda et al. with the same likelihood
    scale: log w_s = -(MSE_s + M_N * (log q(z_s|x) - log p(z_s))), loss = -mean_b(logsumexp_s
    log w_s - log S). Its gradient is sum_s softmax(log w)_s * grad log w_s, i.e. the estimator
    with detached weights.
    The decoder sees B*S rows, so BatchNorm statistics are over all samples.
    MSE_s is the mean over genes (reconstruction "mean", the studies) or the sum ("sum"). With
    "sum", objective "burda" and KL weight 1, log w_s = log p(x|z_s) + log p(z_s) - log q(z_s|x)
    with a Gaussian p(x|z) of variance 1/2 (up to a constant): Burda et al.'s bound exactly.
    "antixk" with "sum" weights summed errors, which sharpens its softmax towards the worst
    sample; it is not a bound under either reduction.
    """

    name = "iwae"

    def __init__(self, n_genes, latent, hidden, output="sigmoid", activation="relu",
                 num_samples=5, objective="antixk"):
        super().__init__(n_genes, latent, hidden, output, activation)
        check_choices("iwae", objective=objective)
        self.num_samples = num_samples
        self.objective = objective

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """x [B x G] -> recon [B x S x G], mu, log_var [B x D], z [B x S x D]."""
        mu, log_var = self.encode(x)
        z = self.reparameterize(mu.unsqueeze(1).expand(-1, self.num_samples, -1),
                                log_var.unsqueeze(1).expand(-1, self.num_samples, -1))
        recon = self.decode(z.reshape(-1, z.shape[-1])).view(x.shape[0], self.num_samples, -1)
        return {"recon": recon, "mu": mu, "log_var": log_var, "z": z}

    def loss(self, x, out, kld_weight):
        error = (out["recon"] - x.unsqueeze(1)) ** 2
        mse = error.sum(-1) if self.reconstruction == "sum" else error.mean(-1)  # [B x S]
        kld = kl_per_sample(out["mu"], out["log_var"])  # [B]
        if self.objective == "antixk":
            per_sample = mse + kld_weight * kld.unsqueeze(1)
            loss = torch.sum(F.softmax(per_sample, dim=-1) * per_sample, dim=-1).mean()
        else:
            mu, log_var = out["mu"].unsqueeze(1), out["log_var"].unsqueeze(1)
            eps = (out["z"] - mu) * torch.exp(-0.5 * log_var)
            # log q(z|x) - log p(z) at the sampled z; the 2*pi constants cancel.
            log_q_minus_log_p = torch.sum(-0.5 * log_var - 0.5 * eps**2 + 0.5 * out["z"] ** 2, -1)
            log_w = -(mse + kld_weight * log_q_minus_log_p)
            loss = -(torch.logsumexp(log_w, dim=-1) - math.log(self.num_samples)).mean()
        return {"loss": loss, "recon": mse.mean(), "kld": kld.mean()}
