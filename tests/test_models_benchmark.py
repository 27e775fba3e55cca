"""The benchmark's four models (Eltager et al. 2023): every loss part and variant against a
direct transcription of its formula, and the schedules (capacity, annealing, temperature)."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vaebench.models import build_model
from vaebench.models.betatc import mss_log_weights

B, G, D, H = 12, 30, 4, 16


def make(name, **params):
    torch.manual_seed(0)
    return build_model(name, G, D, [H], "sigmoid", params)


def random_outputs(seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(B, G, generator=g)
    return x, {"recon": torch.rand(B, G, generator=g), "mu": torch.randn(B, D, generator=g),
               "log_var": 0.5 * torch.randn(B, D, generator=g),
               "z": torch.randn(B, D, generator=g)}


def kld_mean(mu, log_var):
    return torch.mean(-0.5 * torch.sum(1 + log_var - mu**2 - log_var.exp(), dim=1), dim=0)


def close(got, want):
    torch.testing.assert_close(got, torch.as_tensor(want, dtype=got.dtype), rtol=1e-5, atol=1e-6)


# ----- BetaVAE ----------------------------------------------------------------------------------

def test_betavae_burgess_and_higgins_match_their_formulas():
    x, out = random_outputs()
    recon, kld = F.mse_loss(out["recon"], x), kld_mean(out["mu"], out["log_var"])
    model = make("betavae", gamma=10.0, max_capacity=25.0, capacity_steps=100)
    for step in (1, 2, 3):  # AntixK: num_iter += 1, then C = clamp(C_max / steps * t, 0, C_max)
        parts = model.loss(x, out, kld_weight=0.3)
        capacity = min(25.0 / 100 * step, 25.0)
        close(parts["capacity"], capacity)
        close(parts["loss"], recon + 10.0 * 0.3 * (kld - capacity).abs())
        close(parts["recon"], recon)
        close(parts["kld"], kld)
    higgins = make("betavae", objective="higgins", beta=4.0).loss(x, out, kld_weight=0.3)
    assert set(higgins) == {"loss", "recon", "kld"}
    close(higgins["loss"], recon + 4.0 * 0.3 * kld)


@pytest.mark.parametrize("clock,ticks", [("train", 5), ("all_calls", 8)])
def test_the_capacity_clock_counts_training_steps_or_every_call(clock, ticks):
    x, out = random_outputs()
    model = make("betavae", capacity_steps=10, max_capacity=4.0, capacity_clock=clock)
    for _ in range(5):
        model.train()
        model.loss(x, out, 0.1)
    model.eval()
    for _ in range(3):  # validation batches: tick only with the fork's clock
        parts = model.loss(x, out, 0.1)
    assert model.clock == ticks
    close(parts["capacity"], min(4.0 * ticks / 10, 4.0))
    model.train()
    for _ in range(20):
        parts = model.loss(x, out, 0.1)
    close(parts["capacity"], 4.0)  # capped at max_capacity


# ----- BetaTCVAE --------------------------------------------------------------------------------

def reference_log_density(x, mu, logvar):
    norm = -0.5 * (math.log(2 * math.pi) + logvar)
    return norm - 0.5 * ((x - mu) ** 2 * torch.exp(-logvar))


def reference_betatc(x, recons, mu, log_var, z, dataset_size, num_iter, training, alpha=1.0,
                     beta=6.0, gamma=1.0, anneal_steps=200):
    """AntixK betatc_vae.py loss_function (the fork's), with its weight matrix."""
    weight = 1
    recons_loss = F.mse_loss(recons, x, reduction="sum")
    log_q_zx = reference_log_density(z, mu, log_var).sum(dim=1)
    zeros = torch.zeros_like(z)
    log_p_z = reference_log_density(z, zeros, zeros).sum(dim=1)
    batch_size, latent_dim = z.shape
    mat_log_q_z = reference_log_density(z.view(batch_size, 1, latent_dim),
                                        mu.view(1, batch_size, latent_dim),
                                        log_var.view(1, batch_size, latent_dim))
    strat_weight = (dataset_size - batch_size + 1) / (dataset_size * (batch_size - 1))
    importance_weights = torch.Tensor(batch_size, batch_size).fill_(1 / (batch_size - 1))
    importance_weights.view(-1)[::batch_size] = 1 / dataset_size
    importance_weights.view(-1)[1::batch_size] = strat_weight
    importance_weights[batch_size - 2, 0] = strat_weight
    log_importance_weights = importance_weights.log()
    mat_log_q_z += log_importance_weights.view(batch_size, batch_size, 1)
    log_q_z = torch.logsumexp(mat_log_q_z.sum(2), dim=1, keepdim=False)
    log_prod_q_z = torch.logsumexp(mat_log_q_z, dim=1, keepdim=False).sum(1)
    mi_loss = (log_q_zx - log_q_z).mean()
    tc_loss = (log_q_z - log_prod_q_z).mean()
    kld_loss = (log_prod_q_z - log_p_z).mean()
    anneal_rate = min(0 + 1 * num_iter / anneal_steps, 1) if training else 1.
    loss = recons_loss / batch_size + alpha * mi_loss + weight * (
        beta * tc_loss + anneal_rate * gamma * kld_loss)
    return loss, recons_loss / batch_size, mi_loss, tc_loss, kld_loss


@pytest.mark.parametrize("training", [True, False])
def test_betatcvae_fork_weights_reproduce_the_reference_loss(training):
    x, out = random_outputs()
    model = make("betatcvae", weights="fork", anneal_steps=200)
    model.dataset_size = 500
    model.train(training)
    for _ in range(3):
        # the reference's weight is 1: what a run's kld_weight null resolves to for this model
        parts = model.loss(x, out, kld_weight=1.0)
    loss, recon, mi, tc, dwkl = reference_betatc(x, out["recon"], out["mu"], out["log_var"],
                                                 out["z"], 500, 3, training)
    for name, want in (("loss", loss), ("recon", recon), ("mi", mi), ("tc", tc),
                       ("dwkl", dwkl), ("kld", kld_mean(out["mu"], out["log_var"]))):
        close(parts[name], want)


def test_mss_weights_as_published_sum_to_one_with_the_own_posterior_at_1_over_n():
    n, batch = 500, 6
    w = mss_log_weights(batch, n, "stratified").exp()
    torch.testing.assert_close(w.sum(1), torch.ones(batch, dtype=w.dtype))
    torch.testing.assert_close(w.diagonal(), torch.full((batch,), 1 / n, dtype=w.dtype))
    stratum = (n - batch + 1) / (n * (batch - 1))
    for i in range(batch):
        others = sorted(w[i, j].item() for j in range(batch) if j != i)
        assert others == pytest.approx(sorted([1 / (batch - 1)] * (batch - 2) + [stratum]))
    fork = mss_log_weights(batch, n, "fork").exp()
    assert fork[0, 0] == fork[3, 0] == pytest.approx(1 / n)  # column 0, not the diagonal
    assert fork[3, 3] == pytest.approx(1 / (batch - 1))


def test_betatcvae_stratified_is_the_same_formula_with_the_published_weights():
    x, out = random_outputs()
    model = make("betatcvae")
    model.dataset_size = 500
    model.eval()
    parts = model.loss(x, out, kld_weight=1.0)
    log_w = mss_log_weights(B, 500, "stratified").float()
    pairs = reference_log_density(out["z"].unsqueeze(1), out["mu"].unsqueeze(0),
                                  out["log_var"].unsqueeze(0))
    log_q_z = torch.logsumexp(log_w + pairs.sum(2), 1)
    log_prod = torch.logsumexp(log_w.unsqueeze(2) + pairs, 1).sum(1)
    log_q_zx = reference_log_density(out["z"], out["mu"], out["log_var"]).sum(1)
    close(parts["mi"], (log_q_zx - log_q_z).mean())
    close(parts["tc"], (log_q_z - log_prod).mean())


def test_betatcvae_anneals_the_dimension_wise_kl_over_training_steps_only():
    x, out = random_outputs()
    model = make("betatcvae", anneal_steps=4, alpha=0.0, beta=0.0, gamma=1.0)
    model.dataset_size = 100
    weights = []
    for _ in range(6):
        parts = model.loss(x, out, 1.0)
        weights.append(((parts["loss"] - parts["recon"]) / parts["dwkl"]).item())
    assert weights == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 1.0], rel=1e-4)
    model.eval()
    parts = model.loss(x, out, 0.5)  # a KL weight (or warm-up) scales the annealed term
    assert model.clock == 6
    close(parts["loss"] - parts["recon"], 0.5 * parts["dwkl"])


def test_betatcvae_extra_head_layer_is_an_option():
    assert not hasattr(make("betatcvae"), "fc")
    model = make("betatcvae", head_hidden=256)
    assert (model.fc.in_features, model.fc.out_features, model.fc_mu.in_features) == (H, 256, 256)
    assert model(torch.rand(B, G))["mu"].shape == (B, D)


# ----- DIPVAE -----------------------------------------------------------------------------------

def test_dip_covariance_matches_numpy_on_a_hand_made_batch():
    mu = torch.tensor([[1.0, 2.0], [3.0, 0.0], [2.0, 1.0], [0.0, 5.0]])
    log_var = torch.log(torch.tensor([[0.5, 1.0], [1.5, 2.0], [1.0, 1.0], [1.0, 3.0]]))
    want_i = np.cov(mu.numpy().T, bias=True)  # centred over samples, divided by B
    model = build_model("dipvae", 3, 2, [4], "linear", {"dip_type": "i"})
    np.testing.assert_allclose(model.covariance(mu, log_var).numpy(), want_i, rtol=1e-6)
    model = build_model("dipvae", 3, 2, [4], "linear", {"dip_type": "ii"})
    want_ii = want_i + np.diag([1.0, 1.75])  # + mean over samples of sigma^2
    np.testing.assert_allclose(model.covariance(mu, log_var).numpy(), want_ii, rtol=1e-6)


@pytest.mark.parametrize("dip_type", ["i", "ii"])
def test_dipvae_kumar_loss_parts(dip_type):
    x, out = random_outputs()
    parts = make("dipvae", dip_type=dip_type, lambda_offdiag=0.1, lambda_diag=0.05).loss(
        x, out, kld_weight=0.3)
    mu, log_var = out["mu"].numpy().astype(np.float64), out["log_var"].numpy().astype(np.float64)
    cov = np.cov(mu.T, bias=True) + (np.diag(np.exp(log_var).mean(0)) if dip_type == "ii" else 0)
    off = cov - np.diag(np.diag(cov))
    dip = 0.1 * (off**2).sum() + 0.05 * ((np.diag(cov) - 1) ** 2).sum()
    recon, kld = F.mse_loss(out["recon"], x), kld_mean(out["mu"], out["log_var"])
    close(parts["dip"], dip)
    close(parts["loss"], recon + 0.3 * kld + dip)
    close(parts["recon"], recon)
    close(parts["kld"], kld)


def test_dipvae_fork_reproduces_the_reference_arithmetic():
    x, out = random_outputs()
    mu, log_var = out["mu"], out["log_var"]
    # meltager/vae_benchmark models/dip_vae.py (AntixK's dip_vae.py with kld_weight 1), transcribed
    recons_loss = F.mse_loss(out["recon"], x, reduction="sum")
    kld_loss = torch.sum(-0.5 * torch.sum(1 + log_var - mu**2 - log_var.exp(), dim=1), dim=0)
    centered_mu = mu - mu.mean(dim=1, keepdim=True)
    cov_mu = centered_mu.t().matmul(centered_mu).squeeze()
    cov_z = cov_mu + torch.mean(torch.diagonal((2.0 * log_var).exp(), dim1=0), dim=0)
    cov_diag = torch.diag(cov_z)
    cov_offdiag = cov_z - torch.diag(cov_diag)
    dip_loss = 0.1 * torch.sum(cov_offdiag**2) + 0.05 * torch.sum((cov_diag - 1) ** 2)
    model = make("dipvae", objective="fork")
    assert model.fixed_kld_weight == 1.0  # the trainer hands it 1 whatever the run says
    parts = model.loss(x, out, kld_weight=model.fixed_kld_weight)
    close(parts["loss"], recons_loss + kld_loss + dip_loss)
    close(parts["recon"], recons_loss)
    close(parts["kld"], kld_loss)
    close(parts["dip"], dip_loss)


# ----- CategoricalVAE ---------------------------------------------------------------------------

def test_categorical_loss_matches_the_reference_formula():
    g = torch.Generator().manual_seed(3)
    x, recon = torch.rand(B, G, generator=g), torch.rand(B, G, generator=g)
    logits = torch.randn(B, D, 40, generator=g)
    parts = make("categorical", alpha=2.0).loss(x, {"recon": recon, "logits": logits}, 0.3)
    q = F.softmax(logits, dim=-1)
    eps = 1e-7
    h1 = q * torch.log(q + eps)
    h2 = q * math.log(1.0 / 40 + eps)
    kld = torch.mean(torch.sum(h1 - h2, dim=(1, 2)), dim=0)  # AntixK cat_vae.py
    close(parts["kld"], kld)
    close(parts["loss"], 2.0 * F.mse_loss(recon, x) + 0.3 * kld)


def test_the_temperature_anneals_every_interval_down_to_its_floor():
    x = torch.rand(B, G)
    model = make("categorical", temperature=1.0, min_temperature=0.5, anneal_rate=0.01,
                 anneal_interval=10)
    seen = []
    for _ in range(100):
        model.loss(x, model(x), 0.1)
        seen.append(model.temperature)
    assert seen[8] == 1.0 and seen[9] == pytest.approx(math.exp(-0.1))  # t = 10
    assert seen[19] == pytest.approx(math.exp(-0.2)) and seen[18] == seen[10]
    assert seen[-1] == 0.5  # exp(-0.7) < 0.5: floored
    model.eval()
    model.loss(x, model(x), 0.1)
    assert model.clock == 100  # validation does not step it


def test_categorical_fork_is_one_d_way_categorical_with_a_fixed_temperature():
    model = make("categorical", variant="fork", categorical_dim=33, temperature=0.5)
    x = torch.rand(B, G)
    out = model(x)
    assert out["z"].shape == out["logits"].shape == (B, D) and model.embed_width == D
    torch.testing.assert_close(out["z"].sum(1), torch.ones(B))
    for _ in range(300):
        parts = model.loss(x, out, 0.1)
    assert model.temperature == 0.5
    q = F.softmax(out["logits"], dim=-1)
    want = torch.mean(torch.sum(q * (torch.log(q + 1e-7) - math.log(1 / 33 + 1e-7)), dim=1))
    close(parts["kld"], want)


# ----- Shared -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["vanilla", "betatcvae", "categorical"])
def test_tanh_reaches_every_hidden_block(name):
    model = build_model(name, G, D, [H, 8], "linear", activation="tanh")
    blocks = [*model.encoder, *model.decoder]
    assert len(blocks) == 4
    assert all(isinstance(block[2], torch.nn.Tanh) for block in blocks)
    assert not any(isinstance(m, torch.nn.ReLU) for m in model.modules())
