"""DIP-VAE (Kumar et al. 2018): an ELBO plus a penalty that pushes the covariance of the
aggregate posterior towards the identity."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import VAE, check_choices, kl_per_sample


def dip_penalty(cov: Tensor, lambda_offdiag: float, lambda_diag: float) -> Tensor:
    """lambda_offdiag * sum_{i != j} C_ij^2 + lambda_diag * sum_i (C_ii - 1)^2."""
    diag = torch.diagonal(cov)
    off = cov - torch.diag(diag)
    return lambda_offdiag * (off**2).sum() + lambda_diag * ((diag - 1) ** 2).sum()


class DIPVAE(VAE):
    """objective "kumar" (default, as published): Cov_x[mu] = (1/B) sum_b (mu_b - mean_b mu)
    (mu_b - mean_b mu)^T, centred over the samples of the batch; DIP-VAE-I penalises it,
    DIP-VAE-II (`dip_type` "ii") penalises Cov_x[mu] + diag(mean_b sigma_b^2), the covariance
    of z under the aggregate posterior. loss = MSE + M_N * KL + dip (MSE mean over B x G,
    KL = mean_b sum_d, as VanillaVAE).
    objective "fork" (the benchmark's, meltager/vae_benchmark models/dip_vae.py): mu centred
    across its latent dimensions (per sample), C = c^T c not divided by B, plus the scalar
    mean_i exp(2 log_var)_ii (i < min(B, D)) added to every entry; loss = sum_{b,g} (x_hat - x)^2
    + sum_b KL + dip, M_N not applied (whatever the run's kld_weight; a KL warm-up still
    scales its KL). reconstruction "mean" (kumar, the default) or "sum": MSE summed over genes,
    averaged over the batch; with KL weight 1 Kumar et al.'s objective with a Gaussian p(x|z)
    of variance 1/2. The fork's reductions are its own (a "sum" summed over the batch too).
    Parts: recon, kld (as they enter the loss), dip.
    """

    name = "dipvae"

    @property
    def reference_reconstruction(self):
        return "sum" if self.objective == "fork" else "mean"

    @property
    def fixed_kld_weight(self) -> float | None:
        """The fork applies no M_N: its KL weight is 1 whatever the run says."""
        return 1.0 if self.objective == "fork" else None

    def __init__(self, n_genes, latent, hidden, output="sigmoid", activation="relu",
                 lambda_offdiag=0.1, lambda_diag=0.05, dip_type="ii", objective="kumar"):
        super().__init__(n_genes, latent, hidden, output, activation)
        check_choices("dipvae", dip_type=dip_type, objective=objective)
        self.lambda_offdiag, self.lambda_diag = lambda_offdiag, lambda_diag
        self.dip_type, self.objective = dip_type, objective

    def covariance(self, mu: Tensor, log_var: Tensor) -> Tensor:
        """[B x D], [B x D] -> [D x D], the matrix the penalty pushes towards I."""
        if self.objective == "fork":
            centred = mu - mu.mean(dim=1, keepdim=True)
            return centred.T @ centred + torch.diagonal((2 * log_var).exp(), dim1=0).mean()
        centred = mu - mu.mean(dim=0, keepdim=True)
        cov = centred.T @ centred / mu.shape[0]
        if self.dip_type == "ii":
            cov = cov + torch.diag(log_var.exp().mean(dim=0))
        return cov

    def loss(self, x, out, kld_weight):
        mu, log_var = out["mu"], out["log_var"]
        dip = dip_penalty(self.covariance(mu, log_var), self.lambda_offdiag, self.lambda_diag)
        if self.objective == "fork":
            recon = F.mse_loss(out["recon"], x, reduction="sum")
            kld = kl_per_sample(mu, log_var).sum()
            return {"loss": recon + kld_weight * kld + dip, "recon": recon, "kld": kld,
                    "dip": dip}
        recon = self.squared_error(out["recon"], x)
        kld = kl_per_sample(mu, log_var).mean()
        return {"loss": recon + kld_weight * kld + dip, "recon": recon, "kld": kld, "dip": dip}
