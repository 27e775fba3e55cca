"""Real (small) training runs: the loss falls, divergence is a result, CPU runs are repeatable."""

import json
import math
import re

import pandas as pd
import pytest
import yaml

from vaebench.cli import PREPROCESSED_FILES, main
from vaebench.config import ConfigError, RunConfig
from vaebench.data import make_synthetic, preprocess, save_preprocessed
from vaebench.train import converged_at, train_run

SMALL = {"hidden": [32], "latent": 4, "batch_size": 50, "epochs": 6, "device": "cpu"}


@pytest.fixture(scope="module")
def data():
    expr, _ = make_synthetic(300, 400, seed=3)
    return preprocess(expr, top_k=120)


def config(**overrides):
    return RunConfig.from_dict({**SMALL, **overrides})


@pytest.mark.parametrize("model", ["vanilla", "iwae", "infovae", "logcosh"])
def test_short_run_loss_falls(data, model):
    rows, record = train_run(config(model=model, epochs=8, axes={"model": model}), data)
    assert record["status"] == "ok" and record["epochs_run"] == 8
    assert rows[-1]["train_recon"] < rows[0]["train_recon"]
    assert rows[-1]["val_recon"] < rows[0]["val_recon"]
    assert all(r["model"] == model for r in rows)
    assert record["data"]["n_train"] + record["data"]["n_val"] == 300
    assert record["resolved"]["kld_weight"] == pytest.approx(50 / record["data"]["n_train"])
    assert record["resolved"]["grad_clip"] == (0.8 if model == "infovae" else None)


def test_same_seed_same_numbers_other_seed_other_numbers(data):
    first, _ = train_run(config(model="iwae", seed=5), data)
    again, _ = train_run(config(model="iwae", seed=5), data)
    other, _ = train_run(config(model="iwae", seed=6), data)
    drop = ["seconds"]
    assert pd.DataFrame(first).drop(columns=drop).equals(pd.DataFrame(again).drop(columns=drop))
    assert not pd.DataFrame(first).drop(columns=drop).equals(pd.DataFrame(other).drop(columns=drop))


def test_early_stopping_stops_at_the_convergence_epoch(data):
    rows, record = train_run(config(epochs=60, early_stopping=True, min_delta=0.01), data)
    assert record["epochs_run"] < 60
    assert record["convergence_epoch"] == record["epochs_run"]
    curve = [r["val_recon"] for r in rows]
    best_before = min(curve[:-1])
    assert (best_before - curve[-1]) / best_before < 0.01


def test_convergence_epoch_rule():
    curve = [10.0, 5.0, 4.0, 3.99, 3.0, 2.995, 2.994]
    assert converged_at(curve, 0.01, patience=1) == 4
    assert converged_at(curve, 0.01, patience=2) == 7
    assert converged_at([3.0, 2.0, 1.0], 0.01, patience=1) is None
    assert converged_at([1.0, 2.0], 0.01, patience=1) == 2  # worse is "improved by < 1%"


def write_dataset(data, folder):
    folder.mkdir()
    save_preprocessed(data, *(folder / name for name in PREPROCESSED_FILES))


def test_divergence_is_recorded_and_exits_zero(data, tmp_path):
    write_dataset(data, tmp_path / "data")
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(
        {**SMALL, "lr": 1.0e4, "optimizer": "sgd", "axes": {"lr": "10000.0"}}))
    code = main(["train", "--config", str(tmp_path / "run.yaml"), "--data",
                 str(tmp_path / "data"), "--out-dir", str(tmp_path / "run")])
    assert code == 0
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    metrics = pd.read_csv(tmp_path / "run" / "metrics.csv")
    assert record["status"] == "diverged"
    assert record["divergence_epoch"] == len(metrics) < SMALL["epochs"]
    assert not math.isfinite(metrics["train_loss"].iloc[-1])
    assert list(metrics["lr"].unique()) == [1.0e4]  # the axis value, not the schedule
    assert metrics["lr_epoch"].iloc[0] == 1.0e4


def test_run_json_records_settings_versions_and_device(data, tmp_path):
    write_dataset(data, tmp_path / "data")
    (tmp_path / "run.yaml").write_text(yaml.safe_dump({**SMALL, "epochs": 2, "init": "normal"}))
    assert main(["train", "--config", str(tmp_path / "run.yaml"), "--data",
                 str(tmp_path / "data"), "--out-dir", str(tmp_path / "run")]) == 0
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["config"]["init"] == "normal"
    assert record["resolved"]["init_layers_touched"] == ["encoder.0.0", "decoder.0.0"]
    assert {"torch", "numpy", "python", "vaebench"} <= set(record["versions"])
    assert record["device"]["type"] == "cpu"
    assert record["data"]["genes_sha256"] == data.summary["genes_sha256"]


@pytest.mark.parametrize("key,value,message", [
    ("model", "vqvae", "model='vqvae' is not one of vanilla, iwae"),
    ("init", "he", "init='he' is not one of default"),
    ("optimizer", "adagrad", "optimizer='adagrad' is not one of adam, sgd, rmsprop"),
    ("lr", "1e-3", "lr='1e-3' must be a number"),
    ("lr", -0.1, "lr=-0.1 must be a positive number"),
    ("hidden", [], "hidden=\\[\\] must be a non-empty list"),
    ("early_stopping", "yes", "early_stopping='yes' must be true or false"),
    ("val_batch_size", 0, "val_batch_size=0 must be null or a positive integer"),
    ("model_params", {"samples": 3}, "has 'samples', not an option of model 'vanilla'"),
])
def test_bad_run_config_names_key_and_value(key, value, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig.from_dict({key: value}, source="run.yaml")


@pytest.mark.parametrize("model_params,message", [
    ({"objective": "bogus"}, "has objective='bogus'; choose one of antixk, burda"),
    ({"num_samples": "five"}, "has num_samples='five', which must be a number"),
    ({"alpha": 1.0}, "has 'alpha', not an option of model 'iwae'"),
])
def test_bad_model_params_name_the_option(model_params, message):
    with pytest.raises(ConfigError, match=f"run.yaml: model_params=.*{message}"):
        RunConfig.from_dict({"model": "iwae", "model_params": model_params}, source="run.yaml")


def test_bad_yaml_and_missing_preprocessed_files_are_named(data, tmp_path, capsys):
    write_dataset(data, tmp_path / "data")
    (tmp_path / "bad.yaml").write_text("model: [vanilla\n")
    (tmp_path / "data" / "summary.json").unlink()
    (tmp_path / "good.yaml").write_text(yaml.safe_dump(SMALL))
    for config_file, message in (("bad.yaml", "bad.yaml is not valid YAML"),
                                 ("good.yaml", "preprocessed file not found: .*summary.json")):
        code = main(["train", "--config", str(tmp_path / config_file), "--data",
                     str(tmp_path / "data"), "--out-dir", str(tmp_path / "run")])
        assert code == 2
        assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


def test_unknown_key_and_missing_file_are_named(tmp_path, capsys):
    with pytest.raises(ConfigError, match="run.yaml: unknown key\\(s\\) \\['learning_rate'\\]"):
        RunConfig.from_dict({"learning_rate": 0.1}, source="run.yaml")
    code = main(["train", "--config", str(tmp_path / "nope.yaml"), "--data", str(tmp_path),
                 "--out-dir", str(tmp_path / "out")])
    assert code == 2
    assert "nope.yaml" in capsys.readouterr().err


def test_save_latent_writes_the_encoder_means_of_every_sample(data, tmp_path):
    import numpy as np

    from vaebench.train import fit

    write_dataset(data, tmp_path / "data")
    (tmp_path / "run.yaml").write_text(yaml.safe_dump({**SMALL, "epochs": 2,
                                                       "save_latent": True}))
    assert main(["train", "--config", str(tmp_path / "run.yaml"), "--data",
                 str(tmp_path / "data"), "--out-dir", str(tmp_path / "run")]) == 0
    latent = np.load(tmp_path / "run" / "latent.npy")
    assert latent.shape == (len(data.x), SMALL["latent"]) and latent.dtype == np.float32
    assert np.isfinite(latent).all()
    # eval mode, no sampling: the same run gives the same means; without the option, none
    _, _, again = fit(config(epochs=2, save_latent=True), data)
    np.testing.assert_array_equal(latent, again)
    assert fit(config(epochs=2), data)[2] is None


def test_running_out_of_memory_is_a_failed_run_not_a_crash(data):
    # 10^9 importance samples ask the CPU allocator for terabytes in the first step: it refuses.
    rows, record = train_run(config(model="iwae", model_params={"num_samples": 10**9}), data)
    assert record["status"] == "failed" and rows == []
    assert record["stop_reason"] == "out of memory in epoch 1"
    assert "can't allocate memory" in record["error"]
