"""VanillaVAE (AntixK/PyTorch-VAE models/vanilla_vae.py; Kingma & Welling 2014)."""

from __future__ import annotations

from .base import VAE, kl_per_sample


class VanillaVAE(VAE):
    """loss = recon + w * KL, KL = mean_b sum_d KL(q(z|x_b) || N(0, I)), w the KL weight.
    reconstruction "mean" (the studies; AntixK models/vanilla_vae.py): recon = mean_{b,g}
    (x_hat - x)^2, w = M_N. "sum": recon = mean_b sum_g (x_hat - x)^2; with w = 1 this is
    Kingma & Welling's negative Gaussian ELBO with a fixed variance sigma^2 = 1/2 (up to
    G/2 log pi). Either way the implied sigma^2 is the KL pressure / 2 (base.kl_pressure).
    """

    name = "vanilla"

    def loss(self, x, out, kld_weight):
        recon = self.squared_error(out["recon"], x)
        kld = kl_per_sample(out["mu"], out["log_var"]).mean()
        return {"loss": recon + kld_weight * kld, "recon": recon, "kld": kld}
