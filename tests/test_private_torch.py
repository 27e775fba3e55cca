"""The private torch calls of the hot path (vaebench.private_torch): each fallback, forced as if
torch lacked the call, trains to the same numbers up to float rounding."""

import numpy as np
import pandas as pd
import pytest
import torch

from vaebench import private_torch
from vaebench.config import RunConfig
from vaebench.data import make_synthetic, preprocess
from vaebench.optim import Optimizer
from vaebench.train import train_run

FLAGS = ("HAS_FUSED_ADAM", "HAS_ONEDNN_LINEAR", "HAS_DETERMINISTIC_FLAG")


def test_the_pinned_torch_has_every_private_call():
    assert all(getattr(private_torch, flag) for flag in FLAGS)


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_the_public_adam_matches_the_fused_kernel(monkeypatch, weight_decay):
    def steps(fused: bool):
        monkeypatch.setattr(private_torch, "HAS_FUSED_ADAM", fused)
        torch.manual_seed(0)
        params = [torch.randn(30, 20, requires_grad=True), torch.randn(20, requires_grad=True)]
        optimizer = Optimizer("adam", params, lr=0.01, weight_decay=weight_decay)
        for i in range(25):
            loss = (params[0].sin() @ params[1]).square().sum() + i * params[1].sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return [p.detach() for p in params]

    for fused, public in zip(steps(True), steps(False)):
        torch.testing.assert_close(public, fused, rtol=1e-5, atol=1e-6)


def test_a_torch_without_the_private_calls_still_trains_to_the_same_numbers(monkeypatch):
    data = preprocess(make_synthetic(200, 300, seed=4)[0], top_k=100)
    config = RunConfig.from_dict({"hidden": [32], "latent": 4, "batch_size": 50, "epochs": 4,
                                  "device": "cpu", "optimizer": "adam", "seed": 2})
    fast, record = train_run(config, data)
    for flag in FLAGS:
        monkeypatch.setattr(private_torch, flag, False)
    public, public_record = train_run(config, data)
    assert record["status"] == public_record["status"] == "ok"
    public, fast = pd.DataFrame(public), pd.DataFrame(fast)
    recon = ["train_recon", "val_recon"]
    np.testing.assert_allclose(public[recon], fast[recon], rtol=1e-4)
    # the KL of a nearly collapsed latent space is tiny, so float rounding in the weights
    # moves it by a few percent of itself: compare the losses absolutely
    loss = ["train_loss", "val_loss"]
    np.testing.assert_allclose(public[loss], fast[loss], atol=1e-3)
    assert not public.drop(columns="seconds").equals(fast.drop(columns="seconds"))  # they ran
