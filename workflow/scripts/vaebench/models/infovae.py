"""InfoVAE / MMD-VAE (AntixK/PyTorch-VAE models/info_vae.py)."""

from __future__ import annotations

import torch
from torch import Tensor

from ..config import ConfigError
from .base import VAE, check_choices, kl_per_sample


def pairwise_sq_dists(a: Tensor, b: Tensor) -> Tensor:
    """[N x D], [M x D] -> [N x M] squared Euclidean distances, without an N x M x D tensor."""
    d2 = (a * a).sum(-1, keepdim=True) + (b * b).sum(-1) - 2.0 * (a @ b.T)
    return d2.clamp_min(0.0)


class InfoVAE(VAE):
    """InfoVAE / MMD-VAE (Zhao et al. 2019), AntixK's arithmetic (models/info_vae.py):

    loss = beta * MSE + (1 - alpha) * M_N * KL + (alpha + reg_weight - 1) / (B (B - 1)) * MMD
    IMQ kernel k = C / (1e-7 + C + |a - b|^2), C = 2 D latent_var; MMD sums the off-diagonal
    kernel entries of k(p,p) + k(z,z) - 2 k(p,z) with p ~ N(0, I). The RBF kernel keeps the
    reference's full-matrix means and bandwidth (it is effectively no regularisation).
    Kernels come from pairwise squared distances: O(B^2) memory, not the reference's O(B^2 D).

    reconstruction "mean" (the studies): MSE is the mean over B x G, KL weight M_N. "sum": MSE
    summed over genes, averaged over the batch; with KL weight 1 (and beta 1, the paper's) the
    loss is Zhao et al.'s InfoVAE objective, -E log p(x|z) + (1 - alpha) KL + (alpha + lambda
    - 1) MMD, lambda = reg_weight, with a Gaussian p(x|z) of variance 1/(2 beta); the implied
    variance is (1 - alpha) x the KL pressure / (2 beta).

    The recorded part `mmd` is MMD / (B (B - 1)), the term as it enters the loss before its
    weight (alpha + reg_weight - 1): for IMQ the unbiased estimate of MMD^2, comparable between
    batch sizes (training batches and the whole validation set).
    """

    name = "infovae"
    default_grad_clip = 0.8

    def __init__(self, n_genes, latent, hidden, output="sigmoid", activation="relu",
                 alpha=-9.0, beta=10.5, reg_weight=110.0, kernel="imq", latent_var=2.0):
        super().__init__(n_genes, latent, hidden, output, activation)
        if alpha > 0:
            raise ConfigError(f"infovae alpha must be <= 0 (as the reference asserts), got {alpha}")
        check_choices("infovae", kernel=kernel)
        self.alpha, self.beta, self.reg_weight = alpha, beta, reg_weight
        self.kernel, self.latent_var = kernel, latent_var

    def _kernel_term(self, a: Tensor, b: Tensor) -> Tensor:
        d2 = pairwise_sq_dists(a, b)
        dim = a.shape[-1]
        if self.kernel == "imq":
            c = 2.0 * dim * self.latent_var
            k = c / (1e-7 + c + d2)
            return k.sum() - k.diagonal().sum()
        sigma = 2.0 * dim * self.latent_var
        return torch.exp(-(d2 / dim) / sigma).mean()

    def mmd(self, z: Tensor) -> Tensor:
        prior = torch.randn_like(z)
        return (self._kernel_term(prior, prior) + self._kernel_term(z, z)
                - 2 * self._kernel_term(prior, z))

    def loss(self, x, out, kld_weight):
        batch = x.shape[0]
        recon = self.squared_error(out["recon"], x)
        kld = kl_per_sample(out["mu"], out["log_var"]).mean()
        mmd = self.mmd(out["z"]) / (batch * (batch - 1))
        loss = (self.beta * recon + (1.0 - self.alpha) * kld_weight * kld
                + (self.alpha + self.reg_weight - 1.0) * mmd)
        return {"loss": loss, "recon": recon, "kld": kld, "mmd": mmd}
