"""Each init draws from its stated distribution and touches exactly the layers it says."""

import math

import pytest
import torch

from vaebench.inits import INITS, apply_init
from vaebench.models import build_model

G, H, D = 600, 400, 50
HIDDEN = ["encoder.0.0", "decoder.0.0"]
ALL = ["encoder.0.0", "fc_mu", "fc_var", "decoder.0.0", "final_layer"]


def fresh():
    torch.manual_seed(0)
    return build_model("vanilla", G, D, [H], "sigmoid")


def expected_bounds(name, fan_in, fan_out):
    """(mean, std) of the distribution each init promises."""
    if name == "default":  # U(+-1/sqrt(fan_in)), PyTorch's nn.Linear init
        return 0.0, 1 / math.sqrt(fan_in) / math.sqrt(3)
    if name == "uniform":
        return 0.5, 1 / math.sqrt(12)
    if name == "normal":
        return 0.0, 1.0
    if name == "kaiming_uniform":  # U(+-sqrt(6 / fan_in)): gain sqrt(2) at a=0
        return 0.0, math.sqrt(6 / fan_in) / math.sqrt(3)
    if name == "xavier_uniform":
        return 0.0, math.sqrt(6 / (fan_in + fan_out)) / math.sqrt(3)
    return 0.0, math.sqrt(2 / (fan_in + fan_out))  # xavier_normal


@pytest.mark.parametrize("name", sorted(INITS))
def test_distribution_of_touched_weights(name):
    model = fresh()
    before = model.encoder[0][0].weight.detach().clone()
    apply_init(model, name, "hidden")
    w = model.encoder[0][0].weight  # [H x G]
    assert not torch.equal(w, before)  # redrawn, even "default" (same law as at construction)
    mean, std = expected_bounds(name, G, H)
    assert w.mean().item() == pytest.approx(mean, abs=0.02 * max(std, 0.05))
    assert w.std().item() == pytest.approx(std, rel=0.02)
    if name in ("uniform", "default", "xavier_uniform", "kaiming_uniform"):
        half_width = std * math.sqrt(3)
        assert w.min() >= mean - half_width and w.max() <= mean + half_width


@pytest.mark.parametrize("init", ["normal", "kaiming_uniform"])
@pytest.mark.parametrize("layers,touched", [("hidden", HIDDEN), ("all", ALL)])
def test_only_the_chosen_layers_change_and_biases_never(layers, touched, init):
    model = fresh()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    names = apply_init(model, init, layers)
    assert names == touched
    after = model.state_dict()
    changed = {k.rsplit(".", 1)[0] for k in before if not torch.equal(before[k], after[k])}
    assert changed == set(touched)
    assert all(torch.equal(before[f"{n}.bias"], after[f"{n}.bias"]) for n in touched)


def test_unknown_init_and_layers_name_the_choices():
    with pytest.raises(ValueError, match="unknown init 'he'.*xavier_uniform"):
        apply_init(fresh(), "he")
    with pytest.raises(ValueError, match="unknown init_layers 'some'.*hidden, all"):
        apply_init(fresh(), "normal", "some")
