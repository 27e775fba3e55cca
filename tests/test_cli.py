"""The `vaebench` command end to end: synth, preprocess, train (two runs), aggregate, plot."""

import json

import pandas as pd
import pytest
import yaml

from vaebench.cli import main


@pytest.mark.parametrize("command", ["synth", "preprocess", "train", "aggregate", "plot",
                                     "summary", "recover"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0 and "usage: vaebench" in capsys.readouterr().out


def test_the_steps_by_hand(tmp_path):
    expr, pheno, data = tmp_path / "expr.tsv.gz", tmp_path / "pheno.tsv", tmp_path / "data"
    assert main(["synth", "--expr", str(expr), "--phenotype", str(pheno), "--samples", "120",
                 "--genes", "150", "--seed", "2"]) == 0
    assert main(["preprocess", "--input", str(expr), "--out-dir", str(data), "--top-k", "60"]) == 0
    assert json.loads((data / "summary.json").read_text())["output_genes"] == 60
    for init in ("default", "normal"):
        cfg = tmp_path / f"{init}.yaml"
        cfg.write_text(yaml.safe_dump({"init": init, "hidden": [16], "latent": 3, "epochs": 3,
                                       "batch_size": 30, "axes": {"init": init}}))
        assert main(["train", "--config", str(cfg), "--data", str(data), "--out-dir",
                     str(tmp_path / "study" / "runs" / f"init={init}")]) == 0
    tables = tmp_path / "study" / "tables"
    assert main(["aggregate", "--runs", str(tmp_path / "study" / "runs"),
                 "--out-dir", str(tables)]) == 0
    runs = pd.read_csv(tables / "runs.csv")
    assert sorted(runs["init"]) == ["default", "normal"] and (runs["status"] == "ok").all()
    assert (tables / "pairwise.csv").exists() and (tables / "statistics.html").exists()
    figure = tmp_path / "study.png"
    assert main(["plot", "--tables", str(tables), "--out", str(figure)]) == 0
    assert figure.stat().st_size > 10_000


def test_aggregate_of_an_empty_folder_says_so(tmp_path, capsys):
    assert main(["aggregate", "--runs", str(tmp_path), "--out-dir", str(tmp_path / "t")]) == 2
    assert f"no run.json below {tmp_path}" in capsys.readouterr().err



def test_train_in_a_terminal_shows_a_progress_bar(tmp_path):
    import os
    import pty
    import subprocess
    import sys

    expr, data = tmp_path / "expr.tsv.gz", tmp_path / "data"
    assert main(["synth", "--expr", str(expr), "--phenotype", str(tmp_path / "p.tsv"),
                 "--samples", "120", "--genes", "150"]) == 0
    assert main(["preprocess", "--input", str(expr), "--out-dir", str(data), "--top-k", "60"]) == 0
    cfg = tmp_path / "run.yaml"
    cfg.write_text(yaml.safe_dump({"hidden": [16], "latent": 3, "epochs": 12, "batch_size": 30}))
    leader, follower = pty.openpty()
    job = subprocess.Popen([sys.executable, "-m", "vaebench.cli", "train", "--config", str(cfg),
                            "--data", str(data), "--out-dir", str(tmp_path / "run")],
                           stdin=follower, stdout=follower, stderr=follower, close_fds=True)
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the job ended
            break
        if not chunk:
            break
        screen += chunk
    assert job.wait(timeout=120) == 0
    text = screen.decode()
    # one line redrawn in place (carriage returns), ending full
    assert text.count("\r") >= 12 and "12/12 epochs" in text and "|" + "#" * 30 + "|" in text
    assert "epoch 1/12: " not in text  # the per-epoch log lines are for logs, not terminals


def test_train_outside_a_terminal_prints_a_line_per_epoch(tmp_path, capfd):
    expr, data = tmp_path / "expr.tsv.gz", tmp_path / "data"
    assert main(["synth", "--expr", str(expr), "--phenotype", str(tmp_path / "p.tsv"),
                 "--samples", "120", "--genes", "150"]) == 0
    assert main(["preprocess", "--input", str(expr), "--out-dir", str(data), "--top-k", "60"]) == 0
    cfg = tmp_path / "run.yaml"
    cfg.write_text(yaml.safe_dump({"hidden": [16], "latent": 3, "epochs": 4, "batch_size": 30,
                                   "early_stopping": True}))
    capfd.readouterr()
    assert main(["train", "--config", str(cfg), "--data", str(data), "--out-dir",
                 str(tmp_path / "run")]) == 0
    lines = [line for line in capfd.readouterr().out.splitlines() if line.startswith("epoch ")]
    epochs = json.loads((tmp_path / "run" / "run.json").read_text())["epochs_run"]
    assert len(lines) == epochs and lines[0].startswith("epoch 1/4: train loss ")
    assert all("left at this pace (at most: early stopping)" in line for line in lines[:-1])
