"""VanillaVAE (models.md §1.2)."""

from __future__ import annotations

import torch.nn.functional as F

from .base import VAE, kl_per_sample


class VanillaVAE(VAE):
    """loss = mean_{b,g} (x_hat - x)^2 + M_N * mean_b sum_d KL (models.md §1.2)."""

    name = "vanilla"

    def loss(self, x, out, kld_weight):
        recon = F.mse_loss(out["recon"], x)
        kld = kl_per_sample(out["mu"], out["log_var"]).mean()
        return {"loss": recon + kld_weight * kld, "recon": recon, "kld": kld}
