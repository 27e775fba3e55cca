"""With reconstruction "sum" and a KL weight of 1, every model's loss is its own paper's
objective: each is checked against an independent transcription (torch.distributions, explicit
loops) on a hand-made batch, its parts and its gradients. The Gaussian likelihood has the fixed
variance 1/2, so -log p(x|z) = sum_g (x_hat - x)^2 + G/2 log(pi): the losses leave out that
constant, which changes no gradient."""

import math

import pytest
import torch
from torch.distributions import Categorical, Normal, kl_divergence

from vaebench.models import build_model

G, D, B = 7, 3, 6
CONSTANT = G / 2 * math.log(math.pi)  # of -log N(x; x_hat, 1/2), summed over the genes


def batch() -> torch.Tensor:
    """A hand-made batch in [0, 1]: B samples of G genes, no two alike."""
    return (torch.arange(B * G, dtype=torch.float64).view(B, G) * 7 % 11) / 10


def model_and_outputs(name: str, seed: int = 0, **params):
    torch.manual_seed(seed)
    model = build_model(name, G, D, [5], "sigmoid", params, reconstruction="sum").double()
    model.dataset_size = 50
    x = batch()
    return model, x, model(x)


def nll(x, recon):
    """-E_q log p(x|z), Gaussian with variance 1/2, summed over genes, averaged over samples."""
    return -Normal(recon, math.sqrt(0.5)).log_prob(x).sum(-1).mean()


def gaussian_kl(mu, log_var):
    posterior = Normal(mu, torch.exp(0.5 * log_var))
    return kl_divergence(posterior, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)


def same(got: dict, want: dict, model, atol=1e-9):
    """Every part named in `want` agrees, and so do the gradients of the two losses."""
    for part, value in want.items():
        torch.testing.assert_close(got[part], value, rtol=1e-7, atol=atol, msg=part)
    params = [p for p in model.parameters() if p.requires_grad]
    grads = [torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
             for loss in (got["loss"], want["loss"])]
    for g_got, g_want, p in zip(*grads, params):
        torch.testing.assert_close(
            g_got if g_got is not None else torch.zeros_like(p),
            g_want if g_want is not None else torch.zeros_like(p), rtol=1e-6, atol=atol * 10)


def test_vanilla_is_kingma_and_wellings_gaussian_elbo():
    model, x, out = model_and_outputs("vanilla")
    kl = gaussian_kl(out["mu"], out["log_var"]).mean()
    neg_elbo = nll(x, out["recon"]) + kl
    same(model.loss(x, out, 1.0),
         {"loss": neg_elbo - CONSTANT, "recon": nll(x, out["recon"]) - CONSTANT, "kld": kl}, model)


def test_iwae_burda_is_the_importance_weighted_bound():
    model, x, out = model_and_outputs("iwae", num_samples=4, objective="burda")
    z, recon = out["z"], out["recon"]  # [B x S x D], [B x S x G]
    log_w = torch.zeros(B, 4, dtype=torch.float64)
    for b in range(B):
        q = Normal(out["mu"][b], torch.exp(0.5 * out["log_var"][b]))
        for s in range(4):
            log_likelihood = Normal(recon[b, s], math.sqrt(0.5)).log_prob(x[b]).sum()
            log_prior = Normal(0.0, 1.0).log_prob(z[b, s]).sum()
            log_w[b, s] = log_likelihood + log_prior - q.log_prob(z[b, s]).sum()
    bound = (torch.logsumexp(log_w, dim=1) - math.log(4)).mean()
    sse = ((recon - x.unsqueeze(1)) ** 2).sum(-1).mean()
    same(model.loss(x, out, 1.0), {"loss": -bound - CONSTANT, "recon": sse,
                                   "kld": gaussian_kl(out["mu"], out["log_var"]).mean()}, model)


def imq_mmd(z, prior, latent_var):
    """Gretton et al.'s unbiased MMD^2 (U-statistic) with the IMQ kernel C / (C + |a - b|^2)."""
    c = 2 * z.shape[1] * latent_var

    def k(a, b):
        return c / (c + ((a - b) ** 2).sum())

    n, total = len(z), 0.0
    for i in range(n):
        for j in range(n):
            if i != j:
                total = total + k(z[i], z[j]) + k(prior[i], prior[j]) - k(z[i], prior[j]) \
                    - k(prior[i], z[j])
    return total / (n * (n - 1))


def test_infovae_is_zhaos_objective():
    alpha, reg_weight = -2.0, 5.0
    model, x, out = model_and_outputs("infovae", alpha=alpha, beta=1.0, reg_weight=reg_weight)
    torch.manual_seed(3)
    got = model.loss(x, out, 1.0)
    torch.manual_seed(3)  # the same draws from the prior
    prior = torch.randn_like(out["z"])
    mmd = imq_mmd(out["z"], prior, latent_var=2.0)
    kl = gaussian_kl(out["mu"], out["log_var"]).mean()
    want = nll(x, out["recon"]) + (1 - alpha) * kl + (alpha + reg_weight - 1) * mmd
    same(got, {"loss": want - CONSTANT, "kld": kl, "mmd": mmd}, model, atol=1e-7)


def test_logcosh_is_the_log_cosh_vae_objective():
    model, x, out = model_and_outputs("logcosh", alpha=10.0, beta=1.0)
    t = out["recon"] - x
    recon = (torch.log(torch.cosh(10.0 * t)) / 10.0).sum(-1).mean()
    kl = gaussian_kl(out["mu"], out["log_var"]).mean()
    same(model.loss(x, out, 1.0), {"loss": recon + kl, "recon": recon, "kld": kl}, model)


def test_betavae_higgins_and_burgess_objectives():
    model, x, out = model_and_outputs("betavae", objective="higgins", beta=4.0)
    kl = gaussian_kl(out["mu"], out["log_var"]).mean()
    same(model.loss(x, out, 1.0), {"loss": nll(x, out["recon"]) + 4.0 * kl - CONSTANT}, model)
    model, x, out = model_and_outputs("betavae", objective="burgess", gamma=10.0,
                                      max_capacity=25.0, capacity_steps=100)
    kl = gaussian_kl(out["mu"], out["log_var"]).mean()
    capacity = 25.0 * 1 / 100  # the first training step
    same(model.loss(x, out, 1.0),
         {"loss": nll(x, out["recon"]) + 10.0 * (kl - capacity).abs() - CONSTANT,
          "capacity": torch.tensor(capacity, dtype=torch.float64)}, model)


def test_betatcvae_is_chens_decomposition_with_minibatch_stratified_sampling():
    n_data, a, b_, g = 50, 1.0, 6.0, 2.0
    model, x, out = model_and_outputs("betatcvae", alpha=a, beta=b_, gamma=g)
    model.eval()  # the dimension-wise KL at its full weight
    z, mu, std = out["z"], out["mu"], torch.exp(0.5 * out["log_var"])
    # Chen et al. 2018, appendix: q(z_i) ~ 1/N q(z_i|x_i) + (N - B + 1)/(N (B - 1)) q(z_i|x_r)
    # + 1/(B - 1) sum of the B - 2 others, r one other sample of the batch (the next one here)
    weight = torch.full((B, B), 1 / (B - 1), dtype=torch.float64)
    for i in range(B):
        weight[i, i] = 1 / n_data
        weight[i, (i + 1) % B] = (n_data - B + 1) / (n_data * (B - 1))
    log_q_pairs = torch.stack([torch.stack([Normal(mu[j], std[j]).log_prob(z[i])
                                            for j in range(B)]) for i in range(B)])  # [i,j,d]
    log_q_z = torch.logsumexp(weight.log() + log_q_pairs.sum(-1), dim=1)
    log_prod = torch.logsumexp(weight.log().unsqueeze(-1) + log_q_pairs, dim=1).sum(-1)
    log_q_zx = Normal(mu, std).log_prob(z).sum(-1)
    log_p_z = Normal(0.0, 1.0).log_prob(z).sum(-1)
    mi, tc = (log_q_zx - log_q_z).mean(), (log_q_z - log_prod).mean()
    dwkl = (log_prod - log_p_z).mean()
    want = nll(x, out["recon"]) + a * mi + b_ * tc + g * dwkl
    same(model.loss(x, out, 1.0),
         {"loss": want - CONSTANT, "mi": mi, "tc": tc, "dwkl": dwkl}, model)


@pytest.mark.parametrize("dip_type", ["i", "ii"])
def test_dipvae_is_kumars_objective(dip_type):
    model, x, out = model_and_outputs("dipvae", dip_type=dip_type, lambda_offdiag=0.1,
                                      lambda_diag=0.05)
    cov = torch.cov(out["mu"].T, correction=0)
    if dip_type == "ii":  # Cov_q(z) = Cov_p(x)[mu] + E_p(x)[diag sigma^2]
        cov = cov + torch.diag(out["log_var"].exp().mean(0))
    off = cov - torch.diag(torch.diagonal(cov))
    penalty = 0.1 * (off**2).sum() + 0.05 * ((torch.diagonal(cov) - 1) ** 2).sum()
    kl = gaussian_kl(out["mu"], out["log_var"]).mean()
    same(model.loss(x, out, 1.0),
         {"loss": nll(x, out["recon"]) + kl + penalty - CONSTANT, "dip": penalty}, model)


def test_categorical_is_jangs_objective():
    model, x, out = model_and_outputs("categorical", categorical_dim=4)
    q = Categorical(logits=out["logits"])  # D variables of 4 classes each
    uniform = Categorical(logits=torch.zeros_like(out["logits"]))
    kl = kl_divergence(q, uniform).sum(-1).mean()
    # the model guards its logs with 1e-7 (the reference's), a ~1e-6 nats difference
    same(model.loss(x, out, 1.0), {"loss": nll(x, out["recon"]) + kl - CONSTANT, "kld": kl},
         model, atol=1e-5)


def test_mean_weighs_the_kl_genes_times_more_than_sum():
    """The studies' arithmetic, times G, is the summed one with the KL weight multiplied by G:
    the KL pressure (base.kl_pressure)."""
    model, x, out = model_and_outputs("vanilla")
    summed = model.loss(x, out, 0.2 * G)
    model.reconstruction = "mean"
    averaged = model.loss(x, out, 0.2)
    torch.testing.assert_close(averaged["loss"] * G, summed["loss"])
