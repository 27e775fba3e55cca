"""Each objective against a direct transcription of the reference (AntixK/PyTorch-VAE models/)."""

import math

import pytest
import torch
import torch.nn.functional as F

from vaebench.config import ConfigError
from vaebench.models import MODELS, build_model

B, G, D, S = 12, 30, 4, 5


def make(name, **params):
    torch.manual_seed(0)
    return build_model(name, G, D, [16], "sigmoid", params)


def random_outputs(recon_shape, with_z_shape):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(B, G, generator=g)
    return x, {"recon": torch.rand(*recon_shape, generator=g),
               "mu": torch.randn(B, D, generator=g),
               "log_var": 0.5 * torch.randn(B, D, generator=g),
               "z": torch.randn(*with_z_shape, generator=g)}


def reference_kld(mu, log_var):
    return torch.mean(-0.5 * torch.sum(1 + log_var - mu**2 - log_var.exp(), dim=1), dim=0)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_forward_shapes_and_loss_parts(name):
    model = make(name)
    x = torch.rand(B, G)
    out = model(x)
    samples = (S,) if name == "iwae" else ()  # IWAE decodes S = 5 samples of z per input
    assert out["recon"].shape == (B, *samples, G)
    if name == "categorical":  # D latents of Q = 40 classes, no mu / log_var
        assert out["z"].shape == out["logits"].shape == (B, D, 40)
        assert model.embed(x).shape == (B, D * 40) == (B, model.embed_width)
    else:
        assert out["mu"].shape == out["log_var"].shape == (B, D) == model.embed(x).shape
        assert out["z"].shape == (B, *samples, D)
    parts = model.loss(x, out, kld_weight=0.1)
    own = {"infovae": {"mmd"}, "betavae": {"capacity"}, "betatcvae": {"mi", "tc", "dwkl"},
           "dipvae": {"dip"}}
    assert set(parts) == {"loss", "recon", "kld", *own.get(name, ())}
    assert all(p.dim() == 0 and torch.isfinite(p) for p in parts.values())
    parts["loss"].backward()


def test_vanilla_matches_reference():
    x, out = random_outputs((B, G), (B, D))
    got = make("vanilla").loss(x, out, kld_weight=0.3)
    recons = F.mse_loss(out["recon"], x)
    kld = reference_kld(out["mu"], out["log_var"])
    torch.testing.assert_close(got["loss"], recons + 0.3 * kld)
    torch.testing.assert_close(got["recon"], recons)
    torch.testing.assert_close(got["kld"], kld)


def reference_iwae(x, recons, mu, log_var, kld_weight):
    # meltager/vae_benchmark models/iwae.py, the TCGA fork's 3-D version of AntixK's iwae.py
    mu = mu.repeat(S, 1, 1).permute(1, 0, 2)
    log_var = log_var.repeat(S, 1, 1).permute(1, 0, 2)
    x = x.repeat(S, 1, 1).permute(1, 0, 2)
    log_p_x_z = ((recons - x) ** 2).flatten(2).mean(-1)
    kld_loss = -0.5 * torch.sum(1 + log_var - mu**2 - log_var.exp(), dim=2)
    log_weight = log_p_x_z + kld_weight * kld_loss
    weight = F.softmax(log_weight, dim=-1)
    return torch.mean(torch.sum(weight * log_weight, dim=-1), dim=0), log_p_x_z.mean()


def test_iwae_antixk_matches_reference():
    x, out = random_outputs((B, S, G), (B, S, D))
    got = make("iwae").loss(x, out, kld_weight=0.2)
    loss, recon = reference_iwae(x, out["recon"], out["mu"], out["log_var"], 0.2)
    torch.testing.assert_close(got["loss"], loss)
    torch.testing.assert_close(got["recon"], recon)
    torch.testing.assert_close(got["kld"], reference_kld(out["mu"], out["log_var"]))


def test_iwae_burda_is_the_importance_weighted_bound_with_detached_weight_gradient():
    x, out = random_outputs((B, S, G), (B, S, D))
    out = {k: v.requires_grad_() for k, v in out.items()}
    model = make("iwae", objective="burda")
    got = model.loss(x, out, kld_weight=0.2)

    mu, log_var, z = out["mu"][:, None], out["log_var"][:, None], out["z"]
    std = torch.exp(0.5 * log_var)
    normal = torch.distributions.Normal
    log_q = normal(mu, std).log_prob(z).sum(-1)
    log_p = normal(torch.zeros_like(z), torch.ones_like(z)).log_prob(z).sum(-1)
    mse = ((out["recon"] - x[:, None]) ** 2).mean(-1)
    log_w = -(mse + 0.2 * (log_q - log_p))
    bound = -(torch.logsumexp(log_w, -1) - math.log(S)).mean()
    torch.testing.assert_close(got["loss"], bound)

    # Burda's estimator: sum_s w~_s grad log w_s with the normalised weights detached.
    surrogate = -(F.softmax(log_w, -1).detach() * log_w).sum(-1).mean()
    g_got = torch.autograd.grad(got["loss"], out["recon"], retain_graph=True)[0]
    g_ref = torch.autograd.grad(surrogate, out["recon"])[0]
    torch.testing.assert_close(g_got, g_ref)


def reference_infovae_loss(x, recons, mu, log_var, z, prior_z, kld_weight, kernel_type):
    # AntixK/PyTorch-VAE models/info_vae.py with configs/infovae.yaml: alpha -9, beta 10.5,
    # reg_weight 110, z_var 2
    alpha, beta, reg_weight, z_var = -9.0, 10.5, 110.0, 2.0

    def compute_kernel(x1, x2):
        n, dim = x1.size(0), x1.size(1)
        x1 = x1.unsqueeze(-2).expand(n, x2.size(0), dim)
        x2 = x2.unsqueeze(-3).expand(n, x2.size(0), dim)
        if kernel_type == "imq":
            c = 2 * dim * z_var
            kernel = c / (1e-7 + c + (x1 - x2).pow(2).sum(dim=-1))
            return kernel.sum() - kernel.diag().sum()
        sigma = 2.0 * dim * z_var
        return torch.exp(-((x1 - x2).pow(2).mean(-1) / sigma))

    mmd = (compute_kernel(prior_z, prior_z).mean() + compute_kernel(z, z).mean()
           - 2 * compute_kernel(prior_z, z).mean())
    bias_corr = x.size(0) * (x.size(0) - 1)
    recons_loss = F.mse_loss(recons, x)
    kld_loss = reference_kld(mu, log_var)
    loss = (beta * recons_loss + (1.0 - alpha) * kld_weight * kld_loss
            + (alpha + reg_weight - 1.0) / bias_corr * mmd)
    return {"loss": loss, "recon": recons_loss, "kld": kld_loss, "mmd": mmd / bias_corr}


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_infovae_matches_reference(kernel):
    x, out = random_outputs((B, G), (B, D))
    model = make("infovae", kernel=kernel)
    torch.manual_seed(7)
    got = model.loss(x, out, kld_weight=0.25)
    torch.manual_seed(7)
    prior_z = torch.randn_like(out["z"])
    ref = reference_infovae_loss(x, out["recon"], out["mu"], out["log_var"], out["z"], prior_z,
                                 0.25, kernel)
    for part in ("loss", "recon", "kld", "mmd"):
        torch.testing.assert_close(got[part], ref[part], rtol=1e-5, atol=1e-5)
    # The recorded parts recompose the loss with the model's weights.
    torch.testing.assert_close(got["loss"], 10.5 * got["recon"] + 10.0 * 0.25 * got["kld"]
                               + 100.0 * got["mmd"])


def test_infovae_mmd_memory_is_quadratic_not_cubic():
    # B=1000, D=200: the reference's (x1 - x2) is a 1000 x 1000 x 200 float tensor (800 MB) per
    # kernel; pairwise distances need B x B (4 MB).
    model = make("infovae")
    z = torch.randn(1000, 200, requires_grad=True)
    with torch.profiler.profile(profile_memory=True) as prof:
        model.mmd(z).backward()
    largest = max(e.cpu_memory_usage for e in prof.events())
    assert 0 < largest < 50e6


def test_logcosh_matches_reference_and_is_finite_where_reference_overflows():
    x, out = random_outputs((B, G), (B, D))
    model = make("logcosh")
    got = model.loss(x, out, kld_weight=0.5)
    alpha, beta = 10.0, 1.0
    t = out["recon"] - x
    ref_recon = (alpha * t + torch.log(1.0 + torch.exp(-2 * alpha * t))
                 - torch.log(torch.tensor(2.0)))
    ref_recon = (1.0 / alpha) * ref_recon.mean()
    ref = ref_recon + beta * 0.5 * reference_kld(out["mu"], out["log_var"])
    torch.testing.assert_close(got["loss"], ref)
    torch.testing.assert_close(got["recon"], ref_recon)

    # z-scored data: residuals below -4.44 SD overflow the reference's exp in float32.
    big = {**out, "recon": x - 6.0}
    t = big["recon"] - x
    assert not torch.isfinite(torch.log(1.0 + torch.exp(-2 * alpha * t))).all()
    stable = model.loss(x, big, kld_weight=0.5)["recon"]
    torch.testing.assert_close(stable, torch.tensor(6.0 - math.log(2.0) / alpha))


def test_unknown_model_and_bad_params_name_the_problem():
    with pytest.raises(ConfigError, match="unknown model 'vqvae'.*vanilla"):
        build_model("vqvae", G, D, [16], "sigmoid")
    with pytest.raises(ConfigError, match="bad model_params for 'iwae'"):
        build_model("iwae", G, D, [16], "sigmoid", {"samples": 3})
    with pytest.raises(ConfigError, match="alpha must be <= 0"):
        build_model("infovae", G, D, [16], "sigmoid", {"alpha": 1.0})


def test_onednn_linear_matches_nn_linear_forward_and_backward():
    from torch import nn

    from vaebench.models.base import Linear
    from vaebench.private_torch import HAS_ONEDNN_LINEAR

    torch.manual_seed(0)
    ours, reference = Linear(50, 20), nn.Linear(50, 20)
    reference.load_state_dict(ours.state_dict())
    x = torch.randn(33, 50, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_()
    torch.testing.assert_close(ours(x), reference(x_ref))
    ours(x).square().sum().backward()
    reference(x_ref).square().sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad)
    torch.testing.assert_close(ours.weight.grad, reference.weight.grad)
    torch.testing.assert_close(ours.bias.grad, reference.bias.grad)
    assert HAS_ONEDNN_LINEAR  # the pinned CPU build has it; the fallback is for other builds
