"""β-VAE: Higgins et al. 2017 and the capacity objective of Burgess et al. 2018.

The benchmark (Eltager et al. 2023; meltager/vae_benchmark models/beta_vae.py) ran the capacity
objective with AntixK's arithmetic and the fork's config (configs/bbvae.yaml: gamma 10,
max_capacity 25, 10,000 steps).
"""

from __future__ import annotations

import torch

from ..config import ConfigError
from .base import VAE, check_choices, kl_per_sample


class BetaVAE(VAE):
    """objective "burgess" (default, the benchmark's):
        loss = MSE + gamma * M_N * |KL - C(t)|,  C(t) = min(max_capacity * t / capacity_steps,
        max_capacity), t the number of clock ticks so far (this call included);
    objective "higgins": loss = MSE + beta * M_N * KL.
    MSE is the mean over B x G (reconstruction "mean", the benchmark), or summed over genes and
    averaged over the batch ("sum"), KL = mean_b sum_d KL (as VanillaVAE). With "sum" and KL
    weight 1, the objectives are Higgins et al.'s and Burgess et al.'s with a Gaussian p(x|z)
    of variance 1/2 (their beta and gamma then on their papers' scale). The clock ticks once per
    training step (capacity_clock "train", the default); "all_calls" also ticks on validation
    batches, as the reference's `num_iter` did, so its capacity grew with the validation set's
    size. Parts: recon, kld, and capacity (C(t) of this call; burgess only).
    """

    name = "betavae"

    def __init__(self, n_genes, latent, hidden, output="sigmoid", activation="relu",
                 objective="burgess", beta=4.0, gamma=10.0, max_capacity=25.0,
                 capacity_steps=10000, capacity_clock="train"):
        super().__init__(n_genes, latent, hidden, output, activation)
        check_choices("betavae", objective=objective, capacity_clock=capacity_clock)
        if capacity_steps <= 0:
            raise ConfigError(f"betavae capacity_steps must be positive, got {capacity_steps}")
        self.objective, self.beta, self.gamma = objective, beta, gamma
        self.max_capacity, self.capacity_steps = max_capacity, capacity_steps
        self.capacity_clock = capacity_clock
        self.clock = 0

    def capacity(self) -> float:
        return min(self.max_capacity * self.clock / self.capacity_steps, self.max_capacity)

    def loss(self, x, out, kld_weight):
        recon = self.squared_error(out["recon"], x)
        kld = kl_per_sample(out["mu"], out["log_var"]).mean()
        if self.objective == "higgins":
            return {"loss": recon + self.beta * kld_weight * kld, "recon": recon, "kld": kld}
        if self.training or self.capacity_clock == "all_calls":
            self.clock += 1
        # a fill on the device, not a tensor copied from the host: no host sync on a GPU
        capacity = torch.full_like(kld, self.capacity())
        loss = recon + self.gamma * kld_weight * (kld - capacity).abs()
        return {"loss": loss, "recon": recon, "kld": kld, "capacity": capacity}
