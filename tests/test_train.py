"""Real (small) training runs: the loss falls, divergence is a result, CPU runs are repeatable."""

import ast
import dataclasses
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
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


def test_the_benchmarks_stopping_rule_on_hand_made_curves():
    # Lightning's EarlyStopping(min_delta=1e-4, patience=3) and min_epochs=5, on val_loss:
    # an epoch improves only if below the best by more than 1e-4, and only then becomes the best.
    rule = {"rule": "absolute_loss", "min_epochs": 5}
    curve = [5.0, 4.0, 3.99995, 3.99992, 3.99991, 3.0, 2.0]  # three tiny gains after epoch 2
    assert converged_at(curve, 1e-4, 3, **rule) == 5
    assert converged_at(curve, 1e-4, 3, "relative_recon", 5) == 5  # stalls count the same here
    early = [5.0, 5.0, 5.0, 5.0, 5.0, 5.0]  # stalls from epoch 2: patience met at 4, wait for 5
    assert converged_at(early, 1e-4, 3, **rule) == 5
    assert converged_at(early, 1e-4, 3, "absolute_loss", 1) == 4
    # Gains of 4e-5 each: stalls, but the best stays at 5.0, so by epoch 4 they add up to an
    # improvement (1.2e-4) and the count starts again; a best updated on every gain would stop.
    creeping = [5.0, 4.99996, 4.99992, 4.99988, 4.99984, 4.9998]
    assert converged_at(creeping, 1e-4, 3, "absolute_loss", 1) is None
    assert converged_at([4.0, 3.0, 2.0, 1.0, 0.5, 0.1], 1e-4, 3, **rule) is None


def test_the_benchmarks_stopping_rule_stops_a_run(data):
    rows, record = train_run(config(epochs=80, early_stopping=True, stopping="absolute_loss",
                                    min_delta=1e-3, patience=3, min_epochs=5), data)
    assert 5 <= record["epochs_run"] < 80
    assert record["convergence_epoch"] == record["epochs_run"]
    assert converged_at([r["val_loss"] for r in rows], 1e-3, 3, "absolute_loss", 5) == len(rows)
    assert "validation loss improved by <= 0.001 for 3 epoch(s)" in record["stop_reason"]


@pytest.mark.parametrize("kld_weight,reconstruction,train,val", [
    (None, None, "n_train", "n_train"), ("per_split", None, "n_train", "n_val"),
    (1.0, None, None, None), (None, "sum", None, None), ("per_split", "sum", "n_train", "n_val")])
def test_the_kl_weight_rule_is_recorded_and_used(data, kld_weight, reconstruction, train, val):
    rows, record = train_run(config(kld_weight=kld_weight, reconstruction=reconstruction,
                                    epochs=2), data)
    n = record["data"]
    want_train = 1.0 if train is None else 50 / n[train]
    want_val = 1.0 if val is None else 50 / n[val]
    assert record["resolved"]["kld_weight"] == pytest.approx(want_train)
    assert record["resolved"]["val_kld_weight"] == pytest.approx(want_val)
    # the weight on the KL per unit of summed squared error: x G for the studies' mean
    genes = n["n_genes"] if reconstruction is None else 1
    assert record["resolved"]["reconstruction"] == (reconstruction or "mean")
    assert record["resolved"]["kl_pressure"] == pytest.approx(want_train * genes)
    last = rows[-1]  # VanillaVAE: loss = recon + M_N * kld, the validation set one batch
    assert last["val_loss"] == pytest.approx(last["val_recon"] + want_val * last["val_kld"],
                                             rel=1e-5)


def test_every_model_trains_with_a_falling_loss_at_its_configs_learning_rate():
    default = yaml.safe_load((Path(__file__).parents[1] / "config" / "config.yaml").read_text())
    expr, _ = make_synthetic(400, 400, seed=4)
    data = preprocess(expr, top_k=150, scaling="zscore")
    for study in default["studies"].values():
        for model in study["grid"].get("model", []):
            base = {k: v for k, v in study["base"].items() if k in ("lr", "init")}
            cfg = config(model=model, epochs=8, batch_size=64, latent=6, **base,
                         model_params=default["model_params"].get(model, {}))
            rows, record = train_run(cfg, data)
            assert record["status"] == "ok", (model, record["stop_reason"])
            assert rows[-1]["val_loss"] < rows[0]["val_loss"], (model, rows)
            assert rows[-1]["train_loss"] < rows[0]["train_loss"], model


def test_the_latent_means_of_a_categorical_model_are_its_class_probabilities(data):
    from vaebench.train import fit

    _, _, latents = fit(config(model="categorical", save_latent=True, epochs=2,
                               model_params={"categorical_dim": 5}), data)
    latent = latents["latent"]
    assert latent.shape == (300, 4 * 5)
    assert latent.reshape(300, 4, 5).sum(-1) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("model,params", [("vanilla", {}), ("categorical", {"categorical_dim": 5})])
def test_sampled_latents_are_reproducible_draws_that_leave_training_unchanged(data, model,
                                                                               params):
    import numpy as np

    from vaebench.train import fit

    settings = {"model": model, "model_params": params, "epochs": 2, "save_latent": True}
    mean_rows, _, means = fit(config(**settings), data)
    rows, record, drawn = fit(config(**settings, latent_kind="sample"), data)
    assert record["config"]["latent_kind"] == "sample"
    # the draws come from a generator of their own: the same training, to the last bit
    assert [r["val_loss"] for r in rows] == [r["val_loss"] for r in mean_rows]
    again = fit(config(**settings, latent_kind="sample"), data)[2]
    for name in ("latent", "latent_untrained"):
        np.testing.assert_array_equal(drawn[name], again[name])
        assert drawn[name].shape == means[name].shape and np.isfinite(drawn[name]).all()
        assert not np.allclose(drawn[name], means[name])
    if model == "categorical":  # a relaxed one-hot draw per latent variable
        assert drawn["latent"].reshape(300, 4, 5).sum(-1) == pytest.approx(1.0, abs=1e-5)
    else:  # z = mu + sigma * eps: centred on the means
        assert abs(np.mean(drawn["latent"] - means["latent"])) < 0.1


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
    assert record["data"]["normals"] == "keep"
    from vaebench.code import TRAINING, checksum, modules

    assert record["code_sha256"] == checksum(modules(TRAINING))
    assert record["config"]["model_params"] == {}
    assert record["resolved"]["model_params"] == {}  # VanillaVAE has no options


@pytest.mark.parametrize("model,given,expected", [
    ("betavae", {}, {"objective": "burgess", "beta": 4.0, "gamma": 10.0, "max_capacity": 25.0,
                     "capacity_steps": 10000, "capacity_clock": "train"}),
    ("iwae", {"num_samples": 3}, {"num_samples": 3, "objective": "antixk"}),
])
def test_run_json_records_every_model_option_defaults_included(data, model, given, expected):
    _, record = train_run(config(model=model, epochs=1, model_params=given), data)
    assert record["resolved"]["model_params"] == expected


@pytest.mark.parametrize("key,value,message", [
    ("model", "vqvae", "model='vqvae' is not one of vanilla, iwae"),
    ("init", "he", "init='he' is not one of default"),
    ("optimizer", "adagrad", "optimizer='adagrad' is not one of adam, sgd, rmsprop"),
    ("lr", "1e-3", "lr='1e-3' must be a number"),
    ("lr", -0.1, "lr=-0.1 must be a positive number"),
    ("hidden", [], "hidden=\\[\\] must be a non-empty list"),
    ("early_stopping", "yes", "early_stopping='yes' must be true or false"),
    ("val_batch_size", 0, "val_batch_size=0 must be null or a positive integer"),
    ("latent_kind", "draw", "latent_kind='draw' is not one of mean, sample"),
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
    rows, _, again = fit(config(epochs=2, save_latent=True), data)
    np.testing.assert_array_equal(latent, again["latent"])
    without = fit(config(epochs=2), data)
    assert without[2] is None
    # keeping the untrained encoder's means draws no random numbers: training is unchanged
    assert [r["val_loss"] for r in rows] == [r["val_loss"] for r in without[0]]
    untrained = np.load(tmp_path / "run" / "latent_untrained.npy")
    np.testing.assert_array_equal(untrained, again["latent_untrained"])
    assert untrained.shape == latent.shape and not np.allclose(untrained, latent)
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert set(record["outputs"]) == {"metrics.csv", "latent.npy", "latent_untrained.npy"}


def test_runs_differing_only_in_training_settings_start_from_the_same_encoder(data):
    """config.TRAINING_ONLY is what lets score_latent score one untrained encoder for many runs:
    every one of those settings changed at once leaves latent_untrained.npy as it was, while a
    setting outside it (seed, init, latent_kind here) changes it and the key."""
    import numpy as np

    from vaebench.config import TRAINING_ONLY, encoder_key
    from vaebench.train import fit

    fields = {f.name for f in dataclasses.fields(RunConfig)}
    assert TRAINING_ONLY <= fields
    base = {"save_latent": True}
    changed = {"lr": 0.05, "optimizer": "rmsprop", "weight_decay": 0.1, "scheduler_gamma": 0.5,
               "batch_size": 30, "drop_last": False, "kld_weight": 1.0, "reconstruction": "sum",
               "kl_warmup": 2, "epochs": 2, "early_stopping": True, "stopping": "absolute_loss",
               "min_delta": 0.5, "patience": 3, "min_epochs": 2, "grad_clip": 1.0,
               "axes": {"lr": "0.05"}}
    assert set(changed) == TRAINING_ONLY
    assert encoder_key({**base, **changed}) == encoder_key(base)
    untrained = fit(config(**base), data)[2]["latent_untrained"]
    np.testing.assert_array_equal(untrained, fit(config(**base, **changed), data)[2][
        "latent_untrained"])
    for shaping in ({"seed": 1}, {"init": "normal"}, {"latent_kind": "sample"}):
        assert encoder_key({**base, **shaping}) != encoder_key(base)
        assert not np.array_equal(untrained, fit(config(**base, **shaping), data)[2][
            "latent_untrained"])


def test_running_out_of_memory_is_a_failed_run_not_a_crash(data):
    # 10^9 importance samples ask the CPU allocator for terabytes in the first step: it refuses.
    rows, record = train_run(config(model="iwae", model_params={"num_samples": 10**9}), data)
    assert record["status"] == "failed" and rows == []
    assert record["stop_reason"] == "out of memory in epoch 1"
    assert "can't allocate memory" in record["error"]


def test_a_training_job_imports_only_what_training_needs():
    """The workflow's train script's imports, then the runtime set-up, in a fresh interpreter:
    no pandas, no format readers, no torch.compile machinery (seconds of every job's start)."""
    script = Path(__file__).resolve().parents[1] / "workflow" / "scripts" / "train.py"
    imports = [ast.unparse(node) for node in ast.walk(ast.parse(script.read_text()))
               if isinstance(node, (ast.Import, ast.ImportFrom))]
    code = "\n".join([*imports, "from vaebench.train import configure_runtime",
                      "configure_runtime('cpu', 1)", "print(' '.join(sorted(sys.modules)))"])
    loaded = set(subprocess.run([sys.executable, "-c", f"import sys\n{code}"], check=True,
                                capture_output=True, text=True).stdout.split())
    assert "vaebench.train" in loaded and "vaebench.data.preprocess" in loaded
    unneeded = {"pandas", "h5py", "scipy", "matplotlib", "torch._inductor", "vaebench.analysis",
                *(f"vaebench.data.{room}" for room in ("formats", "h5ad", "synthetic", "table",
                                                       "xena"))}
    assert not unneeded & loaded, sorted(unneeded & loaded)


def test_models_whose_reference_fixes_the_kl_weight_resolve_it(data):
    _, tc = train_run(config(model="betatcvae", epochs=1), data)  # AntixK: sum, weight 1
    assert (tc["resolved"]["reconstruction"], tc["resolved"]["kld_weight"]) == ("sum", 1.0)
    assert tc["resolved"]["kl_pressure"] == 1.0
    _, fork = train_run(config(model="dipvae", epochs=1, kld_weight="per_split",
                               model_params={"objective": "fork"}), data)
    assert fork["resolved"]["kld_weight"] == fork["resolved"]["val_kld_weight"] == 1.0


def spy_on_loss(monkeypatch, cls, seen: list, attribute=None):
    """Record each call's (training, kld_weight[, the model's `attribute`]) of cls.loss."""
    original = cls.loss

    def loss(self, x, out, kld_weight):
        extra = (getattr(self, attribute),) if attribute else ()
        seen.append((self.training, kld_weight, *extra))
        return original(self, x, out, kld_weight)

    monkeypatch.setattr(cls, "loss", loss)


def test_kl_warmup_raises_the_training_weight_linearly_and_validates_at_full_weight(
        data, monkeypatch):
    from vaebench.models import VanillaVAE

    seen = []
    spy_on_loss(monkeypatch, VanillaVAE, seen)
    rows, record = train_run(config(kl_warmup=2, epochs=3, kld_weight=0.5), data)
    steps = record["resolved"]["n_batches_per_epoch"]
    assert record["resolved"]["kl_warmup_steps"] == 2 * steps
    train = [w for training, w in seen if training]
    assert train == pytest.approx([0.5 * min(t / (2 * steps), 1) for t in range(1, 3 * steps + 1)])
    assert [w for training, w in seen if not training] == [0.5] * 3


def test_kl_warmup_of_zero_changes_nothing(data):
    plain, _ = train_run(config(epochs=2), data)
    off, _ = train_run(config(epochs=2, kl_warmup=0), data)
    drop = ["seconds"]
    assert pd.DataFrame(plain).drop(columns=drop).equals(pd.DataFrame(off).drop(columns=drop))


@pytest.mark.parametrize("model,params,clock", [
    ("betavae", {"capacity_steps": 20}, "clock"),  # C(t) follows the steps, not the weight
    ("betatcvae", {"anneal_steps": 20}, "clock"),  # so does the dimension-wise KL's anneal
    ("categorical", {"categorical_dim": 5, "anneal_interval": 1, "anneal_rate": 0.05},
     "temperature"),
])
def test_kl_warmup_leaves_the_models_own_schedules_alone(data, monkeypatch, model, params,
                                                         clock):
    """The warm-up scales the KL term's weight only: BetaVAE's capacity, BetaTCVAE's anneal
    and the categorical temperature move step by step as without it."""
    from vaebench.models import MODELS

    runs = {}
    for warmup in (0, 2):
        seen = []
        spy_on_loss(monkeypatch, MODELS[model], seen, clock)
        rows, _ = train_run(config(model=model, model_params=params, epochs=3,
                                   kl_warmup=warmup), data)
        runs[warmup] = rows, seen
        monkeypatch.undo()
    (plain_rows, plain), (warm_rows, warm) = runs[0], runs[2]
    assert [s[2] for s in plain] == [s[2] for s in warm]  # the model's clock, call by call
    assert len({s[2] for s in plain}) > 2  # and it did move
    if model == "betavae":
        assert [r["train_capacity"] for r in plain_rows] == \
            [r["train_capacity"] for r in warm_rows]
    first_weight = [s[1] for s in warm if s[0]][0]
    assert first_weight < [s[1] for s in plain if s[0]][0]


def test_early_stopping_waits_for_the_warmup(data):
    rows, record = train_run(config(epochs=40, early_stopping=True, min_delta=0.5,
                                    kl_warmup=6), data)
    assert record["epochs_run"] == record["convergence_epoch"] == 6


@pytest.mark.parametrize("kld_weight,collapsed", [(50.0, True), (1.0e-4, False)])
def test_every_run_records_how_it_uses_its_latent_units(data, kld_weight, collapsed):
    _, record = train_run(config(epochs=6, kld_weight=kld_weight), data)
    usage = record["latent_usage"]
    assert usage["n_units"] == len(usage["kl_per_dim"]) == 4
    assert usage["kl_per_sample"] == pytest.approx(sum(usage["kl_per_dim"]))
    assert usage["collapsed"] is collapsed
    if collapsed:
        assert usage["active_units"] == 0 and usage["kl_per_sample"] < 0.1
    else:
        assert usage["active_units"] > 0 and usage["kl_per_sample"] > 1


@pytest.mark.parametrize("variant,units", [("jang", 4), ("fork", 1)])
def test_a_categorical_unit_is_one_categorical_variable(data, variant, units):
    _, record = train_run(config(model="categorical", epochs=2, model_params={
        "categorical_dim": 5, "variant": variant}), data)
    usage = record["latent_usage"]
    assert usage["n_units"] == units
    assert 0 <= usage["active_units"] <= units
    # the KL from a uniform prior over Q = 5 classes is at most log 5 nats per variable
    assert all(0 <= kl <= math.log(5) + 1e-6 for kl in usage["kl_per_dim"])


# A GPU given and unusable -----------------------------------------------------------------

def test_a_job_given_a_gpu_its_torch_cannot_use_fails_saying_why(data, tmp_path, monkeypatch,
                                                               capsys):
    """This torch is the CPU build: with a GPU given (as Slurm gives one), device auto fails
    in one line naming the cause and the way out, and writes no run; device any and cpu train
    on the CPU, as run.json says."""
    write_dataset(data, tmp_path / "data")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    for device in ("auto", "any", "cpu"):
        (tmp_path / f"{device}.yaml").write_text(yaml.safe_dump({**SMALL, "epochs": 1,
                                                                 "device": device}))
        code = main(["train", "--config", str(tmp_path / f"{device}.yaml"), "--data",
                     str(tmp_path / "data"), "--out-dir", str(tmp_path / device)])
        if device == "auto":
            err = capsys.readouterr().err
            assert code == 2 and not (tmp_path / "auto" / "run.json").exists()
            assert ("this job was given GPU 0 (CUDA_VISIBLE_DEVICES), but torch "
                    f"{torch.__version__} is a CPU-only build") in err, err
            assert "`device: cpu`" in err and len(err.strip().splitlines()) == 1
        else:
            assert code == 0
            record = json.loads((tmp_path / device / "run.json").read_text())
            assert record["device"]["type"] == "cpu" and record["config"]["device"] == device


@pytest.mark.parametrize("facts,expected", [
    # PyPI's CUDA 13 build on a driver of the CUDA 12 era
    (dict(torch_cuda="13.0", available=False, driver="550.54.15"),
     "the NVIDIA driver is 550.54.15, and CUDA 13.0 needs >= 580. Update the driver, or use "
     "torch's cu126 build (`torch_build: cu126`"),
    # a V100 (sm_70) under a build that starts at Turing
    (dict(torch_cuda="13.0", available=True, driver="580.65", gpu_name="Tesla V100-SXM2-32GB",
          capability=(7, 0), arch_list=("sm_75", "sm_80", "sm_90", "sm_100", "compute_120")),
     "Tesla V100-SXM2-32GB (sm_70) is older than torch 2.13.0 (CUDA 13.0) supports (sm_75 and "
     "newer)"),
    (dict(torch_cuda="12.6", available=False, driver=None),
     "no NVIDIA driver answers here"),
    (dict(torch_cuda="13.0", available=False, driver="590.1", warning="CUDA unknown error"),
     "torch sees no GPU (CUDA unknown error)"),
])
def test_each_cause_of_an_unusable_gpu_is_named(facts, expected):
    from vaebench.gpu import CudaFacts, problem

    why = problem("this job was given GPU 3 (CUDA_VISIBLE_DEVICES)",
                  CudaFacts(torch_version="2.13.0", **facts))
    assert expected in why and "`device: cpu`" in why, why


def test_a_usable_gpu_or_none_given_is_no_problem():
    from vaebench.gpu import CudaFacts, expects_gpu, problem

    ok = CudaFacts("2.13.0", "13.0", True, driver="580.65", capability=(9, 0),
                   arch_list=("sm_75", "sm_90"))
    assert problem("given", ok) is None
    assert expects_gpu("auto", {}) is None and expects_gpu("auto", {"CUDA_VISIBLE_DEVICES": ""}) \
        is None and expects_gpu("auto", {"CUDA_VISIBLE_DEVICES": "NoDevFiles"}) is None
    assert expects_gpu("any", {"CUDA_VISIBLE_DEVICES": "0"}) is None
    assert expects_gpu("cuda", {}) == "the config says `device: cuda`"
