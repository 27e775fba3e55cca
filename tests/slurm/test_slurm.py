"""profiles/slurm with profiles/site stacked after it, on a real Slurm (tests/slurm/start.sh,
a cluster made to match the site example): the tiny config end to end.

Checks what only a real cluster shows: every output is made, training runs go to Slurm in
bundles that each request one GPU (sacct's AllocTRES) on the site's GPU partition and feature,
every job with the site's account and qos and the CPU jobs on its CPU partition, the local
rules stay local, a second invocation submits nothing, and new grid points are submitted
without the finished runs.

Sharing a GPU: the profile with the edit its comment gives for GPU shards puts several bundles
on one GPU at once, their runs overlapping in time (run.json stamps) on the same device.

The profiles are used unchanged (but for that edit); the only override is a short first status
check (the plugin's 40 s default would make this test take minutes). The tiny config gets short
bundles (cluster.bundle_minutes), so that its dozen runs split into several; what each bundle
holds and asks for comes from the plan (vaebench.bundles), as the workflow does.
"""

import datetime
import itertools
import json
import math
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from vaebench.plan import Plan

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "profiles" / "slurm"  # the workflow's
SITE = REPO / "profiles" / "site"  # a site's, stacked after it
TINY = REPO / "tests" / "data" / "tiny.yaml"
BUNDLE_MINUTES = 6  # the tiny runs take 2-3 estimated minutes: bundles of 2-3 runs
LIMIT = 400  # seconds per Snakemake call; a hung Snakemake ignores SIGTERM, hence timeout -k
TRAIN_RULES = ("train", "train_latent")
SITE_SETTINGS = yaml.safe_load((SITE / "config.yaml").read_text())
# where one training run goes and the CPUs it asks for, as the site says; its memory, as the
# rule says (a first attempt's)
RUN = SITE_SETTINGS["set-resources"]["train"]
RUN_MEM_MB = int(re.search(r"mem_mb=memory_per_attempt\((\d+)\)",
                           (REPO / "workflow" / "rules" / "train.smk").read_text())[1])

pytestmark = pytest.mark.slurm


def snakemake(workdir, *args, profiles=(PROFILE, SITE), check=True):
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "workflow" / "Snakefile"),
           "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"), *args]
    for profile in profiles:
        cmd += ["--profile", str(profile)]
    if profiles:
        cmd += ["--slurm-init-seconds-before-status-checks", "1"]
    done = subprocess.run(["timeout", "-k", "30", str(LIMIT), *cmd], cwd=workdir,
                          capture_output=True, text=True, timeout=LIMIT + 60)
    out = done.stdout + done.stderr
    assert done.returncode == 0 or not check, \
        f"{' '.join(cmd)} exited {done.returncode}:\n{out[-6000:]}"
    return out


def planned(workdir) -> dict[str, int]:
    """{rule: count} of a local dry-run; {} when there is nothing to do."""
    out = snakemake(workdir, "-n", "--cores", "1", profiles=())
    stats = out.split("Job stats:")[1].split("\n\n")[0] if "Job stats:" in out else ""
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M)
            if m[1] != "total"}


def slurm_jobs(workdir, since) -> list[dict]:
    """The Slurm jobs (not steps) that ran in `workdir` since `since`, as sacct reports them."""
    fields = ["JobID", "Comment", "AllocTRES", "State", "Timelimit", "Partition", "Account",
              "QOS", "Constraints", "WorkDir"]
    out = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-S", since, "-o", ",".join(fields)],
        capture_output=True, text=True, check=True, timeout=60).stdout
    rows = [dict(zip(fields, line.split("|"))) for line in out.splitlines() if line]
    return [row for row in rows if Path(row["WorkDir"]) == workdir]


def tres(row) -> dict[str, str]:
    return dict(item.split("=", 1) for item in row["AllocTRES"].split(",") if item)


def hhmmss(minutes) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def is_training(row) -> bool:
    # the plugin comments a job rule_<rule>[_wildcards_...], a bundle rule_<group>_<rules>,
    # its group the bundle's name (<study>.<k>)
    return re.match(r"rule_\w+\.\d+_", row["Comment"]) is not None


def tiny_config(workdir, edit=lambda config: None) -> dict:
    """The tiny config with short bundles (and `edit`), written as workdir/config.yaml."""
    config = yaml.safe_load(TINY.read_text())
    config["cluster"] = {"bundle_minutes": BUNDLE_MINUTES}
    edit(config)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return config


def plan_of(workdir) -> Plan:
    """The plan of the config in `workdir`, as the workflow makes it."""
    return Plan.of(yaml.safe_load((workdir / "config.yaml").read_text()), claims=False)


def bundles(workdir) -> list:
    """The bundles of the config in `workdir`."""
    return [b for packed in plan_of(workdir).bundles.values() for b in packed]


def wait_for_sacct(workdir, since, count, seconds=30):
    """sacct can lag a second or two behind the end of a job."""
    deadline = time.monotonic() + seconds
    while True:
        jobs = slurm_jobs(workdir, since)
        if len(jobs) >= count or time.monotonic() > deadline:
            return jobs
        time.sleep(1)


@pytest.fixture(scope="module")
def cluster():
    if shutil.which("sbatch") is None or subprocess.run(
            ["sinfo", "-h"], capture_output=True, timeout=30).returncode != 0:
        pytest.fail("no running Slurm: start one with `sudo tests/slurm/start.sh` "
                    "(or run `make test-slurm`)")
    node = subprocess.run(["sinfo", "-h", "-N", "-o", "%c %m %G"], capture_output=True,
                          text=True, check=True, timeout=30).stdout.split()
    cpus, mem_mb, gres = int(node[0]), int(node[1]), node[2]
    partitions = set(subprocess.run(["sinfo", "-h", "-o", "%R"], capture_output=True,
                                    text=True, check=True, timeout=30).stdout.split())
    site = SITE_SETTINGS["default-resources"]["slurm_partition"], RUN["slurm_partition"]
    if (cpus < RUN["cpus_per_gpu"] or mem_mb < RUN_MEM_MB or "gpu" not in gres
            or not set(site) <= partitions):
        pytest.fail(f"the Slurm node ({cpus} CPUs, {mem_mb} MB, gres {gres}, partitions "
                    f"{sorted(partitions)}) cannot take a training bundle of profiles/site "
                    f"({RUN['cpus_per_gpu']} CPUs, {RUN_MEM_MB} MB, 1 GPU, partitions "
                    f"{site}): start it with the defaults of tests/slurm/common.sh")


@pytest.fixture(scope="module")
def first_run(cluster, tmp_path_factory):
    """The tiny config through profiles/slurm and profiles/site, once."""
    workdir = tmp_path_factory.mktemp("slurm").resolve()
    tiny_config(workdir)
    jobs = planned(workdir)
    runs = sum(jobs.get(rule, 0) for rule in TRAIN_RULES)
    assert len(bundles(workdir)) >= 4, f"the tiny config should fill several bundles: {jobs}"
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 2))
    started = time.monotonic()
    out = snakemake(workdir)
    print(f"first Slurm run: {time.monotonic() - started:.0f} s")
    return workdir, jobs, runs, out, wait_for_sacct(workdir, since, submitted(workdir, jobs))


def submitted(workdir, jobs) -> int:
    """Slurm jobs of a plan: preprocessing, the bundles (training and scoring) and each study's
    baselines."""
    return (jobs.get("preprocess", 0) + len(bundles(workdir))
            + jobs.get("latent_baselines", 0))


def test_every_output_is_made(first_run):
    workdir, jobs, runs, _, _ = first_run
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    assert len(list((workdir / "results").glob("*/runs/**/metrics.csv"))) == runs
    assert len(list((workdir / "results").glob("*/runs/**/run.json"))) == runs
    assert len(list((workdir / "logs" / "train").glob("**/*.log"))) == runs
    for study in config["studies"]:
        for name in ("tables/epochs.csv", "tables/runs.csv", f"figures/{study}.png"):
            assert (workdir / "results" / study / name).stat().st_size > 0
    assert planned(workdir) == {}


def test_training_is_bundled_and_each_bundle_requests_one_gpu(first_run):
    workdir, jobs, runs, _, slurm = first_run
    assert all(row["State"] == "COMPLETED" for row in slurm), slurm
    training = [row for row in slurm if is_training(row)]
    planned_bundles = bundles(workdir)
    assert len(training) == len(planned_bundles), slurm
    for row in training:
        alloc = tres(row)
        # one GPU, the CPUs and memory of one run: members run one after another
        assert alloc.get("gres/gpu") == "1", row
        assert alloc["cpu"] == str(RUN["cpus_per_gpu"]), row
        assert alloc["mem"] == f"{RUN_MEM_MB}M", row
        # where the site says a bundle goes (its scoring included: one partition per job)
        assert (row["Partition"], row["Constraints"]) == (
            RUN["slurm_partition"], RUN["constraint"]), row
    # each bundle is the plan's, its scoring with its training: the time limit is its
    # members' estimates (training and scoring) added up
    by_name = {re.match(r"rule_(\w+\.\d+)_", row["Comment"])[1]: row for row in training}
    assert set(by_name) == {b.name for b in planned_bundles}, slurm
    plan = plan_of(workdir)
    for study, packed in plan.bundles.items():
        for bundle in packed:
            row = by_name[bundle.name]
            assert row["Timelimit"] == hhmmss(bundle.minutes), (bundle, row)
            scores = bool(set(bundle.runs) & set(plan.latent[study]))
            assert ("score_latent" in row["Comment"]) == scores, (bundle, row)


def test_only_preprocessing_training_and_scoring_go_to_slurm(first_run):
    _, jobs, runs, _, slurm = first_run
    others = [row for row in slurm if not is_training(row)]
    kinds = [row["Comment"].split("_wildcards")[0] for row in others]
    # the saved runs' scoring goes in their bundles, the baselines once per study
    assert sorted(kinds) == sorted(
        ["rule_preprocess"] * jobs["preprocess"]
        + ["rule_latent_baselines"] * jobs["latent_baselines"]), slurm
    assert all("gres/gpu" not in row["AllocTRES"] for row in others), slurm
    cpu_partition = SITE_SETTINGS["default-resources"]["slurm_partition"]
    assert all(row["Partition"] == cpu_partition for row in others), slurm


def test_every_job_runs_under_the_sites_account_and_qos(first_run):
    slurm = first_run[-1]
    site = SITE_SETTINGS["default-resources"]
    assert slurm and all((row["Account"], row["QOS"]) == (site["slurm_account"], site["qos"])
                         for row in slurm), slurm


def test_second_invocation_submits_nothing(first_run):
    workdir = first_run[0]
    since = time.strftime("%Y-%m-%dT%H:%M:%S")
    out = snakemake(workdir)
    assert "Nothing to be done" in out, out[-3000:]
    time.sleep(2)
    assert slurm_jobs(workdir, since) == []


def test_new_runs_go_to_slurm_without_the_finished_ones(first_run):
    """A grid grown by one optimizer: only its runs are bundled and submitted."""
    workdir = first_run[0]
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    grid = config["studies"]["hparam"]["grid"]
    grid["optimizer"] = [*grid["optimizer"], "rmsprop"]
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    new = math.prod(len(values) for axis, values in grid.items() if axis != "optimizer")
    assert planned(workdir).get("train") == new
    # each new run goes to Slurm in the bundle the plan puts it in, alone there
    plan = plan_of(workdir)
    added = [run for run in plan.runs["hparam"] if "optimizer=rmsprop" in run]
    expected = {}
    for run in added:
        name = plan.bundle("hparam", run).name
        expected[name] = expected.get(name, 0) + plan.minutes("hparam", run, "train", 1)
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 2))
    snakemake(workdir)
    slurm = wait_for_sacct(workdir, since, len(expected))
    assert all(is_training(row) for row in slurm), slurm
    assert {re.match(r"rule_(\w+\.\d+)_", row["Comment"])[1]: row["Timelimit"]
            for row in slurm} == {name: hhmmss(m) for name, m in expected.items()}, slurm
    assert all(tres(row).get("gres/gpu") == "1" for row in slurm), slurm
    assert len(list((workdir / "results/hparam/runs").glob("**/optimizer=rmsprop/run.json"))) == new
    assert planned(workdir) == {}


def edited_profile(folder, edits: dict[str, str], profile=PROFILE) -> Path:
    """`profile` with each line of `edits` replaced, as a user edits it."""
    text = (profile / "config.yaml").read_text()
    for line, replacement in edits.items():
        assert line in text, f"the profile changed: no line {line!r}"
        text = text.replace(line, replacement, 1)
    folder.mkdir()
    (folder / "config.yaml").write_text(text)
    return folder


def shard_profile(folder) -> Path:
    """profiles/site with the edit its comment describes for a cluster with GPU shards."""
    assert '#   gpu: 0\n    #   gres: "shard:1"' in (SITE / "config.yaml").read_text()
    return edited_profile(folder, {"    gpu: 1                   # --gpus=1\n":
                                   '    gpu: 0\n    gres: "shard:1"\n'}, profile=SITE)


def test_bundles_share_one_gpu_through_shards(cluster, tmp_path_factory):
    """Each bundle takes one shard of a GPU and no whole GPU; bundles run at the same time on
    one GPU, so runs of different bundles overlap there, while each bundle's own runs follow
    one another. Runs take a GPU slot (device any: this CPU torch then trains on the CPU) and
    record the device Slurm gave their bundle."""
    workdir = tmp_path_factory.mktemp("slurm-shards").resolve()
    # device any: auto would fail, a GPU given to a CPU-only torch
    tiny_config(workdir, lambda config: config["defaults"].update(device="any"))
    jobs = planned(workdir)
    runs = sum(jobs.get(rule, 0) for rule in TRAIN_RULES)
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 2))
    snakemake(workdir, profiles=(PROFILE, shard_profile(workdir / "site")))
    slurm = wait_for_sacct(workdir, since, submitted(workdir, jobs))
    training = [row for row in slurm if is_training(row)]
    assert len(training) == len(bundles(workdir)), slurm
    for row in training:
        assert row["State"] == "COMPLETED" and tres(row).get("gres/shard") == "1", row
        assert "gres/gpu" not in tres(row), row

    placements = []
    for path in (workdir / "results").glob("*/runs/**/run.json"):
        record = json.loads(path.read_text())
        slot = record["device"]["gpu_slot"]
        placements.append((slot["slurm_job"], slot["visible_device"],
                           datetime.datetime.fromisoformat(record["started_at"]),
                           datetime.datetime.fromisoformat(record["finished_at"])))
    assert len(placements) == runs
    assert {job for job, *_ in placements} == {row["JobID"] for row in training}
    shared = [(a, b) for a, b in itertools.combinations(placements, 2)
              if a[1] == b[1] and a[2] < b[3] and b[2] < a[3]]
    assert shared, f"no two runs overlapped on one GPU: {sorted(placements)}"
    assert all(a[0] != b[0] for a, b in shared), "runs of one bundle overlapped"


def test_a_run_that_slurm_kills_for_time_says_so_in_the_summary(cluster, tmp_path_factory):
    """A run whose Slurm job outlives its time limit (1 minute here: an estimate of start-up
    only, no retry): Slurm ends the job (TIMEOUT), Snakemake deletes the run's outputs, and
    `vaebench summary` names the run failed with that cause and the fix, read from the Slurm
    job its log names."""
    workdir = tmp_path_factory.mktemp("slurm-timeout").resolve()

    def one_long_run(config):
        study = config["studies"]["init"]
        study["grid"] = {"init": ["default"], "seed": [1]}
        study["base"]["epochs"] = 10_000_000  # hours on this machine: the limit ends it
        study.pop("save_latent")
        config["studies"] = {"init": study}
        config["cluster"] = {"epoch_seconds": 0}  # estimated at the 1 minute of start-up

    tiny_config(workdir, one_long_run)
    assert [b.minutes for b in bundles(workdir)] == [1]
    profile = edited_profile(workdir / "profile", {"retries: 1 ": "retries: 0 "})
    out = snakemake(workdir, profiles=(profile, SITE), check=False)
    logs = list((workdir / "logs" / "train" / "init").glob("**/*.log"))
    assert logs, out[-4000:]
    log = logs[0]
    job = re.search(r"^slurm job (\d+)$", log.read_text(), re.M)
    assert job, log.read_text()[:500]
    assert not list((workdir / "results").glob("init/runs/**/run.json")), out[-3000:]
    summary = subprocess.run([str(Path(sys.executable).with_name("vaebench")), "summary",
                              "--configfile", "config.yaml"], cwd=workdir, capture_output=True,
                             text=True, timeout=120)
    text = " ".join(summary.stdout.split())
    assert ("init: 1 failed runs, Slurm TIMEOUT: out of time: raise cluster.epoch_seconds in "
            "the config (the runs' estimate; their metrics.csv has the real seconds per epoch) "
            f"(Slurm job {job[1]})") in text, \
        summary.stdout + summary.stderr
