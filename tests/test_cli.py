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


def two_run_config(folder):
    """config.yaml of study s: two seeds on a small synthetic dataset."""
    configfile = folder / "config.yaml"
    configfile.write_text(yaml.safe_dump({
        "datasets": {"synthetic": {"synthetic": {"samples": 200, "genes": 300, "seed": 1}}},
        "preprocess": {"minmax": {"top_k": 100, "scaling": "minmax"}},
        "studies": {"s": {"dataset": "synthetic", "preprocess": "minmax",
                          "grid": {"seed": [1, 2]}}}}))
    return configfile


def test_summary_tells_a_run_still_training_from_a_failed_one(tmp_path, capsys):
    """A run whose job is training has a log and no run.json yet, as a run whose job failed has:
    it is running while the Snakemake that started it lives (real Snakemakes here, which mark
    the job incomplete and lock the directory), failed once that Snakemake is killed, and still
    failed, not running, while the next Snakemake works on another run."""
    import base64
    import os
    import signal
    import subprocess
    import sys
    import time

    snakefile = tmp_path / "Snakefile"  # a training job: its log, then run.json much later
    snakefile.write_text('rule train:\n'
                         '    output: "results/s/runs/{run}/metrics.csv", '
                         '"results/s/runs/{run}/run.json"\n'
                         '    log: "logs/train/s/{run}.log"\n'
                         '    shell: "echo epoch 1/40 > {log}; sleep 60"\n')
    configfile = two_run_config(tmp_path)
    (tmp_path / "results").mkdir()
    started = []

    def start_training(run):
        """Snakemake training `run`, once it has marked the job incomplete (its way, named by
        the output's path) and the job has written its log."""
        started.append(subprocess.Popen(
            [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile), "--cores", "1",
             f"results/s/runs/{run}/run.json"], cwd=tmp_path, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        marker = tmp_path / ".snakemake" / "incomplete" / base64.urlsafe_b64encode(
            f"results/s/runs/{run}/run.json".encode()).decode()
        deadline = time.monotonic() + 60
        while not (marker.is_file() and (tmp_path / f"logs/train/s/{run}.log").is_file()):
            assert started[-1].poll() is None and time.monotonic() < deadline
            time.sleep(0.05)

    def kill_snakemake():
        os.killpg(started[-1].pid, signal.SIGKILL)  # Snakemake and its job
        started[-1].wait()

    def counts():
        assert main(["summary", str(tmp_path / "results"), "--configfile", str(configfile),
                     "--full"]) == 0
        return capsys.readouterr().out.splitlines()[2]

    try:
        start_training("seed=1")
        assert counts() == "s: 2 runs (seed): 0 ok, 0 diverged, 0 failed, 1 running, 1 missing"
        kill_snakemake()  # its lock and the job's marker stay
        assert counts() == "s: 2 runs (seed): 0 ok, 0 diverged, 1 failed, 1 missing"
        assert main(["recover", "--directory", str(tmp_path), "--configfile",
                     "config.yaml"]) == 0  # the stale lock
        recovered = capsys.readouterr().out
        assert "removed the lock" in recovered and "s: 1 run(s) cut off: seed=1" in recovered
        start_training("seed=2")  # seed=1's marker, from the killed Snakemake, is older
        assert counts() == "s: 2 runs (seed): 0 ok, 0 diverged, 1 failed, 1 running, 0 missing"
        kill_snakemake()
    finally:
        for snakemake in started:
            if snakemake.poll() is None:
                os.killpg(snakemake.pid, signal.SIGKILL)
                snakemake.wait()


def test_a_lock_taken_on_another_host_is_left_alone(tmp_path, capsys):
    """On a cluster's shared file system: the lock and the training marker of a Snakemake that
    runs on another login node. recover refuses (it cannot see that Snakemake), summary counts
    the run as running, not failed; --force removes the lock."""
    import base64
    import time

    configfile = two_run_config(tmp_path)
    (tmp_path / "logs/train/s").mkdir(parents=True)
    (tmp_path / "logs/train/s/seed=1.log").write_text("epoch 1/40\n")
    (tmp_path / "results/s/runs").mkdir(parents=True)
    snakemake_dir = tmp_path / ".snakemake"
    (snakemake_dir / "locks").mkdir(parents=True)
    (snakemake_dir / "incomplete").mkdir()
    (snakemake_dir / "locks" / "0.output.lock").write_text("results/s/runs/seed=1/run.json\n")
    (snakemake_dir / "incomplete" / base64.urlsafe_b64encode(
        b"results/s/runs/seed=1/run.json").decode()).touch()
    time.sleep(0.01)
    (snakemake_dir / "vaebench-controller.json").write_text(json.dumps(
        {"host": "login2.cluster", "pid": 4242, "started": "2026-12-06T09:00:00+00:00"}))

    assert main(["summary", str(tmp_path / "results"), "--configfile", str(configfile),
                 "--full"]) == 0
    assert capsys.readouterr().out.splitlines()[2] == \
        "s: 2 runs (seed): 0 ok, 0 diverged, 0 failed, 1 running, 1 missing"
    assert main(["recover", "--directory", str(tmp_path), "--configfile", "config.yaml"]) == 2
    err = capsys.readouterr().err
    assert "locked by a Snakemake started on host login2.cluster (pid 4242" in err, err
    assert (snakemake_dir / "locks" / "0.output.lock").exists()
    assert main(["recover", "--directory", str(tmp_path), "--configfile", "config.yaml",
                 "--force"]) == 0
    assert "removed the lock" in capsys.readouterr().out
    assert not (snakemake_dir / "locks" / "0.output.lock").exists()


def test_a_decisive_claims_line_is_rounded_to_fit_never_cut():
    """The one-screen summary's line per decisive claim: two decimals where they fit in the
    width, one where they do not, and wrapped at a space (never mid-number) where neither fits."""
    from types import SimpleNamespace

    from vaebench.summary import WIDTH, decisive_line

    def claim(study, measure):
        return SimpleNamespace(claim_id="H5", verdict="fragile", study=study, effect=0.9183,
                               ci_low=0.6789, ci_high=1.0, p_holm=0.00271, reason="",
                               effect_measure=measure)

    fits = decisive_line(claim("hparam", "matched rank-biserial"))
    assert fits == ["  H5   fragile      hparam         matched rank-biserial +0.92 [0.68, 1.00], "
                    "p_holm 0.0027"]
    rounded = decisive_line(claim("hparam", "matched rank-biserial correlation"))
    assert len(rounded) == 1 and len(rounded[0]) <= WIDTH
    assert rounded[0].endswith("+0.9 [0.7, 1.0], p_holm 0.003")
    wrapped = decisive_line(claim("benchmark_models", "matched rank-biserial correlation across "
                                  "the seeds"))
    assert len(wrapped) == 2 and all(len(line) <= WIDTH for line in wrapped)
    assert wrapped[1].split() == ["[0.7,", "1.0],", "p_holm", "0.003"]
