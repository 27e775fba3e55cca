"""Real Snakemake: lint, dry-run job counts, rerun scope after config edits, a tiny real run."""

import copy
import json
import os
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import REPO, TINY, job_counts, planned_jobs, snakemake, write_config

pytestmark = pytest.mark.workflow


def test_lint_is_clean():
    done = snakemake("--lint")
    out = done.stdout + done.stderr
    assert "Congratulations, your workflow is in a good condition!" in out


def test_the_default_config_trains_all_eight_models():
    from vaebench.config import MODEL_NAMES

    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    trained = {m for study in cfg["studies"].values() for m in study["grid"].get("model", [])}
    assert trained == set(MODEL_NAMES) and len(trained) == 8


@pytest.mark.parametrize("edit,message", [
    (lambda c: c["studies"]["init"]["grid"].update(model=["vanilla", "vqvae"]),
     r"bad.yaml: studies.init.grid.model.1: 'vqvae' is not one of vanilla, iwae"),
    (lambda c: c["studies"]["hparam"]["grid"].update(lr=[-0.1]),
     r"bad.yaml: studies.hparam.grid.lr.0: -0.1 must be above 0"),
    (lambda c: c["studies"]["hparam"].update(grid={}),
     r"bad.yaml: studies.hparam.grid: {} must not be empty"),
    (lambda c: c["studies"]["init"]["grid"].update(seed=[]),
     r"bad.yaml: studies.init.grid.seed: \[\] must not be empty"),
    (lambda c: c["studies"]["init"]["base"].update(lr="1e-3"),
     r"bad.yaml: studies.init.base.lr: '1e-3' must be a number \(YAML reads 1e-3 as text"),
    (lambda c: c["datasets"].update(tcga={"xena": {"path": "nowhere/expr.tsv.gz"}}),
     "bad.yaml: datasets.tcga.xena.path: no such file 'nowhere/expr.tsv.gz'"),
    (lambda c: c["studies"]["init"].update(dataset="tcga"),
     "bad.yaml: studies.init.dataset: 'tcga' is not defined under `datasets:`"),
    (lambda c: c["studies"]["init"].update(save_latent={"seed": [3]}),
     r"bad.yaml: studies.init.save_latent.seed: \[3\] is not among the grid's values \(1, 2\)"),
    (lambda c: c["studies"]["init"]["figure"].update(hue="inti"),
     r"bad.yaml: studies.init.figure.hue: 'inti' is not an axis of the study's grid "
     r"\(model, init, seed\)"),
    (lambda c: c["studies"]["init"]["figure"].update(ylim={"vanila": 1.0}),
     r"bad.yaml: studies.init.figure.ylim: \['vanila'\] are not models"),
    (lambda c: c["studies"]["hparam"]["figure"].update(x="batch_size"),
     "bad.yaml: studies.hparam.figure.x: 'batch_size' is not an axis"),
    (lambda c: c["studies"]["hparam"]["grid"].update(lr=[1.0e-3, 0.001]),
     "bad.yaml: studies.hparam.grid: two grid points give the run model=vanilla/lr=0.001/"),
    # the benchmark's keys: the value and where it is, in one line
    (lambda c: c["studies"]["init"]["base"].update(activation="sigmoid"),
     r"bad.yaml: studies.init.base.activation: 'sigmoid' is not one of relu, tanh"),
    (lambda c: c["studies"]["init"]["grid"].update(activation=["relu", "gelu"]),
     r"bad.yaml: studies.init.grid.activation.1: 'gelu' is not one of relu, tanh"),
    (lambda c: c["studies"]["init"]["base"].update(kld_weight=-1),
     r"bad.yaml: studies.init.base.kld_weight: -1 must be null or 'per_split' or at least 0"),
    (lambda c: c["studies"]["init"]["base"].update(stopping="lightning"),
     r"bad.yaml: studies.init.base.stopping: 'lightning' is not one of relative_recon, "
     r"absolute_loss"),
    (lambda c: c["studies"]["init"]["base"].update(min_epochs=0),
     r"bad.yaml: studies.init.base.min_epochs: 0 must be at least 1"),
    (lambda c: c["preprocess"]["minmax"].update(normals="some"),
     r"bad.yaml: preprocess.minmax.normals: 'some' is not one of keep, drop"),
    (lambda c: c["preprocess"]["minmax"].update(na_policy="omit"),
     r"bad.yaml: preprocess.minmax.na_policy: 'omit' is not one of drop_genes,"),
    (lambda c: c["studies"]["init"].update(by_model={"vqvae": {"lr": 0.1}}),
     r"bad.yaml: studies.init.by_model: 'vqvae' is not one of vanilla,"),
    (lambda c: c["studies"]["init"].update(by_model={"infovae": {"lr": "fast"}}),
     r"bad.yaml: studies.init.by_model.infovae.lr: 'fast' must be a number"),
    (lambda c: c["model_params"].update(betavae={"objective": "kingma"}),
     r"bad.yaml: model_params.betavae.objective: 'kingma' is not one of burgess, higgins"),
    (lambda c: c["model_params"].update(betatcvae={"weights": "chen"}),
     r"bad.yaml: model_params.betatcvae.weights: 'chen' is not one of stratified, fork"),
    (lambda c: c["model_params"].update(dipvae={"dip_type": "iii"}),
     r"bad.yaml: model_params.dipvae.dip_type: 'iii' is not one of i, ii"),
    (lambda c: c["model_params"].update(categorical={"temperature": 0}),
     r"bad.yaml: model_params.categorical.temperature: 0 must be above 0"),
    (lambda c: c["studies"]["init"]["base"].update(reconstruction="avg"),
     r"bad.yaml: studies.init.base.reconstruction: 'avg' is not one of mean, sum, null"),
    (lambda c: c["studies"]["init"]["grid"].update(kl_warmup=[0, -1]),
     r"bad.yaml: studies.init.grid.kl_warmup.1: -1 must be at least 0"),
    (lambda c: (c["model_params"].update(dipvae={"objective": "fork"}),
                c["studies"]["init"]["grid"].update(model=["dipvae"], reconstruction=["mean"])),
     r"bad.yaml: studies.init run model=dipvae/init=default/seed=1/reconstruction=mean: "
     r"reconstruction='mean' cannot apply to dipvae's objective fork"),
    # files the config names, as a shell would read the paths: ~ and $VAR expanded
    (lambda c: c["datasets"].update(tcga={"xena": {"path": str(REPO / "tests")}}),
     r"bad.yaml: datasets.tcga.xena.path: '\S+/tests' is a directory; name the file "
     r"inside it"),
    (lambda c: c["datasets"].update(tcga={"xena": {"path": "$VAEBENCH_NO_SUCH_DIR/x.tsv"}}),
     r"bad.yaml: datasets.tcga.xena.path: '\$VAEBENCH_NO_SUCH_DIR/x.tsv' names the "
     r"environment variable "
     r"\$VAEBENCH_NO_SUCH_DIR, which is not set"),
    (lambda c: c["datasets"].update(tcga={"xena": {"path": "~/no-such-vaebench-file.tsv"}}),
     r"bad.yaml: datasets.tcga.xena.path: no such file '~/no-such-vaebench-file.tsv' "
     r"\(/\S+/no-such-vaebench-file.tsv\)"),
    # a setting that would have no effect: latent_kind where no latent space is saved
    (lambda c: c["studies"]["hparam"]["grid"].update(latent_kind=["mean", "sample"]),
     r"bad.yaml: studies.hparam.grid.latent_kind: run "
     r"model=vanilla/lr=0.001/latent=4/optimizer=adam/"
     r"latent_kind=mean saves no latent space \(save_latent\)"),
    # a claim file with a typo: the file, the claim and the key
    (lambda c: c.update(claims=[str(REPO / "tests/data/bad_claims.yaml")]),
     r"tests/data/bad_claims.yaml: claim X1: key `better`: unknown level 'unifrom' of init"),
    (lambda c: c["studies"]["init"]["base"].update(lr=0.002), None),
])
def test_bad_config_stops_before_any_job(tmp_path, edit, message):
    """A fault of the config stops the workflow before any job, in one line that names the config
    file (a claim file's fault, the claim file), the key and the value."""
    cfg = yaml.safe_load(TINY.read_text())
    edit(cfg)
    done = snakemake("-n", "--directory", str(tmp_path), "--configfile",
                     str(write_config(tmp_path / "bad.yaml", cfg)), check=False)
    if message is None:  # a valid edit: the control case
        assert done.returncode == 0
        return
    assert done.returncode != 0
    assert re.search(message, done.stdout + done.stderr), done.stdout + done.stderr
    assert not (tmp_path / "results").exists()


def test_tiny_run_produces_every_table_and_figure(finished):
    workdir, _ = finished
    # which host ran the Snakemake (vaebench.workdir.record_controller): recover on another
    # login node leaves its lock alone
    import socket

    controller = json.loads((workdir / ".snakemake/vaebench-controller.json").read_text())
    assert controller["host"] == socket.gethostname() and controller["pid"] > 0
    for study in ("init", "hparam"):
        for name in ("tables/epochs.csv", "tables/runs.csv", "tables/summary.csv",
                     "tables/pairwise.csv", "tables/sensitivity.csv", "tables/divergence.csv",
                     "tables/statistics.html", f"figures/{study}.png", f"figures/{study}.pdf"):
            assert (workdir / "results" / study / name).stat().st_size > 0
    for name in ("tables/latent.csv", "tables/latent_pairwise.csv", "tables/latent.html",
                 "tables/latent_baselines.csv", "tables/latent_stability.csv",
                 "tables/latent_clinical.csv",
                 "figures/init_embedding.png", "figures/init_quality.png",
                 "figures/init_embedding.pdf"):
        assert (workdir / "results/init" / name).stat().st_size > 0
    assert not (workdir / "results/hparam/tables/latent.csv").exists()
    runs = pd.read_csv(workdir / "results/hparam/tables/runs.csv")
    assert len(runs) == 4
    diverged = runs[runs["status"] == "diverged"]
    assert len(diverged) >= 1 and (diverged["lr"] == 1.0e4).all()
    hp_epochs = pd.read_csv(workdir / "results/hparam/tables/epochs.csv")
    axes = ["model", "lr", "latent", "optimizer"]
    last = hp_epochs.sort_values("epoch").groupby(axes).tail(1)
    ok = runs[runs["status"] == "ok"].merge(last, on=axes)
    assert len(ok) == (runs["status"] == "ok").sum() >= 2
    assert (ok["epoch"] == ok["epochs_run"]).all()
    assert (ok["final_val_recon"] == ok["val_recon"]).all()
    epochs = pd.read_csv(workdir / "results/init/tables/epochs.csv")
    assert {"model", "init", "seed", "epoch", "val_loss", "val_recon", "val_kld"} <= set(epochs)
    assert len(epochs) == 2 * 2 * 2 * 4
    summary = pd.read_csv(workdir / "results/init/tables/summary.csv")
    assert (summary["val_loss_count"] == 2).all() and len(summary) == 2 * 2 * 4
    runs = pd.read_csv(workdir / "results/init/tables/runs.csv")
    assert runs["plateau_epoch"].between(1, 4).all() and (runs["auc_val_loss"] > 0).all()
    pairs = pd.read_csv(workdir / "results/init/tables/pairwise.csv")
    assert len(pairs) == 2 * 2  # per model: default vs normal, on two outcomes
    assert (pairs["test"] == "Wilcoxon signed-rank").all() and (pairs["n_a"] == 2).all()
    # seed 1 saved its latent means (all 200 samples), seed 2 did not
    latent = np.load(workdir / "results/init/runs/model=infovae/init=normal/seed=1/latent.npy")
    assert latent.shape == (200, 4) and np.isfinite(latent).all()
    assert not (workdir / "results/init/runs/model=infovae/init=normal/seed=2/latent.npy").exists()
    scores = pd.read_csv(workdir / "results/init/tables/latent.csv")
    assert len(scores) == 4 and (scores["seed"] == 1).all()
    assert scores["knn_accuracy"].between(0, 1).all() and (scores["n_types"] >= 2).all()
    assert scores["ari"].between(-1, 1).all() and scores["active_units"].between(0, 4).all()
    # every run beside its baselines: PCA at its latent width (4) and the genes
    baselines = pd.read_csv(workdir / "results/init/tables/latent_baselines.csv")
    assert list(zip(baselines["baseline"], baselines["dims"])) == [("genes", 100), ("pca", 4)]
    pca = baselines.set_index("baseline").loc["pca"]
    assert (scores["ari_pca"] == pca["ari"]).all()
    assert (scores["knn_accuracy_pca"] == pca["knn_accuracy"]).all()
    # survival and the generator's clinical columns, for each run and each baseline
    clinical = pd.read_csv(workdir / "results/init/tables/latent_clinical.csv")
    assert set(clinical["source"]) == {"run", "pca", "cancer type"}
    assert (clinical["source"] == "run").sum() == 4 * 4  # two C-indices, age, sex per run
    measures = clinical.groupby("variable")["measure"].agg(set).to_dict()
    assert measures == {"overall survival": {"c_index", "c_index_within_type"},
                        "age_at_initial_pathologic_diagnosis": {"spearman_rho"},
                        "gender": {"auc"}}
    assert clinical["value"].between(0, 1).all()
    record = json.loads((workdir / "results/init/runs/model=infovae/init=normal/seed=2/run.json")
                        .read_text())
    assert record["config"]["model_params"]["reg_weight"] == 110.0
    assert record["config"]["scheduler_gamma"] == 0.9  # by_model: infovae's own setting
    vanilla = json.loads((workdir / "results/init/runs/model=vanilla/init=normal/seed=2/run.json")
                         .read_text())
    assert vanilla["config"]["scheduler_gamma"] == 0.95
    assert (workdir / "logs/train/init/model=infovae/init=normal/seed=2.log").exists()
    assert (workdir / "benchmarks/train/init/model=infovae/init=normal/seed=2.tsv").exists()


def test_every_claim_gets_a_verdict(finished):
    from vaebench.claims.spec import PAPERS, load_claims
    from vaebench.claims.verdicts import VERDICTS

    workdir, _ = finished
    claims = pd.read_csv(workdir / "results/claims/claims.csv")
    ids = [c["id"] for name in PAPERS
           for c in load_claims(REPO / "config/claims" / f"{name}.yaml")["claims"]]
    assert sorted(set(claims["claim_id"])) == sorted(ids)
    assert set(claims["verdict"]) <= set(VERDICTS)
    by_id = claims.set_index("claim_id")
    # tiny's init study lacks uniform: I1 is not run, and says why
    assert by_id.loc["I1", "verdict"] == "not run"
    assert by_id.loc["I1", "reason"] == "study init lacks the init level(s) uniform"
    # tiny's hparam study has lr 1e4 and latent 4, outside the paper's ranges: its runs stand
    # for nothing the paper said, and the H claims say so
    assert by_id.loc["H3a", "verdict"] == "not run"
    assert by_id.loc["H3a", "reason"] == ("study hparam has no run inside the paper's levels "
                                          "(latent: 10 to 200)")
    # I3 (normal converges last) is tested on init, under both readings of diverged runs
    assert by_id.loc["I3", "study"] == "init" and by_id.loc["I3", "figure"].endswith("init.png")
    assert by_id.loc["I3", "other_readings"].startswith("diverged ranked worst: ")
    # the benchmark's claims are on z-scored data: tiny has none
    assert by_id.loc["E4", "verdict"] == "not run"
    per_study = pd.read_csv(workdir / "results/init/tables/claims.csv")
    assert set(per_study["study"]) == {"init"} and len(per_study) == (claims["study"] ==
                                                                      "init").sum()
    html = (workdir / "results/claims/claims.html").read_text()
    assert "Do the papers&#x27; findings hold?" in html or "Do the papers' findings hold?" in html


def test_the_local_scheduler_runs_a_round_per_event_not_per_second(finished):
    """Without its job rate limit (common.smk: local_scheduler_without_rate_limit), a local
    run schedules when a job ends; with it, Snakemake 9 adds a 1-second timer chain per
    event and the rounds grow with the square of the jobs (each checks every waiting job)."""
    workdir, _ = finished
    console = (workdir / "console.txt").read_text()
    jobs = sum(job_counts(console).values())
    rounds = console.count("Ready jobs: ")
    assert jobs > 20 and rounds <= 2 * jobs, (jobs, rounds)


def test_second_invocation_does_nothing(finished):
    workdir, configfile = finished
    assert planned_jobs(workdir, configfile) == {}


def test_editing_a_module_reruns_the_jobs_that_import_it_and_touching_one_nothing(finished,
                                                                                 tmp_path):
    """Each rule carries a checksum of the package modules its script imports (common.smk
    code_version): a copy of the workflow elsewhere, every module touched, retrains and
    rescores nothing; an edit to train.py retrains every run (and what follows), and leaves
    the data alone."""
    workdir, configfile = finished
    for folder in ("workflow", "config", "envs"):  # the claim files and envs sit beside it
        shutil.copytree(REPO / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    copied = tmp_path / "workflow"
    modules = list((copied / "scripts/vaebench").rglob("*.py"))
    for module in modules:
        os.utime(module, (module.stat().st_atime + 60, module.stat().st_mtime + 60))
    args = ("-n", "--snakefile", str(copied / "Snakefile"), "--directory", str(workdir),
            "--configfile", str(configfile))
    # only the claims job, whose params name the claim files by their path, which moved (outside
    # the working directory), and the front page that shows its verdicts
    assert set(job_counts(snakemake(*args).stdout)) <= {"claims", "front_page", "all"}
    train = copied / "scripts/vaebench/train.py"
    train.write_text(train.read_text() + "\n# edited\n")
    done = snakemake(*args)
    jobs = job_counts(done.stdout + done.stderr)
    assert jobs["train"] == 8 and jobs["train_latent"] == 4 and jobs["score_latent"] == 4
    assert not {"make_synthetic", "preprocess", "phenotype"} & set(jobs)
    assert "Params have changed since last execution" in done.stdout + done.stderr


def test_editing_one_base_value_reruns_exactly_that_study(finished):
    workdir, configfile = finished
    cfg = yaml.safe_load(configfile.read_text())
    edited = copy.deepcopy(cfg)
    edited["studies"]["init"]["base"]["lr"] = 0.002
    jobs = planned_jobs(workdir, write_config(workdir / "edited.yaml", edited))
    assert jobs == {"train": 4, "train_latent": 4, "score_latent": 4, "aggregate": 1,
                    "figures": 1, "statistics": 1, "latent_scores": 1, "embedding": 1,
                    "quality_figure": 1, "claims": 1, "front_page": 1, "all": 1}


def test_moving_the_latent_selection_retrains_only_the_newly_selected_runs(finished):
    workdir, configfile = finished
    cfg = yaml.safe_load(configfile.read_text())
    cfg["studies"]["init"]["save_latent"] = {"seed": [2]}
    jobs = planned_jobs(workdir, write_config(workdir / "moved.yaml", cfg))
    # the baselines are redone: the study's saved runs are others (their widths are read)
    assert jobs == {"train_latent": 4, "score_latent": 4, "latent_baselines": 1,
                    "aggregate": 1, "figures": 1, "statistics": 1, "latent_scores": 1,
                    "embedding": 1, "quality_figure": 1, "claims": 1, "front_page": 1,
                    "all": 1}


def test_latent_kind_means_nothing_to_runs_that_save_no_latent_space(finished):
    workdir, configfile = finished
    cfg = yaml.safe_load(configfile.read_text())
    cfg["defaults"]["latent_kind"] = "sample"  # init's saved runs change; hparam's do not
    jobs = planned_jobs(workdir, write_config(workdir / "sampled.yaml", cfg))
    assert jobs["train_latent"] == 4 and "train" not in jobs  # init saves 4 of its 8


# a value added; a value replaced. No claim is tested on tiny's hparam (its levels lie outside
# the paper's); the claims job reruns only where a claim's not-run reason changes with the
# grid (two latent sizes: "no run inside the paper's levels" instead of "no study varies latent").
@pytest.mark.parametrize("latent,claims", [([4, 8], {"claims": 1}), ([8], {})])
def test_editing_a_grid_value_schedules_only_the_new_runs(finished, latent, claims):
    workdir, configfile = finished
    cfg = yaml.safe_load(configfile.read_text())
    cfg["studies"]["hparam"]["grid"]["latent"] = latent
    jobs = planned_jobs(workdir, write_config(workdir / "grown.yaml", cfg))
    assert jobs == {"train": 4, "aggregate": 1, "figures": 1, "statistics": 1,
                    "front_page": 1, "all": 1, **claims}


def test_report_is_self_contained_with_the_figures(finished):
    workdir, configfile = finished
    snakemake("--directory", str(workdir), "--configfile", str(configfile),
              "--report", str(workdir / "report.html"))
    html = (workdir / "report.html").read_text()
    assert "init.png" in html and "hparam.png" in html
    assert "init_embedding.png" in html and "statistics.html" in html and "latent.html" in html
    # the opening text describes this config: its studies and the models of their grids
    assert "init, hparam" in html and "vanilla, infovae" in html and "four VAEs" not in html
    assert "claims.html" in html  # the page "Do the papers' findings hold?"



def test_the_summary_fits_one_screen(finished, capsys):
    from vaebench.cli import main

    workdir, configfile = finished
    assert main(["summary", str(workdir / "results"), "--configfile", str(configfile),
                 "--logs", str(workdir / "logs")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) <= 40 and max(map(len, lines)) <= 100, "\n".join(lines)
    header = lines[2].split()
    assert header == ["study", "runs", "ok", "diverged", "failed", "missing", "collapsed"]
    for study in yaml.safe_load(configfile.read_text())["studies"]:
        runs = pd.read_csv(workdir / f"results/{study}/tables/runs.csv")
        counts = runs["status"].value_counts()
        row = next(line.split() for line in lines if line.startswith(study + " "))
        assert row[1:6] == [str(len(runs)), str(counts.get("ok", 0)),
                            str(counts.get("diverged", 0)), "0", "0"], row
    claims = pd.read_csv(workdir / "results/claims/claims.csv", keep_default_na=False)
    counted = next(line for line in lines if line.startswith("Claims ("))
    for verdict, n in claims["verdict"].value_counts().items():
        assert f"{n} {verdict}" in counted
    text = "\n".join(lines)
    for row in claims.itertuples():  # each claim is named once: the decisive ones on a line
        assert len(re.findall(rf"(?<![\w]){re.escape(row.claim_id)}(?![\w])", text)) == 1
        if row.verdict in ("holds", "contradicted", "negligible", "fragile"):
            assert re.search(rf"^  {row.claim_id} +{row.verdict} ", text, re.M)


def test_summary_matches_the_tables(finished, tmp_path, capsys):
    import shutil

    from vaebench.cli import main

    workdir, configfile = finished
    assert main(["summary", str(workdir / "results"), "--configfile", str(configfile),
                 "--logs", str(workdir / "logs"), "--full"]) == 0
    text = capsys.readouterr().out
    cfg = yaml.safe_load(configfile.read_text())
    for study, spec in cfg["studies"].items():
        runs = pd.read_csv(workdir / f"results/{study}/tables/runs.csv")
        counts = runs["status"].value_counts()
        assert (f"{study}: {len(runs)} runs ({' x '.join(spec['grid'])}): "
                f"{counts.get('ok', 0)} ok, {counts.get('diverged', 0)} diverged, 0 failed, "
                "0 missing") in text
        conditions = [a for a in spec["grid"] if a != "seed"]
        ok = runs[runs["status"] == "ok"]
        for _, of_model in ok.groupby("model"):  # ranked within each model
            means = of_model.groupby(conditions)["final_val_loss"].mean()
            for label, key, value in (("best ", means.idxmin(), means.min()),
                                      ("(worst|     )", means.idxmax(), means.max())):
                name = " ".join(f"{a}={v}" for a, v in zip(conditions, key))
                assert re.search(rf"  {label} {re.escape(name)} +{value:.6g}  \(n=", text), \
                    (name, text)
    # tiny's hparam study has lr 1e4 with Adam and SGD: both diverge
    assert "no finished run in 2 condition(s), e.g. model=vanilla lr=10000.0" in text
    # one line per claim, with its verdict
    claims = pd.read_csv(workdir / "results/claims/claims.csv", keep_default_na=False)
    for row in claims.itertuples():
        assert re.search(rf"^  {row.claim_id} +{row.verdict}", text, re.M), row.claim_id

    # a run deleted is missing; a run whose job ended without a record (only its log) failed
    copy_dir = tmp_path / "copy"
    shutil.copytree(workdir / "results", copy_dir / "results")
    shutil.copytree(workdir / "logs", copy_dir / "logs")
    shutil.rmtree(copy_dir / "results/init/runs/model=vanilla/init=default/seed=1")
    (copy_dir / "results/init/runs/model=infovae/init=normal/seed=2/run.json").unlink()
    (copy_dir / "logs/train/init/model=vanilla/init=default/seed=1.log").unlink()
    assert main(["summary", str(copy_dir / "results"), "--configfile", str(configfile),
                 "--logs", str(copy_dir / "logs"), "--full"]) == 0
    assert "init: 8 runs (model x init x seed): 6 ok, 0 diverged, 1 failed, 1 missing" \
        in capsys.readouterr().out

    # runs trained for other settings (another config's, or before an edit) are stale, not ok
    edited = yaml.safe_load(configfile.read_text())
    edited["studies"]["init"]["base"]["epochs"] = 5
    edited["preprocess"]["minmax"]["top_k"] = 7
    assert main(["summary", str(copy_dir / "results"), "--configfile",
                 str(write_config(tmp_path / "edited.yaml", edited)), "--logs",
                 str(copy_dir / "logs"), "--full"]) == 0
    assert ("init: 8 runs (model x init x seed): 0 ok, 0 diverged, 1 failed, 1 missing, "
            "6 stale") in capsys.readouterr().out
    from vaebench.summary import stale

    record = json.loads(next((copy_dir / "results/init/runs").rglob("run.json")).read_text())
    settings = {**record["config"], "epochs": 5}
    assert stale(record, settings, {**edited["preprocess"]["minmax"], "top_k": 7}) == \
        ["epochs", "preprocess.top_k"]
    assert stale(record, record["config"], {"top_k": record["data"]["top_k"]}) == []


def test_epoch_lines_reach_the_log_while_the_run_trains(tmp_path):
    import subprocess
    import sys
    import time

    cfg = {"datasets": {"d": {"synthetic": {"samples": 2000, "genes": 800, "seed": 1}}},
           "preprocess": {"p": {"top_k": 400}}, "defaults": {"device": "cpu"},
           "studies": {"long": {"dataset": "d", "preprocess": "p",
                                "base": {"hidden": [256], "latent": 8, "batch_size": 50,
                                         "epochs": 60},
                                "grid": {"seed": [1]}}}}
    configfile = write_config(tmp_path / "config.yaml", cfg)
    log = tmp_path / "logs/train/long/seed=1.log"
    record = tmp_path / "results/long/runs/seed=1/run.json"
    job = subprocess.Popen([sys.executable, "-m", "snakemake", "--snakefile",
                            str(REPO / "workflow" / "Snakefile"), "--cores", "1",
                            "results/long/runs/seed=1/metrics.csv", "--directory",
                            str(tmp_path), "--configfile", str(configfile)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        seen = []
        while job.poll() is None and not record.exists():
            lines = log.read_text().splitlines() if log.exists() else []
            seen = [line for line in lines if line.startswith("epoch ")]
            if len(seen) >= 3:
                break
            time.sleep(0.2)
        assert len(seen) >= 3 and not record.exists(), "no epoch lines while training"
        assert re.fullmatch(r"epoch 1/60: train loss [\d.e+-]+, val loss [\d.e+-]+, [\d.]+ s; "
                            r"~[\dhms ]+ left at this pace", seen[0]), seen[0]
    finally:
        assert job.wait(timeout=600) == 0
    lines = [line for line in log.read_text().splitlines() if line.startswith("epoch ")]
    assert len(lines) == 60 and lines[-1].startswith("epoch 60/60: ")


def test_objective_and_latent_kind_are_axes_and_collapse_is_named(tmp_path, capsys):
    """One run of two latent-space axes. reconstruction: the studies' mean (KL weight M_N) and
    the ELBO's sum (weight 1) train differently, each recording its KL pressure and collapse,
    which latent.csv, latent.html, the summary and the quality figure report. latent_kind:
    both kinds train the same, save different latent spaces, and each is scored beside its
    baselines and compared with the other."""
    from vaebench.cli import main

    cfg = yaml.safe_load(TINY.read_text())
    study = cfg["studies"]["init"]
    study["grid"] = {"model": ["vanilla"], "reconstruction": ["mean", "sum"],
                     "latent_kind": ["mean", "sample"], "seed": [1]}
    study["save_latent"] = {}
    study["figure"]["hue"] = "latent_kind"
    cfg["studies"] = {"init": study}
    configfile = write_config(tmp_path / "config.yaml", cfg)
    snakemake("--cores", "2", "--directory", str(tmp_path), "--configfile", str(configfile))
    tables = tmp_path / "results/init/tables"
    runs = pd.read_csv(tables / "runs.csv")
    for reconstruction, part in runs.groupby("reconstruction"):
        mean, drawn = (np.load(tmp_path / "results/init/runs/model=vanilla/reconstruction="
                               f"{reconstruction}/latent_kind={kind}/seed=1/latent.npy")
                       for kind in ("mean", "sample"))
        assert mean.shape == drawn.shape and not np.allclose(mean, drawn)
        # the draws do not touch training's random numbers
        assert part["final_val_loss"].nunique() == 1
    # M_N = 40 / 160 on 100 genes: the KL weighs 25 per unit of summed squared error; sum: 1
    pressure = runs.groupby("reconstruction")["kl_pressure"].unique()
    assert list(pressure["mean"]) == [pytest.approx(25.0)] and list(pressure["sum"]) == [1.0]
    assert (runs["kl_per_sample"] >= 0).all()
    assert runs["collapsed"].isin([True, False]).all()
    # reconstruction acts in training only: the sum runs start from the mean runs' encoders,
    # whose untrained scores their score_latent jobs copy (latent_kind changes the encoding)
    for kind in ("mean", "sample"):
        log = (tmp_path / "logs/score_latent/init/model=vanilla/reconstruction=sum/"
               f"latent_kind={kind}/seed=1.log").read_text()
        assert (f"copied from results/init/runs/model=vanilla/reconstruction=mean/"
                f"latent_kind={kind}/seed=1/scores.json") in log
    scores = pd.read_csv(tables / "latent.csv")
    assert list(scores["latent_kind"]) == ["mean", "sample", "mean", "sample"]
    assert scores[["knn_accuracy", "ari", "ari_pca", "ari_untrained"]].notna().all().all()
    assert (scores["kl_per_dim"].str.split().str.len() == 4).all()
    assert list(scores["collapsed"]) == list(runs.set_index("path").loc[scores["path"],
                                                                        "collapsed"])
    pairs = pd.read_csv(tables / "latent_pairwise.csv")
    assert {"latent_kind", "reconstruction"} <= set(pairs["axis"])
    n_collapsed = int(runs["collapsed"].sum())
    html = (tables / "latent.html").read_text()
    assert "Collapsed runs" in html and f"{n_collapsed} of 4 runs collapsed" in html \
        or n_collapsed == 0 and "no run collapsed (4 judged" in html
    assert main(["summary", str(tmp_path / "results"), "--configfile", str(configfile),
                 "--logs", str(tmp_path / "logs"), "--full"]) == 0
    text = " ".join(capsys.readouterr().out.split())  # the summary wraps its long lines
    per_objective = runs.groupby("reconstruction")["collapsed"].sum()
    assert (f"collapsed runs: vanilla reconstruction=mean {per_objective['mean']} of 2, "
            f"vanilla reconstruction=sum {per_objective['sum']} of 2") in text
    assert (tmp_path / "results/init/figures/init_quality.png").stat().st_size > 0


def test_the_claims_job_names_its_inputs_relative_to_the_checkout():
    """Snakemake records a job's inputs by name: an absolute path to a shipped claim file
    would rerun the claims job after the checkout is moved or copied."""
    done = snakemake("-n", "--forcerun", "claims", "--directory", str(REPO))
    claims = re.search(r"rule claims:\n    input: ([^\n]*)", done.stdout)
    assert claims, done.stdout
    files = claims[1].split(", ")
    assert "config/claims/init_methods.yaml" in files
    assert not [f for f in files if os.path.isabs(f)], files
