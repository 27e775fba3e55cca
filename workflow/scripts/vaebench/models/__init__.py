"""The VAEs, one module per model family on one MLP encoder/decoder (base), and the registry.

Shapes: B batch, G genes, D latent, S importance samples (IWAE).

The objectives transcribe AntixK/PyTorch-VAE (https://github.com/AntixK/PyTorch-VAE, the code
both studies forked), including its reductions: reconstruction is a
mean over all B x G elements, KL a sum over D averaged over B, and `kld_weight` (M_N) multiplies
the KL. The run setting `reconstruction: sum` sums the reconstruction over genes instead
(base.py), which with a KL weight of 1 makes each loss its own paper's objective. Where the
reference is numerically unsafe but algebraically equal (log-cosh), the stable form is used;
where it is debatable (IWAE), the alternative is an option.

Four more families come from the benchmark that followed the studies (Eltager et al. 2023,
doi:10.1371/journal.pone.0292126; its code meltager/vae_benchmark models/): BetaVAE,
BetaTCVAE, DIPVAE, CategoricalVAE; each has the published method as its default and the
benchmark's arithmetic as a named variant where they differ (docs/decisions.md).

Every `loss()` returns a dict of scalar tensors: `loss` (what is optimised), `recon`, `kld`,
and the model's own terms (mmd; capacity; mi, tc, dwkl; dip), so that any other weighting can be
recomputed from the parts.
"""

from __future__ import annotations

import inspect

from ..config import ConfigError
from .base import VAE, Linear, Objective, kl_per_sample, kl_pressure, resolve_objective
from .beta import BetaVAE
from .betatc import BetaTCVAE
from .categorical import CategoricalVAE
from .dip import DIPVAE
from .infovae import InfoVAE, pairwise_sq_dists
from .iwae import IWAE
from .logcosh import LogCoshVAE
from .vanilla import VanillaVAE

__all__ = ["DIPVAE", "IWAE", "VAE", "BetaTCVAE", "BetaVAE", "CategoricalVAE", "InfoVAE",
           "Linear", "LogCoshVAE", "MODELS", "Objective", "VanillaVAE", "build_model",
           "kl_per_sample", "kl_pressure", "pairwise_sq_dists", "resolve_objective",
           "resolved_params"]

MODELS: dict[str, type[VAE]] = {
    cls.name: cls for cls in (VanillaVAE, IWAE, InfoVAE, LogCoshVAE, BetaVAE, BetaTCVAE, DIPVAE,
                              CategoricalVAE)
}


def resolved_params(name: str, params: dict | None = None) -> dict:
    """Every option of model `name` with the value a run of it uses: the run's own, else the
    model's default (what run.json records, so that defaults are provenance too)."""
    shared = {"self", "n_genes", "latent", "hidden", "output", "activation"}
    defaults = {key: option.default for key, option
                in inspect.signature(MODELS[name].__init__).parameters.items()
                if key not in shared and option.default is not inspect.Parameter.empty}
    return {**defaults, **(params or {})}


def build_model(name: str, n_genes: int, latent: int, hidden: list[int], output: str,
                params: dict | None = None, activation: str = "relu",
                reconstruction: str | None = None) -> VAE:
    """Registry lookup; `params` are the model's own options (e.g. IWAE num_samples);
    `reconstruction`: "mean", "sum" or None (the model's reference)."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; known models: {', '.join(MODELS)}")
    try:
        model = MODELS[name](n_genes, latent, list(hidden), output, activation, **(params or {}))
    except TypeError as err:
        raise ConfigError(f"bad model_params for {name!r}: {params} ({err})") from None
    model.reconstruction = reconstruction
    return model
