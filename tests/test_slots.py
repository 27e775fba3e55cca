"""The GPU slot allocator under real concurrency: separate processes, real flock, real kill -9."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from vaebench.slots import SlotError, gpu_slot, placed, visible_devices

HOLD = """
import json, sys, time
from vaebench.slots import gpu_slot
devices, per_device, lock_dir, hold, out = sys.argv[1].split(","), int(sys.argv[2]), *sys.argv[3:6]
with gpu_slot(devices, per_device, lock_dir, wait_seconds=60, poll_seconds=0.05) as slot:
    start = time.time()
    print("taken", flush=True)
    time.sleep(float(hold))
    end = time.time()
with open(out, "a") as f:
    f.write(json.dumps({"device": slot.visible, "slot": slot.slot, "start": start,
                        "end": end}) + "\\n")
"""


def holder(tmp_path, devices, per_device, hold, out="taken.jsonl"):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, "-c", HOLD, ",".join(devices), str(per_device),
                             str(tmp_path / "locks"), str(hold), str(tmp_path / out)],
                            stdout=subprocess.PIPE, text=True, env=env)


def most_at_once(records, device) -> int:
    """The largest number of holders of `device` at one moment."""
    events = sorted((t, step) for r in records if r["device"] == device
                    for t, step in ((r["start"], 1), (r["end"], -1)))
    level = peak = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    return peak


def test_concurrent_jobs_never_put_more_than_k_on_a_device_and_use_all(tmp_path):
    devices, per_device = ["a", "b", "c"], 2
    jobs = [holder(tmp_path, devices, per_device, hold=1.0) for _ in range(10)]
    assert all(job.wait(timeout=120) == 0 for job in jobs)
    records = [json.loads(line) for line in (tmp_path / "taken.jsonl").read_text().splitlines()]
    assert len(records) == 10
    assert {r["device"] for r in records} == set(devices)
    for device in devices:
        assert most_at_once(records, device) <= per_device, records


def test_the_first_g_jobs_land_on_g_devices(tmp_path):
    with gpu_slot(["0", "1"], 3, tmp_path) as first, gpu_slot(["0", "1"], 3, tmp_path) as second:
        with gpu_slot(["0", "1"], 3, tmp_path) as third:
            assert (first.visible, second.visible, third.visible) == ("0", "1", "0")
            assert (first.slot, second.slot, third.slot) == (0, 0, 1)


def test_a_killed_jobs_slot_is_free_again(tmp_path):
    job = holder(tmp_path, ["0"], 1, hold=600)
    assert job.stdout.readline().strip() == "taken"
    with pytest.raises(SlotError, match=r"all 1 x 1 GPU slots .* stayed taken"):
        with gpu_slot(["0"], 1, tmp_path / "locks", wait_seconds=0.3, poll_seconds=0.05):
            pass
    os.kill(job.pid, signal.SIGKILL)
    job.wait(timeout=30)
    started = time.monotonic()
    with gpu_slot(["0"], 1, tmp_path / "locks", wait_seconds=5) as slot:
        assert slot.visible == "0"
    assert time.monotonic() - started < 1


def test_visible_devices_follow_cuda_visible_devices():
    assert visible_devices({"CUDA_VISIBLE_DEVICES": "2, 5"}) == ["2", "5"]
    assert visible_devices({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert visible_devices({}) == []


def test_a_slurm_jobs_placement_names_the_job_and_narrows_its_devices():
    environ = {"CUDA_VISIBLE_DEVICES": "3,5", "SLURM_JOB_ID": f"test{os.getpid()}"}
    with placed("auto", 2, environ) as record:
        assert record == {"visible_device": "3", "slot": 0, "runs_per_gpu": 2,
                          "devices": ["3", "5"], "slurm_job": environ["SLURM_JOB_ID"]}
        assert environ["CUDA_VISIBLE_DEVICES"] == "3"
    with placed("cpu", 2, environ) as record:
        assert record is None


@pytest.mark.workflow
def test_runs_spread_over_fake_gpus_and_record_their_slot(tmp_path):
    """Device any with CUDA_VISIBLE_DEVICES naming two GPUs that this CPU-only torch cannot
    use: each job takes a slot, narrows CUDA_VISIBLE_DEVICES to it and records it; torch then
    finds no CUDA and trains on the CPU, as it says in run.json (device auto would fail)."""
    from helpers import snakemake, write_config

    cfg = {"datasets": {"d": {"synthetic": {"samples": 1000, "genes": 500, "seed": 1}}},
           "preprocess": {"p": {"top_k": 300}}, "defaults": {"device": "any"},
           "studies": {"s": {"dataset": "d", "preprocess": "p",
                             "base": {"hidden": [64], "latent": 4, "batch_size": 50,
                                      "epochs": 25},
                             "grid": {"seed": [1, 2, 3, 4, 5, 6]}}}}
    configfile = write_config(tmp_path / "config.yaml", cfg)
    snakemake("--cores", "4", "--resources", "gpu=4", "--set-resources",
              "train:runs_per_gpu=2", "--directory", str(tmp_path), "--configfile",
              str(configfile), env={**os.environ, "CUDA_VISIBLE_DEVICES": "7,8",
                                    "TMPDIR": str(tmp_path)})
    records = [json.loads(p.read_text()) for p in tmp_path.glob("results/s/runs/*/run.json")]
    assert len(records) == 6
    slots = [r["device"]["gpu_slot"] for r in records]
    assert {s["visible_device"] for s in slots} == {"7", "8"}
    assert all(s["runs_per_gpu"] == 2 and s["devices"] == ["7", "8"] for s in slots)
    assert all(r["device"]["type"] == "cpu" for r in records)
    from datetime import datetime
    spans = [{"device": s["visible_device"],
              "start": datetime.fromisoformat(r["started_at"]).timestamp(),
              "end": datetime.fromisoformat(r["finished_at"]).timestamp()}
             for r, s in zip(records, slots)]
    assert all(most_at_once(spans, d) <= 2 for d in ("7", "8"))
    # and runs do share: a local run has no bundles, and no one-run-per-bundle limit
    # (common.smk's bundle_slot) serialises its training
    assert max(most_at_once(spans, d) for d in ("7", "8")) == 2


@pytest.mark.workflow
def test_the_local_profile_gives_the_jobs_its_runs_per_gpu(tmp_path):
    import yaml
    from helpers import REPO, TINY, snakemake

    profile = yaml.safe_load((REPO / "profiles/local/config.yaml").read_text())
    k = profile["set-resources"]["train"]["runs_per_gpu"]
    assert profile["resources"]["gpu"] % k == 0 and k > 1
    done = snakemake("-n", "--profile", str(REPO / "profiles/local"), "--directory",
                     str(tmp_path), "--configfile", str(TINY))
    jobs = re.findall(r"rule (train\w*):.*?resources: ([^\n]*)", done.stdout, re.S)
    assert jobs and all(f"runs_per_gpu={k}" in resources for _, resources in jobs), done.stdout


def test_an_unwritable_slot_directory_is_named_with_the_way_out(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")  # a directory cannot be made inside a file, even by root
    with pytest.raises(SlotError, match=f"cannot keep GPU slot locks in {blocker}/slots: "
                                        ".*point it at a writable local directory with TMPDIR"):
        with gpu_slot(["0"], 1, blocker / "slots"):
            pass
