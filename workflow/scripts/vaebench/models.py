"""The four VAEs of the studies, on one MLP encoder/decoder.

Shapes: B batch, G genes, D latent, S importance samples (IWAE).

The objectives transcribe AntixK/PyTorch-VAE (the code both studies forked; the reference
arithmetic is in shared/reference/models.md §1), including its reductions: reconstruction is a
mean over all B x G elements, KL a sum over D averaged over B, and `kld_weight` (M_N) multiplies
the KL. Where the reference is numerically unsafe but algebraically equal (log-cosh), the stable
form is used; where it is debatable (IWAE), the alternative is an option.

Every `loss()` returns a dict of scalar tensors: `loss` (what is optimised), `recon`, `kld`,
and `mmd` for InfoVAE, so that any other weighting can be recomputed from the parts.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import MODEL_OPTIONS, ConfigError

# A private op of torch's CPU build: fall back to nn.Linear's path wherever it is missing.
ONEDNN = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


class _OneDNNLinear(torch.autograd.Function):
    """y = x W^T + b through oneDNN's matmul, forward and backward.

    On CPU, torch sends fp32 nn.Linear to MKL, which reaches about half of oneDNN's fp32 rate on
    these AMD machines (bench/NOTES-cpu-speed.md: ~200 vs ~450 GFLOP/s on 2 threads). Values
    agree with nn.Linear to fp32 rounding (tests/test_models.py).
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        matmul = torch.ops.mkldnn._linear_pointwise
        grad_x = matmul(grad_out, weight.t(), None, "none", [], "") if ctx.needs_input_grad[0] \
            else None
        grad_w = matmul(grad_out.t(), x.t(), None, "none", [], "") if ctx.needs_input_grad[1] \
            else None
        grad_b = grad_out.sum(0) if ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b


class Linear(nn.Linear):
    """nn.Linear (same parameters, init and state_dict) that uses oneDNN for fp32 on CPU."""

    def forward(self, x: Tensor) -> Tensor:
        if x.device.type == "cpu" and x.dtype == torch.float32 and ONEDNN:
            return _OneDNNLinear.apply(x, self.weight, self.bias)
        return super().forward(x)


def _block(n_in: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.ReLU())


def kl_per_sample(mu: Tensor, log_var: Tensor) -> Tensor:
    """Analytic KL(N(mu, exp(log_var)) || N(0, I)) summed over the last axis: [..., D] -> [...]."""
    return -0.5 * torch.sum(1 + log_var - mu**2 - log_var.exp(), dim=-1)


class VAE(nn.Module):
    """MLP VAE: encoder blocks Linear -> BatchNorm1d -> ReLU, heads fc_mu/fc_var, mirrored decoder.

    hidden=[1024, 512, 256] gives encoder G->1024->512->256 and decoder D->256->512->1024->G.
    `output` is "sigmoid" (min-max scaled data in [0, 1]) or "linear" (z-scored data).
    Subclasses differ only in `loss` (and IWAE in how many z it samples).
    """

    name: str
    default_grad_clip: float | None = None

    def __init__(self, n_genes: int, latent: int, hidden: list[int], output: str = "sigmoid"):
        super().__init__()
        if output not in ("sigmoid", "linear"):
            raise ConfigError(f"output must be 'sigmoid' or 'linear', got {output!r}")
        widths = [n_genes, *hidden]
        self.encoder = nn.Sequential(*(_block(a, b) for a, b in zip(widths, widths[1:])))
        self.fc_mu = Linear(hidden[-1], latent)
        self.fc_var = Linear(hidden[-1], latent)
        back = [latent, *reversed(hidden)]
        self.decoder = nn.Sequential(*(_block(a, b) for a, b in zip(back, back[1:])))
        self.final_layer = Linear(hidden[0], n_genes)
        self.output_activation = nn.Sigmoid() if output == "sigmoid" else nn.Identity()

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x [B x G] -> (mu [B x D], log_var [B x D])."""
        h = self.encoder(x)
        return self.fc_mu(h), self.fc_var(h)

    def decode(self, z: Tensor) -> Tensor:
        """z [N x D] -> reconstruction [N x G]."""
        return self.output_activation(self.final_layer(self.decoder(z)))

    @staticmethod
    def reparameterize(mu: Tensor, log_var: Tensor) -> Tensor:
        return mu + torch.randn_like(mu) * torch.exp(0.5 * log_var)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """x [B x G] -> recon [B x G], mu, log_var, z [B x D]. Always samples z (the reference)."""
        mu, log_var = self.encode(x)
        z = self.reparameterize(mu, log_var)
        return {"recon": self.decode(z), "mu": mu, "log_var": log_var, "z": z}

    def loss(self, x: Tensor, out: dict[str, Tensor], kld_weight: float) -> dict[str, Tensor]:
        """x [B x G], the output of forward, M_N -> {"loss", "recon", "kld", ...} scalars."""
        raise NotImplementedError


class VanillaVAE(VAE):
    """loss = mean_{b,g} (x_hat - x)^2 + M_N * mean_b sum_d KL (models.md §1.2)."""

    name = "vanilla"

    def loss(self, x, out, kld_weight):
        recon = F.mse_loss(out["recon"], x)
        kld = kl_per_sample(out["mu"], out["log_var"]).mean()
        return {"loss": recon + kld_weight * kld, "recon": recon, "kld": kld}


class IWAE(VAE):
    """Importance-weighted AE with S samples of z per input (models.md §1.3).

    objective "antixk" (the studies): per-sample loss l_s = MSE_s + M_N * KL (analytic KL, equal
    for all s), loss = mean_b sum_s softmax(l)_s * l_s with the weights not detached. Because l is
    a loss, this up-weights the worst samples; with small spreads it is ~ the mean over s.
    objective "burda": the importance-weighted bound of Burda et al. with the same likelihood
    scale: log w_s = -(MSE_s + M_N * (log q(z_s|x) - log p(z_s))), loss = -mean_b(logsumexp_s
    log w_s - log S). Its gradient is sum_s softmax(log w)_s * grad log w_s, i.e. the estimator
    with detached weights.
    The decoder sees B*S rows, so BatchNorm statistics are over all samples.
    """

    name = "iwae"

    def __init__(self, n_genes, latent, hidden, output="sigmoid", num_samples=5,
                 objective="antixk"):
        super().__init__(n_genes, latent, hidden, output)
        if objective not in MODEL_OPTIONS["iwae"]["objective"]:
            raise ConfigError(f"iwae objective must be one of "
                              f"{', '.join(MODEL_OPTIONS['iwae']['objective'])}, got {objective!r}")
        self.num_samples = num_samples
        self.objective = objective

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """x [B x G] -> recon [B x S x G], mu, log_var [B x D], z [B x S x D]."""
        mu, log_var = self.encode(x)
        z = self.reparameterize(mu.unsqueeze(1).expand(-1, self.num_samples, -1),
                                log_var.unsqueeze(1).expand(-1, self.num_samples, -1))
        recon = self.decode(z.reshape(-1, z.shape[-1])).view(x.shape[0], self.num_samples, -1)
        return {"recon": recon, "mu": mu, "log_var": log_var, "z": z}

    def loss(self, x, out, kld_weight):
        mse = ((out["recon"] - x.unsqueeze(1)) ** 2).mean(-1)  # [B x S]
        kld = kl_per_sample(out["mu"], out["log_var"])  # [B]
        if self.objective == "antixk":
            per_sample = mse + kld_weight * kld.unsqueeze(1)
            loss = torch.sum(F.softmax(per_sample, dim=-1) * per_sample, dim=-1).mean()
        else:
            mu, log_var = out["mu"].unsqueeze(1), out["log_var"].unsqueeze(1)
            eps = (out["z"] - mu) * torch.exp(-0.5 * log_var)
            # log q(z|x) - log p(z) at the sampled z; the 2*pi constants cancel.
            log_q_minus_log_p = torch.sum(-0.5 * log_var - 0.5 * eps**2 + 0.5 * out["z"] ** 2, -1)
            log_w = -(mse + kld_weight * log_q_minus_log_p)
            loss = -(torch.logsumexp(log_w, dim=-1) - math.log(self.num_samples)).mean()
        return {"loss": loss, "recon": mse.mean(), "kld": kld.mean()}


def pairwise_sq_dists(a: Tensor, b: Tensor) -> Tensor:
    """[N x D], [M x D] -> [N x M] squared Euclidean distances, without an N x M x D tensor."""
    d2 = (a * a).sum(-1, keepdim=True) + (b * b).sum(-1) - 2.0 * (a @ b.T)
    return d2.clamp_min(0.0)


class InfoVAE(VAE):
    """InfoVAE / MMD-VAE (models.md §1.4), AntixK's arithmetic:

    loss = beta * MSE + (1 - alpha) * M_N * KL + (alpha + reg_weight - 1) / (B (B - 1)) * MMD
    IMQ kernel k = C / (1e-7 + C + |a - b|^2), C = 2 D latent_var; MMD sums the off-diagonal
    kernel entries of k(p,p) + k(z,z) - 2 k(p,z) with p ~ N(0, I). The RBF kernel keeps the
    reference's full-matrix means and bandwidth (it is effectively no regularisation; §1.4).
    Kernels come from pairwise squared distances: O(B^2) memory, not the reference's O(B^2 D).

    The recorded part `mmd` is MMD / (B (B - 1)), the term as it enters the loss before its
    weight (alpha + reg_weight - 1): for IMQ the unbiased estimate of MMD^2, comparable between
    batch sizes (training batches and the whole validation set).
    """

    name = "infovae"
    default_grad_clip = 0.8

    def __init__(self, n_genes, latent, hidden, output="sigmoid", alpha=-9.0, beta=10.5,
                 reg_weight=110.0, kernel="imq", latent_var=2.0):
        super().__init__(n_genes, latent, hidden, output)
        if alpha > 0:
            raise ConfigError(f"infovae alpha must be <= 0 (as the reference asserts), got {alpha}")
        if kernel not in MODEL_OPTIONS["infovae"]["kernel"]:
            raise ConfigError(f"infovae kernel must be one of "
                              f"{', '.join(MODEL_OPTIONS['infovae']['kernel'])}, got {kernel!r}")
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
        recon = F.mse_loss(out["recon"], x)
        kld = kl_per_sample(out["mu"], out["log_var"]).mean()
        mmd = self.mmd(out["z"]) / (batch * (batch - 1))
        loss = (self.beta * recon + (1.0 - self.alpha) * kld_weight * kld
                + (self.alpha + self.reg_weight - 1.0) * mmd)
        return {"loss": loss, "recon": recon, "kld": kld, "mmd": mmd}


class LogCoshVAE(VAE):
    """loss = mean[(1/alpha) log cosh(alpha t)] + beta * M_N * KL, t = x_hat - x (models.md §1.5).

    log cosh is computed as alpha t + softplus(-2 alpha t) - log 2, equal in value to the
    reference's alpha t + log(1 + exp(-2 alpha t)) - log 2 but without exp overflowing to inf
    when t < -4.4 (alpha 10), which z-scored data reaches.
    """

    name = "logcosh"

    def __init__(self, n_genes, latent, hidden, output="sigmoid", alpha=10.0, beta=1.0):
        super().__init__(n_genes, latent, hidden, output)
        self.alpha, self.beta = alpha, beta

    def loss(self, x, out, kld_weight):
        t = out["recon"] - x
        log_cosh = self.alpha * t + F.softplus(-2.0 * self.alpha * t) - math.log(2.0)
        recon = log_cosh.mean() / self.alpha
        kld = kl_per_sample(out["mu"], out["log_var"]).mean()
        return {"loss": recon + self.beta * kld_weight * kld, "recon": recon, "kld": kld}


MODELS: dict[str, type[VAE]] = {
    cls.name: cls for cls in (VanillaVAE, IWAE, InfoVAE, LogCoshVAE)
}


def build_model(name: str, n_genes: int, latent: int, hidden: list[int], output: str,
                params: dict | None = None) -> VAE:
    """Registry lookup; `params` are the model's own options (e.g. IWAE num_samples)."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; known models: {', '.join(MODELS)}")
    try:
        return MODELS[name](n_genes, latent, list(hidden), output, **(params or {}))
    except TypeError as err:
        raise ConfigError(f"bad model_params for {name!r}: {params} ({err})") from None
