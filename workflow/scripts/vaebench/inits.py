"""Weight initialisations of the init study (torch.nn.init; meltager/vae_benchmark's init_weights;
docs/decisions.md), as a registry name -> function(weight).

Which Linear layers are re-initialised is an explicit choice (`layers`):
- "hidden" (the studies' code, default): the Linear layers inside the encoder and decoder blocks;
  fc_mu, fc_var and the output layer keep PyTorch's init.
- "all": every Linear layer of the model.
Biases always keep PyTorch's init. "default" re-draws the weights from PyTorch's own nn.Linear
init (kaiming_uniform with a=sqrt(5), i.e. U(+-1/sqrt(fan_in))), as the paper describes, so every
init consumes the random stream the same way.
"""

from __future__ import annotations

import math

from torch import nn

from .config import INIT_LAYERS, ConfigError

INITS = {
    "default": lambda w: nn.init.kaiming_uniform_(w, a=math.sqrt(5)),
    "uniform": lambda w: nn.init.uniform_(w, 0.0, 1.0),
    "normal": lambda w: nn.init.normal_(w, 0.0, 1.0),
    "xavier_normal": nn.init.xavier_normal_,
    "xavier_uniform": nn.init.xavier_uniform_,
    # The benchmark's "default" (Eltager et al. 2023): torch's kaiming_uniform_ with a=0,
    # U(+-sqrt(6 / fan_in)), not nn.Linear's own init (a=sqrt(5)).
    "kaiming_uniform": nn.init.kaiming_uniform_,
}


def target_layers(model: nn.Module, layers: str) -> dict[str, nn.Linear]:
    """The Linear layers an init touches, by qualified name (e.g. 'encoder.0.0')."""
    if layers not in INIT_LAYERS:
        raise ConfigError(f"unknown init_layers {layers!r}; choose one of {', '.join(INIT_LAYERS)}")
    linears = {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    if layers == "all":
        return linears
    return {n: m for n, m in linears.items() if n.startswith(("encoder.", "decoder."))}


def apply_init(model: nn.Module, name: str, layers: str = "hidden") -> list[str]:
    """Re-initialise the weights of the chosen layers in place; returns their names."""
    if name not in INITS:
        raise ConfigError(f"unknown init {name!r}; known inits: {', '.join(INITS)}")
    touched = target_layers(model, layers)
    for module in touched.values():
        INITS[name](module.weight)
    return list(touched)
