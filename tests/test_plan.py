"""vaebench.plan: what the workflow will do, from a config alone, without Snakemake."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import REPO, TINY, snakemake, write_config

from vaebench.config import ConfigError, encoder_key
from vaebench.plan import Layout, Plan, results_of


def config(name="config.yaml"):
    return yaml.safe_load((REPO / "config" / name).read_text())


def test_the_default_plan():
    cfg = config()
    cfg["defaults"]["latent_kind"] = "sample"
    plan = Plan.of(cfg)
    assert sum(len(runs) for runs in plan.runs.values()) == 148
    assert len(plan.latent["init"]) == 40 and plan.latent["hparam"] == []
    # a run that saves no latent space carries no latent_kind (editing it reruns nothing there)
    assert all("latent_kind" not in s for s in plan.runs["hparam"].values())
    assert all(plan.runs["init"][run]["latent_kind"] == "sample" for run in plan.latent["init"])
    # the objective study's `sum` runs share the `mean` runs' untrained encoders
    shared = plan.untrained_from["objective"]
    assert shared and all("reconstruction=sum" in run and "reconstruction=mean" in first
                          for run, first in shared.items())
    assert {m["claim"] for m in plan.matches if m["study"] == "hparam"} >= {"H1", "H5"}


def test_the_benchmark_scores_each_untrained_encoder_once_per_bundle():
    """360 encoders; a family of 18 runs cut over several bundles scores its encoder in each
    (vaebench.bundles), so that no Slurm job waits for another's."""
    plan = Plan.of(config("eltager2023.yaml"), claims=False)
    saved = plan.latent["benchmark"]
    pieces = {(plan.bundle("benchmark", run).name, encoder_key(plan.runs["benchmark"][run]))
              for run in saved}
    assert len({key for _, key in pieces}) == 360
    assert len(saved) == 6480 and len(saved) - len(plan.untrained_from["benchmark"]) == len(pieces)
    assert len(pieces) == 600  # the 60 categorical families cut in 5 pieces (4 runs of 86 min)


@pytest.mark.parametrize("edit,message", [
    (lambda c: c["studies"]["init"].update(dataset="tcga"),
     "studies.init.dataset: 'tcga' is not defined under `datasets:` (defined: synthetic)"),
    (lambda c: c["studies"]["init"]["figure"].update(hue="lr"),
     "studies.init.figure.hue: 'lr' is not an axis of the study's grid (model, init, seed)"),
    (lambda c: c["studies"]["init"].update(save_latent={"seed": [3]}),
     "studies.init.save_latent.seed: [3] is not among the grid's values (1, 2)"),
    (lambda c: c["studies"]["hparam"]["grid"].update(latent_kind=["mean", "sample"]),
     "studies.hparam.grid.latent_kind: run model=vanilla/lr=0.001/latent=10/optimizer=adam/"
     "latent_kind=mean saves no latent space"),
])
def test_a_fault_only_the_plan_shows_names_its_key(edit, message):
    cfg = config()
    edit(cfg)
    with pytest.raises(ConfigError) as err:
        Plan.of(cfg)
    assert str(err.value).startswith(message), str(err.value)


def test_the_layout_has_one_owner():
    """Every path a rule names comes from the plan's Layout: a rule that spells out a folder
    would stay behind when the layout moves."""
    for path in (REPO / "workflow").rglob("*.smk"):
        text = path.read_text()
        for folder in ("results/", "logs/", "benchmarks/", "resources/"):
            assert f'"{folder}' not in text and f'f"{folder}' not in text, (path.name, folder)
    cfg = config()
    moved = Plan.of(cfg, layout=Layout(results="out/results", logs="out/logs"))
    default = Plan.of(cfg)
    assert len(moved.outputs()) == len(default.outputs()) == len(set(default.outputs()))
    assert all(p.startswith("out/results/") for p in moved.outputs())
    assert [p.removeprefix("out/") for p in moved.outputs()] == default.outputs()
    tables = moved.claim_tables()["hparam"]
    assert tables["runs"] == "out/results/hparam/tables/runs.csv" and tables["latent"] is None
    assert moved.preprocessed("init")["matrix"].startswith("out/results/data/synthetic/input-")


def test_each_shipped_config_has_results_of_its_own():
    layouts = {name: Plan.of(config(name), claims=False).layout
               for name in ("config.yaml", "paper.yaml", "eltager2023.yaml")}
    assert layouts["config.yaml"] == Layout()  # results/, logs/, benchmarks/ as before
    assert layouts["paper.yaml"] == Layout("results/paper", "results/paper/logs",
                                           "results/paper/benchmarks")
    outputs = {name: set(Plan.of(config(name), claims=False).outputs())
               for name in ("config.yaml", "paper.yaml")}
    assert outputs["config.yaml"].isdisjoint(outputs["paper.yaml"])
    # the same layout under a copy of the results: the logs stay where they were beside them
    assert Layout().moved("copy/results").logs == "copy/logs"
    assert layouts["paper.yaml"].moved("copy").logs == "copy/logs"


def test_a_config_without_a_results_folder_gets_one_from_its_file_name(tmp_path):
    """config.yaml (the default's name) writes to results/, any other file to results/<name>;
    the workflow and `vaebench summary` fill in the same folder."""
    assert results_of("config/config.yaml") == results_of(None) == "results"
    assert results_of("deploy/my_tcga.yaml") == "results/my_tcga"
    assert results_of(["config/config.yaml", "site/extra.yaml"]) == "results/extra"
    cfg = yaml.safe_load(TINY.read_text())
    del cfg["results"]
    configfile = write_config(tmp_path / "mine.yaml", cfg)
    planned = snakemake("-n", "--directory", str(tmp_path), "--configfile", str(configfile)).stdout
    assert "results/mine/init/runs/" in planned and "results/init/" not in planned
    assert "results/mine/logs/" in planned
    done = subprocess.run([str(Path(sys.executable).with_name("vaebench")), "summary",
                           "--configfile", str(configfile)], cwd=tmp_path, capture_output=True,
                          text=True)
    assert "no results folder results/mine" in done.stderr, done.stderr
