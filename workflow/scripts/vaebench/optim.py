"""The optimizer steps and the learning-rate schedule of a run: Adam (fused: private_torch), SGD
and RMSprop
at the settings the configs use (torch.optim's defaults: betas (0.9, 0.999), RMSprop's alpha
0.99, eps 1e-8; no momentum, amsgrad or centering; weight_decay as configured), and the
exponential schedule. The same arithmetic as torch.optim, op for op: on the CPU the parameters
are bit-identical after any number of steps (tests/test_optim.py); on a GPU the foreach kernels
torch.optim picks there. Why not torch.optim itself: its first optimizer imports torch._dynamo,
about as long as `import torch` itself, in every training job.
"""

from __future__ import annotations

import torch

from .private_torch import adam_

ADAM_BETAS = (0.9, 0.999)
RMSPROP_ALPHA = 0.99
EPS = 1e-8


def _adam(params, grads, states, lr, weight_decay) -> None:
    steps = [s["step"] for s in states]
    torch._foreach_add_(steps, 1)
    adam_(params, grads, [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states],
          steps, lr, ADAM_BETAS, weight_decay, EPS)


def _sgd(params, grads, states, lr, weight_decay) -> None:
    if weight_decay != 0:
        grads = torch._foreach_add(grads, params, alpha=weight_decay)
    torch._foreach_add_(params, grads, alpha=-lr)


def _rmsprop(params, grads, states, lr, weight_decay) -> None:
    if weight_decay != 0:
        grads = torch._foreach_add(grads, params, alpha=weight_decay)
    square_avgs = [s["square_avg"] for s in states]
    torch._foreach_mul_(square_avgs, RMSPROP_ALPHA)
    torch._foreach_addcmul_(square_avgs, grads, grads, value=1 - RMSPROP_ALPHA)
    avg = torch._foreach_sqrt(square_avgs)
    torch._foreach_add_(avg, EPS)
    torch._foreach_addcdiv_(params, grads, avg, value=-lr)


# name -> the step: (parameters with a gradient, their gradients, their states, lr, weight decay)
OPTIMIZERS = {"adam": _adam, "sgd": _sgd, "rmsprop": _rmsprop}


def _new_state(name: str, p: torch.Tensor) -> dict:
    zeros = torch.zeros_like(p, memory_format=torch.preserve_format)
    if name == "adam":  # torch.optim's fused Adam: a float32 step count on the device
        return {"step": torch.zeros((), dtype=torch.float32, device=p.device),
                "exp_avg": zeros, "exp_avg_sq": torch.zeros_like(zeros)}
    return {"square_avg": zeros} if name == "rmsprop" else {}


class Optimizer:
    """`step()` after `backward()`, as torch.optim (parameters without a gradient are left
    alone); `lr` is the current rate, `decay(gamma)` the exponential schedule's epoch step
    (ExponentialLR: lr <- lr * gamma)."""

    def __init__(self, name: str, params, lr: float, weight_decay: float = 0.0):
        self.step_fn = OPTIMIZERS[name]
        self.name, self.lr, self.weight_decay = name, lr, weight_decay
        self.params = list(params)
        self.state: dict[torch.Tensor, dict] = {}

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def decay(self, gamma: float) -> None:
        self.lr = self.lr * gamma

    @torch.no_grad()
    def step(self) -> None:
        params = [p for p in self.params if p.grad is not None]
        for p in params:
            if p not in self.state:
                self.state[p] = _new_state(self.name, p)
        if params:
            self.step_fn(params, [p.grad for p in params], [self.state[p] for p in params],
                         self.lr, self.weight_decay)
