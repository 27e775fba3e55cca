"""The package's optimizer steps and schedule against torch.optim: bit-identical on the CPU."""

import subprocess
import sys

import pytest
import torch

from vaebench.optim import Optimizer

REFERENCE = {"adam": (torch.optim.Adam, {"fused": True}), "sgd": (torch.optim.SGD, {}),
             "rmsprop": (torch.optim.RMSprop, {})}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
@pytest.mark.parametrize("name", ["adam", "sgd", "rmsprop"])
def test_steps_and_schedule_are_bit_identical_to_torch_optim(name, weight_decay, dtype):
    torch.manual_seed(0)
    ours = [torch.randn(7, 5, dtype=dtype, requires_grad=True),
            torch.randn(5, dtype=dtype, requires_grad=True),
            torch.randn(3, 7, dtype=dtype, requires_grad=True)]  # never gets a gradient
    theirs = [p.detach().clone().requires_grad_(True) for p in ours]
    optimizer = Optimizer(name, ours, lr=0.01, weight_decay=weight_decay)
    cls, options = REFERENCE[name]
    reference = cls(theirs, lr=0.01, weight_decay=weight_decay, **options)
    schedule = torch.optim.lr_scheduler.ExponentialLR(reference, gamma=0.95)
    draws = torch.Generator().manual_seed(1)
    for step in range(60):
        optimizer.zero_grad()
        reference.zero_grad(set_to_none=True)
        for p, q in zip(ours[:2], theirs[:2]):
            grad = torch.randn(p.shape, dtype=dtype, generator=draws)
            p.grad, q.grad = grad.clone(), grad.clone()
        optimizer.step()
        reference.step()
        if step % 6 == 5:  # an epoch
            optimizer.decay(0.95)
            schedule.step()
    assert optimizer.lr == reference.param_groups[0]["lr"]
    for p, q in zip(ours, theirs):
        assert torch.equal(p, q)
    assert not torch.equal(ours[0], theirs[0].detach() * 0 + ours[2].sum())  # it moved


def test_a_training_job_never_imports_dynamo():
    # torch.optim's first optimizer imports torch._dynamo (as long as `import torch` itself):
    # a real run, in a fresh interpreter, must not.
    code = """
import sys
import numpy as np
from vaebench.config import RunConfig
from vaebench.data import Preprocessed
from vaebench.train import train_run
x = np.random.default_rng(0).random((60, 20), dtype=np.float32)
data = Preprocessed(x, [f"g{i}" for i in range(20)], [f"s{i}" for i in range(60)],
                    {"scaling": "minmax", "scale_fit": "all"})
for optimizer in ("adam", "sgd", "rmsprop"):
    cfg = RunConfig(model="vanilla", hidden=[8], latent=2, batch_size=10, epochs=2,
                    optimizer=optimizer, device="cpu")
    rows, record = train_run(cfg, data)
    assert record["status"] == "ok" and len(rows) == 2, record
print("dynamo" if "torch._dynamo" in sys.modules else "no dynamo")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("no dynamo")
