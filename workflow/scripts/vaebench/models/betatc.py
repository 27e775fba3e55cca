"""β-TCVAE (Chen et al. 2018): the KL split into index-code MI, total correlation and
dimension-wise KL, with the minibatch-stratified-sampling (MSS) estimate of log q(z)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..config import ConfigError
from .base import VAE, Linear, check_choices, kl_per_sample

LOG_2PI = math.log(2 * math.pi)


def log_normal(x: Tensor, mu: Tensor, log_var: Tensor) -> Tensor:
    """Elementwise log N(x; mu, exp(log_var)) (broadcasting)."""
    return -0.5 * (LOG_2PI + log_var + (x - mu) ** 2 * torch.exp(-log_var))


def mss_log_weights(batch: int, dataset_size: int, layout: str = "stratified") -> Tensor:
    """log W [B x B]: the weight of posterior j in the estimate of q(z_i) = mean_n q(z_i | n).

    "stratified" (Chen et al. 2018's MSS): row i gives its own posterior 1/N, one other sample
    of the batch (the next, cyclically) (N - B + 1) / (N (B - 1)), the other B - 2 1/(B - 1);
    every row sums to 1.
    "fork": the construction of the reference code (AntixK, the benchmark; copied from
    YannDubs/disentangling-vae, whose #58 questions it): the 1/N and stratum weights are written
    with a stride of B where B + 1 was meant, so they fill columns 0 and 1, and for every row but
    the first the sample's own posterior gets 1/(B - 1).
    """
    n, m = dataset_size, batch - 1
    stratum = (n - m) / (n * m)
    w = torch.full((batch, batch), 1.0 / m, dtype=torch.float64)
    if layout == "fork":
        w.view(-1)[::m + 1] = 1.0 / n
        w.view(-1)[1::m + 1] = stratum
        w[m - 1, 0] = stratum
    else:
        rows = torch.arange(batch)
        w[rows, rows] = 1.0 / n
        w[rows, (rows + 1) % batch] = stratum
    return w.log()


class BetaTCVAE(VAE):
    """loss = sum_g (x_hat - x)^2 / B + w (alpha * MI + beta * TC + anneal * gamma * dwKL)
    with KL weight w. AntixK's arithmetic sums the reconstruction over genes, averages it over
    the batch and sets w = 1 (its `weight = 1  # kwargs['M_N']`): reconstruction "sum" is this
    model's reference, and with it a run's KL weight defaults to 1, which is Chen et al.'s
    objective with a Gaussian p(x|z) of variance 1/2. reconstruction "mean" averages over the
    genes too (the KL then weighs G x w against the ELBO's, as in the studies' models).
    With log q(z_i|x_i) and log p(z_i) summed over D and the MSS estimates
    log q(z_i) = logsumexp_j(log W_ij + sum_d log q(z_id | x_j)) and
    log prod_d q(z_id) = sum_d logsumexp_j(log W_ij + log q(z_id | x_j)), N the size of the split
    the batch comes from (`dataset_size`, set by the trainer):
        MI = mean_i[log q(z_i|x_i) - log q(z_i)], TC = mean_i[log q(z_i) - log prod_d q(z_id)],
        dwKL = mean_i[log prod_d q(z_id) - log p(z_i)].
    anneal = min(t / anneal_steps, 1) in training, t the training steps so far (this one
    included); 1 in validation. `weights`: "stratified" (default, as published) or "fork", the
    reference's arithmetic: its weight layout (mss_log_weights) and its log W added to each of
    the D terms before they are summed, so that log q(z) is estimated with the weights W^D.
    `head_hidden` > 0 puts a Linear(h, head_hidden) without activation between the encoder and
    the heads (the fork: 256). Parts: recon (as in the loss), kld (the analytic KL,
    mean_b sum_d; not in the loss), mi, tc, dwkl.
    """

    name = "betatcvae"
    reference_reconstruction = "sum"

    def __init__(self, n_genes, latent, hidden, output="sigmoid", activation="relu", alpha=1.0,
                 beta=6.0, gamma=1.0, anneal_steps=10000, head_hidden=0, weights="stratified"):
        check_choices("betatcvae", weights=weights)
        if head_hidden < 0 or anneal_steps <= 0:
            raise ConfigError(f"betatcvae needs head_hidden >= 0 and anneal_steps > 0, got "
                              f"{head_hidden} and {anneal_steps}")
        self.head_hidden = int(head_hidden)  # read by build_heads, inside super().__init__
        super().__init__(n_genes, latent, hidden, output, activation)
        self.alpha, self.beta, self.gamma = alpha, beta, gamma
        self.anneal_steps, self.weights = anneal_steps, weights
        self.clock = 0
        # log W per (batch, dataset size, dtype, device): built once, on the host in float64,
        # then kept on the device, instead of a host build and a copy at every step
        self._log_weights: dict[tuple, Tensor] = {}

    def build_heads(self, width, latent):
        if self.head_hidden:
            self.fc = Linear(width, self.head_hidden)
            width = self.head_hidden
        super().build_heads(width, latent)

    def encode(self, x):
        h = self.encoder(x)
        if self.head_hidden:
            h = self.fc(h)
        return self.fc_mu(h), self.fc_var(h)

    def loss(self, x, out, kld_weight):
        z, mu, log_var = out["z"], out["mu"], out["log_var"]
        batch = x.shape[0]
        recon = self.squared_error(out["recon"], x)
        log_q_zx = log_normal(z, mu, log_var).sum(1)
        log_p_z = log_normal(z, torch.zeros_like(z), torch.zeros_like(z)).sum(1)
        pairs = log_normal(z.unsqueeze(1), mu.unsqueeze(0), log_var.unsqueeze(0))  # [B x B x D]
        key = (batch, self.dataset_size or batch, z.dtype, z.device)
        if key not in self._log_weights:
            self._log_weights[key] = mss_log_weights(key[0], key[1], self.weights).to(z)
        log_w = self._log_weights[key]
        weighted = log_w.unsqueeze(2) + pairs
        # The reference adds log W to each of the D terms before summing them: W^D in log q(z).
        summed = weighted.sum(2) if self.weights == "fork" else log_w + pairs.sum(2)
        log_q_z = torch.logsumexp(summed, dim=1)
        log_prod_q_z = torch.logsumexp(weighted, dim=1).sum(1)
        mi = (log_q_zx - log_q_z).mean()
        tc = (log_q_z - log_prod_q_z).mean()
        dwkl = (log_prod_q_z - log_p_z).mean()
        if self.training:
            self.clock += 1
        anneal = min(self.clock / self.anneal_steps, 1.0) if self.training else 1.0
        # w * alpha first: with w = 1 the products, hence the loss, are bit for bit w's absence
        loss = (recon + kld_weight * self.alpha * mi + kld_weight * self.beta * tc
                + kld_weight * anneal * self.gamma * dwkl)
        return {"loss": loss, "recon": recon, "kld": kl_per_sample(mu, log_var).mean(),
                "mi": mi, "tc": tc, "dwkl": dwkl}
