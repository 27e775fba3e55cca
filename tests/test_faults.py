"""Faults a user meets: bad input, damaged or deleted outputs, a full disk, a killed Snakemake.

Each test does the real thing (real Snakemake in a temporary directory, real files truncated,
deleted or made unwritable, a real kill -9) and checks both the message the user sees and that
nothing else was lost or retrained.
"""

import gzip
import os
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import REPO, planned_jobs, snakemake, write_config

from vaebench.data import write_synthetic

pytestmark = pytest.mark.workflow
RUNS = ("init=default/seed=1", "init=normal/seed=1")
# Targets for the tests that need no figure: the runs table, or the latent tables (with
# latent.html and latent_clinical.csv). Before --configfile, which takes every value after it.
RUNS_TABLE, LATENT_TABLE = "results/s/tables/runs.csv", "results/s/tables/latent.csv"


def small_config(datasets=None, save_latent=True, **base):
    """One study of two short runs (init default / normal) on a 200 x 300 synthetic dataset."""
    study = {"dataset": next(iter(datasets)) if datasets else "synthetic",
             "preprocess": "minmax",
             "base": {"hidden": [16], "latent": 3, "batch_size": 40, "epochs": 2, **base},
             "grid": {"init": ["default", "normal"], "seed": [1]},
             "figure": {"kind": "curves", "hue": "init"}}
    if save_latent:
        study["save_latent"] = {}
    return {"datasets": datasets or {"synthetic": {"synthetic": {"samples": 200, "genes": 300,
                                                                 "seed": 1}}},
            "preprocess": {"minmax": {"top_k": 100, "scaling": "minmax"}},
            "defaults": {"device": "cpu"},
            "studies": {"s": study}}


def run_dir(workdir, run):
    return Path(workdir) / "results" / "s" / "runs" / run


def stamps(workdir) -> dict[str, int]:
    """mtime (ns) of every file under results/: what a rerun rewrote."""
    return {str(p.relative_to(workdir)): p.stat().st_mtime_ns
            for p in Path(workdir, "results").rglob("*") if p.is_file()}


def file_size_limit(n_bytes):
    """preexec_fn: the process and its children may write no file beyond n_bytes (EFBIG: Python
    ignores SIGXFSZ), the way a full disk or a quota refuses a write."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (n_bytes, n_bytes))


def console(done) -> str:
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("faults")
    configfile = write_config(workdir / "config.yaml", small_config())
    snakemake("--cores", "2", "--directory", str(workdir), "--configfile", str(configfile))
    return workdir, configfile


# 1 -------------------------------------------------------------------------------------------

def test_a_key_given_twice_names_the_key_and_both_lines(tmp_path):
    text = write_config(tmp_path / "one.yaml", small_config()).read_text()
    study = text[text.index("  s:\n"):]
    configfile = tmp_path / "twice.yaml"
    configfile.write_text(text + study.replace("seed: 1", "seed: 2", 1))
    first = 1 + text[:text.index("  s:\n")].count("\n")
    second = 1 + text.count("\n")
    done = snakemake("-n", "--directory", str(tmp_path), "--configfile", str(configfile),
                     check=False)
    assert done.returncode != 0
    assert f"{configfile}: key studies.s (lines {first} and {second}) given twice" \
        in console(done)
    assert not (tmp_path / "results").exists()


def test_a_run_config_with_a_key_twice_is_refused(tmp_path, capsys):
    from vaebench.cli import main

    configfile = tmp_path / "run.yaml"
    configfile.write_text("lr: 0.01\nepochs: 2\nlr: 0.1\n")
    assert main(["train", "--config", str(configfile), "--data", str(tmp_path),
                 "--out-dir", str(tmp_path / "out")]) == 2
    assert "key lr (lines 1 and 3) given twice" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# 2 -------------------------------------------------------------------------------------------

def test_a_phenotype_table_that_does_not_match_the_matrix(tmp_path):
    expr, pheno = tmp_path / "expr.tsv.gz", tmp_path / "pheno.tsv"
    write_synthetic(expr, pheno, 200, 300, 1)
    table = pd.read_csv(pheno, sep="\t")
    table.iloc[::2].to_csv(pheno, sep="\t", index=False)  # half the samples annotated
    cfg = small_config({"mine": {"xena": {"path": str(expr), "phenotype": {"path": str(pheno)}}}})
    configfile = write_config(tmp_path / "config.yaml", cfg)
    snakemake("--cores", "2", LATENT_TABLE, "--directory", str(tmp_path), "--configfile",
              str(configfile))
    scores = pd.read_csv(tmp_path / LATENT_TABLE)
    assert (scores["n_unannotated"] == 100).all() and (scores["n_samples"] <= 100).all()
    html = (tmp_path / "results/s/tables/latent.html").read_text()
    assert f"100 of its 200 samples have no label in the phenotype table {pheno}" in html

    written = (tmp_path / "results/s/tables/latent.csv").stat().st_mtime_ns
    other = tmp_path / "other.tsv"
    table.assign(sample="X-" + table["sample"]).to_csv(other, sep="\t", index=False)
    cfg["datasets"]["mine"]["xena"]["phenotype"]["path"] = str(other)
    done = snakemake("--cores", "2", LATENT_TABLE, "--directory", str(tmp_path), "--configfile",
                     str(write_config(configfile, cfg)), check=False)
    assert done.returncode != 0
    samples = next(tmp_path.glob("results/data/mine/input-*/minmax/samples.txt"))
    message = console(done)
    assert (f"the phenotype table {other} (200 samples, e.g. 'X-{table['sample'][0]}') has no "
            f"sample id in common with the expression matrix {samples.relative_to(tmp_path)} "
            f"(200 samples, e.g. ") in message
    # the runs' scoring fails, so no table of empty scores replaces the earlier one
    assert (tmp_path / "results/s/tables/latent.csv").stat().st_mtime_ns == written


# 3 -------------------------------------------------------------------------------------------

def test_a_damaged_run_output_is_never_aggregated(finished):
    workdir, configfile = finished
    metrics = run_dir(workdir, RUNS[0]) / "metrics.csv"
    metrics.write_bytes(metrics.read_bytes()[:-40])  # cut off mid-row
    # up to the tables: what follows them reads nothing more of a run
    done = snakemake("--cores", "2", RUNS_TABLE, "--directory", str(workdir), "--configfile",
                     str(configfile), check=False)
    assert done.returncode != 0
    assert (f"results/s/runs/{RUNS[0]}/metrics.csv is not what its run wrote (run.json "
            "recorded sha256") in console(done)
    assert f"Redo the run: delete results/s/runs/{RUNS[0]}/ and run the same snakemake " \
        "command again" in console(done)
    assert not (workdir / "results/s/tables/runs.csv").exists()

    # The advice works, and retrains that run alone.
    before = stamps(workdir)
    for path in run_dir(workdir, RUNS[0]).iterdir():
        path.unlink()
    snakemake("--cores", "2", RUNS_TABLE, "--directory", str(workdir), "--configfile",
              str(configfile))
    after = stamps(workdir)
    kept = f"results/s/runs/{RUNS[1]}/run.json"
    assert after[kept] == before[kept]
    runs = pd.read_csv(workdir / "results/s/tables/runs.csv")
    assert len(runs) == 2 and (runs["status"] == "ok").all()

    latent = run_dir(workdir, RUNS[1]) / "latent.npy"
    np.save(latent, np.zeros((200, 3), dtype=np.float32))  # same shape, not what the run wrote
    done = snakemake("--cores", "2", LATENT_TABLE, "--directory", str(workdir), "--configfile",
                     str(configfile), check=False)
    assert done.returncode != 0
    assert f"results/s/runs/{RUNS[1]}/latent.npy is not what its run wrote" in console(done)
    latent.unlink()
    snakemake("--cores", "2", LATENT_TABLE, "--directory", str(workdir), "--configfile",
              str(configfile))


# 4 -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("deleted", ["run.json", "metrics.csv", "latent.npy",
                                     "latent_untrained.npy", "the folder"])
def test_a_deleted_run_output_comes_back(finished, deleted):
    workdir, configfile = finished
    folder = run_dir(workdir, RUNS[1])
    for path in folder.iterdir():
        if deleted in (path.name, "the folder"):
            path.unlink()
    if deleted == "the folder":
        folder.rmdir()
    assert planned_jobs(workdir, configfile) == {
        "train_latent": 1, "score_latent": 1, "aggregate": 1, "figures": 1, "statistics": 1,
        "latent_scores": 1, "embedding": 1, "quality_figure": 1, "claims": 1, "front_page": 1,
        "all": 1,
        # the baselines read the widths of the latent.npy files: redone where one is missing
        # (the cases share one workdir: an earlier case's deletion is still missing)
        **({"latent_baselines": 1} if not (folder / "latent.npy").exists() else {})}
    if deleted != "the folder":
        return
    before = stamps(workdir)
    snakemake("--cores", "2", "--directory", str(workdir), "--configfile", str(configfile))
    after = stamps(workdir)
    retrained = {p for p in after if "/runs/" in p and after[p] != before.get(p)}
    assert retrained == {f"results/s/runs/{RUNS[1]}/{name}"
                         for name in ("metrics.csv", "run.json", "latent.npy",
                                      "latent_untrained.npy", "scores.json", "neighbours.npy")}
    remade = {p for p in after if "/tables/" in p or "/figures/" in p}
    assert all(after[p] > before[p] for p in remade) and len(remade) >= 10
    assert planned_jobs(workdir, configfile) == {}


# 5 -------------------------------------------------------------------------------------------

def test_a_run_writes_its_record_last_and_never_beside_outputs_it_does_not_describe(tmp_path):
    from vaebench.cli import main

    expr, data = tmp_path / "expr.tsv.gz", tmp_path / "data"
    write_synthetic(expr, tmp_path / "pheno.tsv", 120, 150, 1)
    assert main(["preprocess", "--input", str(expr), "--out-dir", str(data), "--top-k", "60"]) == 0
    out = tmp_path / "run"
    for seed in (1, 2):
        (tmp_path / f"{seed}.yaml").write_text(
            f"seed: {seed}\nhidden: [8]\nlatent: 2\nepochs: 2\nbatch_size: 30\ndevice: cpu\n")
    assert main(["train", "--config", str(tmp_path / "1.yaml"), "--data", str(data),
                 "--out-dir", str(out)]) == 0
    old_metrics = (out / "metrics.csv").read_bytes()
    assert len(old_metrics) < 1500 < (out / "run.json").stat().st_size

    # Seed 2 again, where files over 1,500 bytes cannot be written: metrics.csv fits, run.json
    # does not. The old run.json must not stay beside the new metrics.
    done = subprocess.run(
        [sys.executable, "-m", "vaebench.cli", "train", "--config", str(tmp_path / "2.yaml"),
         "--data", str(data), "--out-dir", str(out)],
        capture_output=True, text=True, preexec_fn=file_size_limit(1500),
        env={**os.environ, "PYTHONPATH": str(REPO / "workflow/scripts"),
             "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 2
    assert f"could not write {out / 'run.json'}: File too large" in done.stderr
    assert (out / "metrics.csv").read_bytes() != old_metrics
    assert not (out / "run.json").exists()
    assert not list(out.glob(".*tmp*"))


# 6 -------------------------------------------------------------------------------------------

def test_a_data_error_reaches_the_console_in_one_line(tmp_path):
    expr = tmp_path / "expr.tsv"
    expr.write_text("sample\tS1\tS2\tS3\nG1\t1.0\t2.0\t3.0\nG2\t1.5\tabc\t0.5\n")
    cfg = small_config({"mine": {"xena": {"path": str(expr)}}}, save_latent=False)
    done = snakemake("--cores", "1", "--directory", str(tmp_path), "--configfile",
                     str(write_config(tmp_path / "config.yaml", cfg)), check=False)
    assert done.returncode != 0
    lines = [line for line in console(done).splitlines() if line.startswith("vaebench: ")]
    assert len(lines) == 1, console(done)
    assert lines[0].startswith("vaebench: rule preprocess (dataset=mine, source=")
    assert f"{expr}" in lines[0] and "line 3" in lines[0] and "'abc'" in lines[0]
    assert "S2" in lines[0]


# 7 -------------------------------------------------------------------------------------------

def test_a_message_names_the_setting_the_user_wrote(tmp_path):
    cfg = small_config(save_latent=False, val_fraction=0.004)
    done = snakemake("--cores", "1", "--directory", str(tmp_path), "--configfile",
                     str(write_config(tmp_path / "config.yaml", cfg)), check=False)
    assert done.returncode != 0
    assert ("val_fraction=0.004 leaves 1 of the 200 samples for validation, and a validation "
            "batch needs at least 2: raise val_fraction") in console(done)
    assert "val_batch_size" not in console(done)


# 8 -------------------------------------------------------------------------------------------

def test_pointing_a_dataset_at_a_broken_file_and_back_costs_nothing(tmp_path):
    # 300 samples x 1,000 genes: a matrix.npy over 1 MB, the size above which Snakemake stops
    # comparing checksums and an identical remade file would retrain every run.
    good, broken = tmp_path / "good.tsv.gz", tmp_path / "broken.tsv.gz"
    write_synthetic(good, tmp_path / "pheno.tsv", 300, 1500, 1)
    lines = gzip.decompress(good.read_bytes()).decode().splitlines(keepends=True)
    cells = lines[5].split("\t")
    lines[5] = "\t".join([*cells[:3], "n/a?", *cells[4:]])
    broken.write_bytes(gzip.compress("".join(lines).encode()))
    cfg = small_config({"mine": {"xena": {"path": str(good)}}}, save_latent=False)
    cfg["preprocess"]["minmax"]["top_k"] = 1000
    configfile = write_config(tmp_path / "config.yaml", cfg)
    snakemake("--cores", "2", RUNS_TABLE, "--directory", str(tmp_path), "--configfile",
              str(configfile))
    (matrix,) = tmp_path.glob("results/data/mine/input-*/minmax/matrix.npy")
    assert matrix.stat().st_size > 2**20
    before = stamps(tmp_path)

    cfg["datasets"]["mine"]["xena"]["path"] = str(broken)
    done = snakemake("--cores", "2", RUNS_TABLE, "--directory", str(tmp_path), "--configfile",
                     str(write_config(configfile, cfg)), check=False)
    assert done.returncode != 0 and f"{broken}" in console(done) and "'n/a?'" in console(done)
    assert stamps(tmp_path) == before  # the good data and every run as they were

    cfg["datasets"]["mine"]["xena"]["path"] = str(good)
    assert planned_jobs(tmp_path, write_config(configfile, cfg), RUNS_TABLE) == {}


# 9 -------------------------------------------------------------------------------------------

def test_a_full_disk_names_the_file_and_leaves_no_part_of_it(tmp_path):
    # The synthetic expression file is ~160 kB; everything Snakemake writes before it is small.
    done = snakemake("--cores", "1", "--directory", str(tmp_path), "--configfile",
                     str(write_config(tmp_path / "config.yaml", small_config(save_latent=False))),
                     check=False, preexec_fn=file_size_limit(60_000))
    assert done.returncode != 0
    assert ("could not write resources/synthetic/expression.tsv.gz: File too large (disk full, "
            "quota or file-size limit?); no partial file was left") in console(done)
    assert not [p for p in (tmp_path / "resources").rglob("*") if p.is_file()]


# 10 ------------------------------------------------------------------------------------------

def test_recovery_after_snakemake_is_killed_is_the_main_command_again(tmp_path):
    cfg = small_config(save_latent=False, epochs=40)
    cfg["studies"]["s"]["grid"]["seed"] = [1, 2, 3]
    configfile = write_config(tmp_path / "config.yaml", cfg)
    args = ["--directory", str(tmp_path), "--configfile", str(configfile)]
    main = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "workflow" / "Snakefile"),
            "--cores", "1", *args]
    recover = [sys.executable, "-m", "vaebench.cli", "recover", "--directory", str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow/scripts")}
    first = subprocess.Popen(main, cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not (len(list(tmp_path.glob("results/s/runs/*/*/run.json"))) >= 2
                   and any(tmp_path.glob(".snakemake/incomplete/*"))):
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        refused = subprocess.run(recover, capture_output=True, text=True, env=env)
        assert refused.returncode == 2 and "is still running in" in refused.stderr
        os.killpg(first.pid, signal.SIGKILL)  # Snakemake and the job it was running
        first.wait()
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    finished_before = {p: p.stat().st_mtime_ns
                       for p in tmp_path.glob("results/s/runs/*/*/run.json")}

    plain = console(snakemake(*args, "--cores", "1", check=False))
    assert "locked" in plain or "Incomplete files" in plain
    # Jobs Snakemake had started but not yet recorded as done: redone by --rerun-incomplete.
    cut_off = {tmp_path / line for line in plain.split("Incomplete files:\n")[-1].splitlines()
               if line.endswith("run.json")}
    # The README's main command, `make run`, again: recover, then --rerun-incomplete.
    recipe = (REPO / "Makefile").read_text().split("\nrun:")[1].split("\n\n")[0]
    assert "vaebench recover\n" in recipe and "--rerun-incomplete" in recipe
    unlocked = subprocess.run(recover, capture_output=True, text=True, env=env)
    assert unlocked.returncode == 0 and "removed the lock" in unlocked.stdout
    snakemake(RUNS_TABLE, *args, "--cores", "1", "--rerun-incomplete")
    runs = pd.read_csv(tmp_path / RUNS_TABLE)
    assert len(runs) == 6 and (runs["status"] == "ok").all() and (runs["epochs_run"] == 40).all()
    kept = {p for p, t in finished_before.items() if p.stat().st_mtime_ns == t}
    assert kept == set(finished_before) - cut_off and kept  # nothing finished was retrained


# 11 ------------------------------------------------------------------------------------------
# A cohort as users have them: tables saved by Excel (a byte-order mark), missing values spelt
# four ways, a column that is neither a number nor two values, paths written with ~ and $VAR.

def cohort_files(folder: Path, samples: int = 150):
    """A samples-as-rows CSV and its phenotype CSV, both with a UTF-8 byte-order mark; the
    phenotype's label column is `tissue`, its clinical columns have holes."""
    from vaebench.data import make_synthetic, write_table

    expr, phenotype = make_synthetic(samples, 200, seed=2)
    write_table(expr, folder / "expr.csv", "rows")
    clinical = pd.DataFrame({
        "sample": phenotype["sample"], "tissue": phenotype["cancer type abbreviation"],
        "OS": phenotype["OS"], "OS.time": phenotype["OS.time"],
        "age": ["NA"] * 5 + ["[Not Available]"] * 2 + list(
            phenotype["age_at_initial_pathologic_diagnosis"].astype(str)[7:]),
        "sex": ["#N/A", "NA", ""] + list(phenotype["gender"][3:]),
        "stage": np.random.default_rng(0).choice(["I", "II", "III", "IV"], size=samples),
        "bmi": ["unknown"] * 4 + [f"{25 + i % 7}.5" for i in range(samples - 4)]})
    clinical.to_csv(folder / "pheno.csv", index=False)
    for name in ("expr.csv", "pheno.csv"):
        (folder / name).write_bytes(b"\xef\xbb\xbf" + (folder / name).read_bytes())
    return phenotype


def cohort_config(**dataset):
    cfg = small_config({"cohort": {
        "table": {"path": "$VAEBENCH_COHORT/expr.csv", "samples_as": "rows",
                  "phenotype": {"path": "~/cohort/pheno.csv"}},
        "columns": {"label": "tissue", "clinical": ["age", "sex", "stage", "bmi"]},
        **dataset}})
    cfg["studies"]["s"]["grid"] = {"init": ["default"], "seed": [1]}
    return cfg


def test_a_cohort_with_holes_is_scored_where_it_has_values_and_says_what_it_left_out(tmp_path):
    home = tmp_path / "home"
    (home / "cohort").mkdir(parents=True)
    cohort_files(home / "cohort")
    env = {**os.environ, "HOME": str(home), "VAEBENCH_COHORT": str(home / "cohort")}
    configfile = write_config(tmp_path / "config.yaml", cohort_config())
    snakemake("--cores", "2", LATENT_TABLE, "--directory", str(tmp_path), "--configfile",
              str(configfile), env=env)
    normalised = pd.read_csv(next(tmp_path.glob("results/data/cohort/input-*/phenotype.tsv")),
                             sep="\t", dtype=str, keep_default_na=False)
    assert list(normalised["age"][:7]) == [""] * 7 and list(normalised["sex"][:3]) == [""] * 3
    clinical = pd.read_csv(tmp_path / "results/s/tables/latent_clinical.csv")
    run = clinical[clinical["source"] == "run"].set_index("variable")
    assert run.loc["age", "measure"] == "spearman_rho" and run.loc["age", "n_samples"] == 143
    assert run.loc["sex", "measure"] == "auc" and run.loc["sex", "n_samples"] == 147
    assert run.loc["stage", "measure"] == "not scored"
    assert run.loc["stage", "note"].startswith("4 categories")
    assert run.loc["bmi", "note"].startswith("text in a numeric column: 4 of 150 values")
    html = (tmp_path / "results/s/tables/latent.html").read_text()
    assert "text in a numeric column" in html and "4 categories" in html


@pytest.mark.parametrize("fault,message", [
    ("label", r"pheno.csv: the label column 'patient' has 150 classes among its 150 labelled "
              r"samples, e.g. 'P\d+' with 1; 0 with 5 or more samples: .*not a per-sample id"),
    ("repeated", r"sample id '(\S+)' occurs 2 times; each sample needs an id of its own"),
])
def test_a_cohort_that_cannot_be_scored_stops_before_any_run_trains(tmp_path, fault, message):
    home = tmp_path / "home"
    (home / "cohort").mkdir(parents=True)
    phenotype = cohort_files(home / "cohort")
    env = {**os.environ, "HOME": str(home), "VAEBENCH_COHORT": str(home / "cohort")}
    if fault == "label":  # a per-patient id chosen as the label
        table = pd.read_csv(home / "cohort/pheno.csv", dtype=str, encoding="utf-8-sig")
        table.assign(patient=[f"P{i}" for i in range(len(table))]).to_csv(
            home / "cohort/pheno.csv", index=False)
        cfg = cohort_config(columns={"label": "patient"})
    else:  # an AnnData file whose obs names repeat (anndata itself only warns)
        from vaebench.data import make_synthetic, write_h5ad

        expr, _ = make_synthetic(150, 200, seed=2)
        expr.columns = [*expr.columns[:-1], expr.columns[0]]
        write_h5ad(expr, phenotype.assign(sample=expr.columns), home / "cohort/d.h5ad")
        cfg = small_config({"cohort": {"h5ad": {"path": "~/cohort/d.h5ad"}}})
    done = snakemake("--cores", "2", "--directory", str(tmp_path), "--configfile",
                     str(write_config(tmp_path / "config.yaml", cfg)), check=False, env=env)
    assert done.returncode != 0
    assert re.search(message, console(done)), console(done)
    assert not (tmp_path / "results/s/runs").exists()  # no run trained for nothing
