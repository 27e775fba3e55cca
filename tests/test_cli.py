"""The `vaebench` command end to end: synth, preprocess, train (two runs), aggregate, plot."""

import json

import pandas as pd
import pytest
import yaml

from vaebench.cli import main


@pytest.mark.parametrize("command", ["synth", "preprocess", "train", "aggregate", "plot"])
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

