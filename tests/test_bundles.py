"""Bundles (vaebench.bundles): runs packed into cluster jobs by time, each saved run's scoring
with its own training; and the plans of config/paper.yaml and config/eltager2023.yaml under
them: no Slurm job asks for more than cluster.max_job_minutes, retries included, and no scoring
waits for a run of another bundle. tests/test_docs.py checks the same through the profile's
dry-run, tests/slurm the time limits Slurm was given."""

from pathlib import Path

import pytest
import yaml

from vaebench import bundles
from vaebench.config import ConfigError, load_yaml
from vaebench.plan import Plan

REPO = Path(__file__).resolve().parents[1]


def settings(model="vanilla", epochs=60, init="default", lr=0.001):
    return {"model": model, "epochs": epochs, "init": init, "lr": lr}


def test_a_run_takes_start_up_plus_its_maximum_epochs_at_the_measured_speed():
    assert bundles.run_minutes(settings(epochs=60), 2.0) == 1 + 2
    assert bundles.run_minutes(settings(epochs=61), 2.0) == 1 + 3  # rounded up
    per_model = {"default": 0.5, "iwae": 1.0}
    assert bundles.run_minutes(settings("iwae", epochs=600), per_model) == 1 + 10
    assert bundles.run_minutes(settings("dipvae", epochs=600), per_model) == 1 + 5
    assert bundles.run_minutes(settings(epochs=10**6), 0) == 1


def test_runs_are_packed_in_grid_order_up_to_the_bundle_length():
    # unsaved runs of 3 minutes each (1 + 60 epochs x 2 s), bundles of 10 minutes: 3 per bundle
    runs = {f"seed={i}": settings(init=f"i{i}") for i in range(7)}
    packed = bundles.pack("s", runs, [], {"bundle_minutes": 10})
    assert [b.runs for b in packed] == [("seed=0", "seed=1", "seed=2"),
                                        ("seed=3", "seed=4", "seed=5"), ("seed=6",)]
    assert [b.minutes for b in packed] == [9, 9, 3]
    assert [b.name for b in packed] == ["s.0", "s.1", "s.2"]


def test_runs_that_share_an_untrained_encoder_stay_together_where_they_fit():
    # two saved families (init a: lr x 2, init b: lr x 2) of 2 x 4 minutes (3 + 1 scoring),
    # grid order a, b, a, b: packed as families, not in grid order
    runs = {"a1": settings(init="a", lr=1), "b1": settings(init="b", lr=1),
            "a2": settings(init="a", lr=2), "b2": settings(init="b", lr=2)}
    packed = bundles.pack("s", runs, list(runs), {"bundle_minutes": 8})
    assert [b.runs for b in packed] == [("a1", "a2"), ("b1", "b2")]
    # through the plan: each second run copies the first's untrained scores, in its bundle
    plan = Plan.of(tiny_config({"lr": [1, 2], "init": ["normal", "uniform"]},
                               bundle_minutes=8), claims=False)
    a1, a2, b1, b2 = ("lr=1/init=normal", "lr=2/init=normal",
                      "lr=1/init=uniform", "lr=2/init=uniform")
    assert plan.untrained_from["s"] == {a2: a1, b2: b1}
    assert [b.runs for b in plan.bundles["s"]] == [(a1, a2), (b1, b2)]


def test_a_family_longer_than_a_bundle_is_cut_and_each_piece_scores_its_encoder():
    cfg = tiny_config(runs={"init": ["normal"], "lr": [1, 2, 3, 4, 5]}, bundle_minutes=8)
    plan = Plan.of(cfg, claims=False)
    pieces = plan.bundles["s"]
    assert [len(b.runs) for b in pieces] == [2, 2, 1]
    for bundle in pieces:
        members = set(bundle.runs)
        sources = {plan.untrained_from["s"].get(run, run) for run in bundle.runs}
        assert len(sources) == 1 and sources <= members, (bundle, plan.untrained_from)


def test_a_run_longer_than_half_the_maximum_is_refused_with_the_keys_to_change():
    runs = {"seed=1": settings(epochs=1000)}
    with pytest.raises(ConfigError) as err:
        bundles.pack("study", runs, [], {"max_job_minutes": 60, "epoch_seconds": 2.0})
    message = str(err.value)
    assert "studies.study: run seed=1 may take 35 minutes (1000 epochs" in message
    assert "cluster.max_job_minutes (60)" in message


def test_a_retry_doubles_every_members_time_and_no_attempt_passes_the_maximum():
    bundle = bundles.Bundle("s.0", ("a", "b", "c"), 7 + 5 + 3)
    for attempt, expected in ((1, 15), (2, 30)):
        assert sum(bundles.member_minutes(m, bundle, attempt, 40) for m in (7, 5, 3)) == expected
    assert sum(bundles.member_minutes(m, bundle, 3, 40) for m in (7, 5, 3)) <= 40
    assert sum(bundles.member_minutes(m, bundle, 9, 40) for m in (7, 5, 3)) <= 40


def tiny_config(runs: dict, bundle_minutes: int) -> dict:
    """A one-study config of saved runs of 3 + 1 minutes (60 epochs at 2 s, scored)."""
    return {
        "datasets": {"d": {"synthetic": {"samples": 50, "genes": 40}}},
        "preprocess": {"p": {"top_k": 20}},
        "studies": {"s": {"dataset": "d", "preprocess": "p", "base": {"epochs": 60},
                          "grid": runs, "save_latent": {}}},
        "cluster": {"bundle_minutes": bundle_minutes},
    }


@pytest.mark.parametrize("name", ["paper.yaml", "eltager2023.yaml"])
def test_the_big_configs_plan_jobs_a_partition_accepts(name):
    """Every bundle of the two big configs: its first attempt within half of max_job_minutes,
    every attempt within the maximum; the runs whose scoring shares an untrained encoder's
    scores in the source's bundle."""
    cfg = load_yaml(REPO / "config" / name)
    plan = Plan.of(cfg, claims=False)
    maximum = cfg.get("cluster", {}).get("max_job_minutes", bundles.MAX_JOB_MINUTES)
    assert maximum < 24 * 60
    for study, packed in plan.bundles.items():
        assert sorted(r for b in packed for r in b.runs) == sorted(plan.runs[study])
        saved = set(plan.latent[study])
        for bundle in packed:
            assert 2 * bundle.minutes <= maximum, bundle
            for attempt in (1, 2, 3):
                asked = sum(plan.minutes(study, run, step, attempt) for run in bundle.runs
                            for step in ("train", "score")[:1 + (run in saved)])
                assert asked <= maximum and (attempt > 1 or asked == bundle.minutes), bundle
        for run, source in plan.untrained_from[study].items():
            assert plan.bundle(study, run) == plan.bundle(study, source)
    if name == "eltager2023.yaml":  # as profiles/slurm/README.md counts them
        readme = " ".join((REPO / "profiles/slurm/README.md").read_text().split())
        assert f"the benchmark's {len(plan.bundles['benchmark'])} (one or two" in readme


def test_the_schema_documents_the_bundling_defaults():
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    cluster = schema["properties"]["cluster"]["properties"]
    assert {key: spec["default"] for key, spec in cluster.items()} == {
        "max_job_minutes": bundles.MAX_JOB_MINUTES, "bundle_minutes": bundles.BUNDLE_MINUTES,
        "epoch_seconds": bundles.EPOCH_SECONDS}
