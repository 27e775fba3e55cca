"""The three private torch calls of the hot path, each behind a public-API fallback.

They are kept because they are fast: the fused Adam kernel (one kernel for every parameter, as
torch.optim's `fused=True`), oneDNN's fp32 matmul on CPU (about twice MKL's rate on these AMD
machines: bench/NOTES-cpu-speed.md), and the deterministic-algorithms flag set without
`torch.use_deterministic_algorithms`, which imports torch._inductor (1.5-3 s of every job's
start on 2 cores) only to set a flag for torch.compile. torch is pinned (2.13.0), but a build
without one of them, or a later torch that renames it, must still train: each `HAS_*` says
whether the private call exists here, and where it does not the public arithmetic runs.
tests/test_private_torch.py forces every fallback and compares the numbers.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

HAS_FUSED_ADAM = hasattr(torch, "_fused_adam_")
HAS_ONEDNN_LINEAR = (torch.backends.mkldnn.is_available()
                     and hasattr(torch.ops.mkldnn, "_linear_pointwise"))
HAS_DETERMINISTIC_FLAG = hasattr(torch._C, "_set_deterministic_algorithms")


def adam_(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
          exp_avg_sqs: list[Tensor], steps: list[Tensor], lr: float, betas: tuple[float, float],
          weight_decay: float, eps: float) -> None:
    """One Adam step in place (steps already counted): torch.optim.Adam's arithmetic, fused
    where torch has the kernel, else its single-tensor form with public ops (equal to fp32
    rounding)."""
    beta1, beta2 = betas
    if HAS_FUSED_ADAM:
        torch._fused_adam_(params, grads, exp_avgs, exp_avg_sqs, [], steps, amsgrad=False,
                           lr=lr, beta1=beta1, beta2=beta2, weight_decay=weight_decay, eps=eps,
                           maximize=False, grad_scale=None, found_inf=None)
        return
    for param, grad, exp_avg, exp_avg_sq, step in zip(params, grads, exp_avgs, exp_avg_sqs,
                                                      steps):
        if weight_decay:
            grad = grad.add(param, alpha=weight_decay)
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        count = float(step)
        step_size = lr / (1 - beta1 ** count)
        denom = (exp_avg_sq.sqrt() / math.sqrt(1 - beta2 ** count)).add_(eps)
        param.addcdiv_(exp_avg, denom, value=-step_size)


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


def linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """x W^T + b: oneDNN for fp32 on CPU where torch has it, else F.linear."""
    if HAS_ONEDNN_LINEAR and x.device.type == "cpu" and x.dtype == torch.float32:
        return _OneDNNLinear.apply(x, weight, bias)
    return F.linear(x, weight, bias)


def set_deterministic(on: bool) -> None:
    """The flag the eager kernels read for deterministic algorithms; the public call where the
    private setter is gone (it costs the torch._inductor import, once)."""
    if HAS_DETERMINISTIC_FLAG:
        torch._C._set_deterministic_algorithms(on)
    else:
        torch.use_deterministic_algorithms(on)
