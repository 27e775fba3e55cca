"""The papers' claims: read and checked, matched to studies, and tested on planted answers."""

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import REPO

from vaebench.analysis.claims import evaluate
from vaebench.analysis.stats import holm
from vaebench.claim_files import PAPERS, load_claims, plan
from vaebench.config import ConfigError

INITS = ["default", "uniform", "normal", "xavier_normal", "xavier_uniform"]
I1 = {"id": "I1", "section": "4.5.1", "claim": "uniform ends lower than every other init",
      "applies_to": {"axes": ["init"], "models": ["vanilla"]}, "test": "ordering",
      "axis": "init", "better": ["uniform"], "worse": "others", "metric": "final_val_loss",
      "per": "model"}


def claim_file(tmp_path, *claims, name="paper"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"paper": "a planted paper", "claims": list(claims)}))
    return path


def init_study(seeds, loss, models=("vanilla",), inits=INITS, status=None):
    """A runs table of an init study: loss(model, init, seed, rng) -> final_val_loss."""
    rng = np.random.default_rng(0)
    rows = [{"model": m, "init": i, "seed": s, "status": "ok", "collapsed": False,
             "final_val_loss": loss(m, i, s, rng), "path": f"{m}/{i}/{s}"}
            for m in models for i in inits for s in seeds]
    table = pd.DataFrame(rows)
    table["plateau_epoch"] = table["final_val_loss"] * 10
    table["final_val_recon"] = table["final_val_loss"]
    table["auc_val_loss"], table["ari"], table["knn_accuracy"] = 1.0, np.nan, np.nan
    if status is not None:
        table["status"] = [status(r) for r in table.itertuples()]
    return table


def verdicts(tmp_path, table, *claims, axes=("model", "init", "seed")):
    """Each claim's row, tested on `table` as study `s` (a study that fits every claim)."""
    paper = load_claims(claim_file(tmp_path, *claims))
    matches = [{"paper": "paper", "claim": c["id"], "study": "s", "reference": None,
                "reason": ""} for c in paper["claims"]]
    rows, parts = evaluate([paper], matches, {"s": table}, {"s": list(axes)})
    return rows.set_index("claim_id"), parts


def noisy(best, shift, sd=0.01):
    return lambda m, i, s, rng: 1.0 + (0 if i == best else shift) + sd * rng.normal()


def test_a_planted_better_uniform_holds(tmp_path):
    rows, parts = verdicts(tmp_path, init_study(range(10), noisy("uniform", 0.2)), I1)
    row = rows.loc["I1"]
    assert row["verdict"] == "holds" and row["p_holm"] < 0.05 and row["effect"] == 1.0
    assert row["ci_low"] > 0 and row["n_parts"] == 4 == len(parts)
    assert (parts["n"] == 10).all() and parts["supports"].all()


def test_the_reverse_is_contradicted(tmp_path):
    rows, _ = verdicts(tmp_path, init_study(range(10), noisy("uniform", -0.2)), I1)
    assert rows.loc["I1", "verdict"] == "contradicted"
    assert rows.loc["I1", "effect"] < 0 and rows.loc["I1", "ci_high"] < 0


def test_noise_with_two_seeds_is_inconclusive_for_too_few_seeds(tmp_path):
    rows, _ = verdicts(tmp_path, init_study([1, 2], noisy("uniform", 0.0, sd=0.1)), I1)
    assert rows.loc["I1", "verdict"] == "inconclusive"
    assert rows.loc["I1", "reason"].startswith("too few seeds")


def test_a_missing_level_is_not_run_with_the_reason(tmp_path):
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["studies"] = {"init": config["studies"]["init"]}
    config["studies"]["init"]["grid"]["init"] = ["default", "normal"]
    config["claims"] = [str(claim_file(tmp_path, I1))]
    papers, matches = plan(config)
    assert matches == [{"paper": "paper", "claim": "I1", "study": None, "reference": None,
                        "reason": "study init lacks the init level(s) uniform"}]
    rows, parts = evaluate(papers, matches, {}, {})
    assert rows.loc[0, "verdict"] == "not run" and parts.empty
    assert rows.loc[0, "reason"] == "study init lacks the init level(s) uniform"


def test_holm_is_applied_within_the_paper(tmp_path):
    # 6 seeds, all pairs one way: Wilcoxon's smallest one-sided p 1/64, doubled 0.031 < 0.05;
    # three such claims: Holm makes each 0.094, so none holds.
    claims = [{**I1, "id": f"I1{k}", "better": ["uniform"], "worse": ["normal"]}
              for k in "abc"]
    rows, _ = verdicts(tmp_path, init_study(range(6), noisy("uniform", 0.2)), *claims)
    assert np.allclose(rows["p"], 2 / 64)
    assert np.allclose(rows["p_holm"], holm(rows["p"]))
    assert np.allclose(rows["p_holm"], 3 * 2 / 64)
    assert (rows["verdict"] == "inconclusive").all()
    assert rows["reason"].str.startswith("not significant after Holm").all()
    single, _ = verdicts(tmp_path, init_study(range(6), noisy("uniform", 0.2)), claims[0])
    assert single.loc["I1a", "verdict"] == "holds"


def test_diverged_runs_are_counted_not_dropped(tmp_path):
    # uniform ends lowest whenever it finishes, but diverges in 4 of 14 seeds
    def status(run):
        return "diverged" if run.init == "uniform" and run.seed < 4 else "ok"

    table = init_study(range(14), noisy("uniform", 0.2), status=status)
    table.loc[table["status"] == "diverged", ["final_val_loss", "plateau_epoch"]] = np.nan
    rows, parts = verdicts(tmp_path, table, I1)
    assert rows.loc["I1", "verdict"] != "holds" and rows.loc["I1", "n_diverged"] == 4
    assert (parts["n"] == 14).all()  # the diverged pairs are in, as losses for uniform
    assert "4 of 70 runs diverged" in rows.loc["I1", "reason"]
    finished, _ = verdicts(tmp_path, table[table["status"] == "ok"], I1)
    assert finished.loc["I1", "verdict"] == "holds"  # what dropping them would have said


def hparam_study(recon, status=None):
    """A runs table of a grid study: recon(model, lr, latent, optimizer, rng)."""
    rng = np.random.default_rng(1)
    rows = [{"model": m, "lr": lr, "latent": lat, "optimizer": o, "status": "ok",
             "collapsed": False, "final_val_recon": recon(m, lr, lat, o, rng),
             "path": f"{m}/{lr}/{lat}/{o}"}
            for m in ("vanilla", "iwae") for lr in (1e-4, 1e-3, 1e-2, 1e-1)
            for lat in (10, 20, 50) for o in ("adam", "rmsprop", "sgd")]
    table = pd.DataFrame(rows)
    if status is not None:
        table["status"] = [status(r) for r in table.itertuples()]
    return table.assign(final_val_loss=table["final_val_recon"])


HPARAM_AXES = ("model", "lr", "latent", "optimizer")


def sgd_worse(m, lr, lat, o, rng):
    return 1.0 + (0.5 if o == "sgd" else 0.0) + 0.05 * lat / 10 + 0.02 * rng.normal()


@pytest.mark.parametrize("claim,table,expected", [
    ({"test": "most_influential", "axis": "optimizer", "among": ["lr", "latent", "optimizer"],
      "metric": "final_val_recon"}, hparam_study(sgd_worse), "holds"),
    ({"test": "most_influential", "axis": "lr", "among": ["lr", "latent", "optimizer"],
      "metric": "final_val_recon"}, hparam_study(sgd_worse), "contradicted"),
    ({"test": "best_level", "axis": "latent", "best": "lowest", "worst": 50,
      "metric": "final_val_recon", "per": "model"}, hparam_study(sgd_worse), "holds"),
    ({"test": "equivalence", "axis": "optimizer", "levels": ["adam", "rmsprop"],
      "margin": "5%", "metric": "final_val_recon"}, hparam_study(sgd_worse), "holds"),
    ({"test": "equivalence", "axis": "optimizer", "levels": ["adam", "sgd"],
      "margin": "5%", "metric": "final_val_recon"}, hparam_study(sgd_worse), "contradicted"),
    ({"test": "less_variable", "axis": "optimizer", "stable": ["adam"], "variable": ["sgd"],
      "across": ["lr", "latent"], "metric": "final_val_recon"},
     hparam_study(lambda m, lr, lat, o, rng: 1 + (rng.normal() if o == "sgd" else 0.01 * lat)),
     "holds"),
    ({"test": "fails", "axis": "lr", "levels": "highest"},
     hparam_study(sgd_worse, status=lambda r: "diverged" if r.lr == 1e-1 and r.optimizer != "sgd"
                  else "ok"), "holds"),
    ({"test": "fails", "axis": "lr", "levels": [1.0e-4]},
     hparam_study(sgd_worse, status=lambda r: "diverged" if r.lr == 1e-1 else "ok"),
     "contradicted"),
    ({"test": "no_monotone", "metric": ["final_val_loss", "final_val_recon"], "margin": 0.3},
     hparam_study(sgd_worse), "contradicted"),
])
def test_each_test_finds_a_planted_answer(tmp_path, claim, table, expected):
    spec = {"id": "X1", "section": "1", "claim": "planted", "applies_to": {}, **claim}
    rows, _ = verdicts(tmp_path, table, spec, axes=HPARAM_AXES)
    assert rows.loc["X1", "verdict"] == expected, rows.loc["X1"].to_dict()


def test_no_monotone_relation_holds_between_independent_metrics(tmp_path):
    table = hparam_study(sgd_worse)
    table["final_val_loss"] = np.random.default_rng(5).permutation(table["final_val_recon"])
    table = pd.concat([table] * 3, ignore_index=True).assign(
        final_val_loss=lambda t: np.random.default_rng(6).normal(size=len(t)))
    spec = {"id": "E4", "section": "2", "claim": "no relation", "applies_to": {},
            "test": "no_monotone", "metric": ["final_val_loss", "final_val_recon"],
            "margin": 0.3}
    rows, _ = verdicts(tmp_path, table, spec, axes=[])
    assert rows.loc["E4", "verdict"] == "holds"


def test_most_sensitive_and_same_ordering_find_planted_answers(tmp_path):
    def loss(m, i, s, rng):  # vanilla spreads its inits 20%, iwae 1%
        return 1 + INITS.index(i) * (0.05 if m == "vanilla" else 0.0025) + 0.001 * rng.normal()

    table = init_study(range(8), loss, models=("vanilla", "iwae"))
    sensitive = {"id": "I6", "section": "7.1", "claim": "vanilla most sensitive",
                 "applies_to": {"axes": ["init", "model"]}, "test": "most_sensitive",
                 "axis": "init", "model": "vanilla", "metric": "final_val_loss"}
    rows, _ = verdicts(tmp_path, table, sensitive)
    assert rows.loc["I6", "verdict"] == "holds"
    assert verdicts(tmp_path, table, {**sensitive, "model": "iwae"})[0].loc[
        "I6", "verdict"] == "contradicted"
    same = {"id": "I7", "section": "4.5.5", "claim": "same order",
            "applies_to": {"axes": ["init"], "models": ["vanilla"]},
            "reference": {"axes": ["init"], "models": ["vanilla"]}, "test": "same_ordering",
            "axis": "init", "metric": "final_val_loss"}
    paper = load_claims(claim_file(tmp_path, same))
    reversed_order = init_study(range(8), lambda m, i, s, rng: loss(m, INITS[-1 - INITS.index(i)],
                                                                    s, rng))
    for reference, expected in ((table, "holds"), (reversed_order, "contradicted")):
        matches = [{"paper": "paper", "claim": "I7", "study": "z", "reference": "m",
                    "reason": ""}]
        rows, _ = evaluate([paper], matches, {"z": table, "m": reference},
                           {"z": ["model", "init", "seed"], "m": ["model", "init", "seed"]})
        assert rows.loc[0, "verdict"] == expected


@pytest.mark.parametrize("edit,key,message", [
    ({"axis": "initialisation"}, "axis", "unknown axis 'initialisation'"),
    ({"better": ["unifrom"]}, "better", "unknown level 'unifrom' of init"),
    ({"metric": "val_loss"}, "metric", "unknown metric 'val_loss'"),
    ({"test": "greater"}, "test", "unknown test 'greater'"),
    ({"applies_to": {"axes": ["lr"], "settings": {"scaled": True}}}, "applies_to",
     "unknown setting 'scaled'"),
    ({"margin": "five"}, "margin", "is not a margin"),
    ({"per": "seed"}, "per", "'seed' is neither model nor pooled"),
])
def test_a_malformed_claim_names_file_claim_and_key(tmp_path, edit, key, message):
    path = claim_file(tmp_path, {**I1, **edit})
    with pytest.raises(ConfigError) as err:
        load_claims(path)
    assert str(err.value).startswith(f"{path}: claim I1: key `{key}`")
    assert message in str(err.value)


def test_every_shipped_claim_is_well_formed_and_the_issue_list_is_there():
    ids = {c["id"] for name in PAPERS for c in
           load_claims(REPO / "config" / "claims" / f"{name}.yaml")["claims"]}
    assert {f"I{k}" for k in range(1, 8)} | {"I8a", "I8b"} <= ids
    assert {"H1", "H2a", "H2b", "H3a", "H3b", "H4", "H5", "H6"} <= ids
    assert {f"E{k}" for k in range(1, 7)} <= ids


@pytest.mark.parametrize("configfile,prefixes", [
    ("paper.yaml", ("I", "H")), ("eltager2023.yaml", ("E", "H")),
])
def test_each_claim_finds_its_study_in_the_papers_configs(configfile, prefixes):
    config = yaml.safe_load((REPO / "config" / configfile).read_text())
    _, matches = plan(config)
    for match in matches:
        if match["claim"].startswith(prefixes):
            assert match["study"] is not None, match
    # I7 compares the z-score study with the min-max one
    if configfile == "paper.yaml":
        assert [(m["study"], m["reference"]) for m in matches if m["claim"] == "I7"] == [
            ("init_zscore", "init")]


def test_vaebench_claims_prints_the_plan(capsys):
    from vaebench.cli import main

    assert main(["claims", "--configfile", str(REPO / "config" / "eltager2023.yaml")]) == 0
    out = capsys.readouterr().out
    assert "eltager2023: Eltager et al. (2023)" in out
    assert "  E1   benchmark: Uniform init collapses" in out
    assert "  I1   not run (no study of the config varies init, trains vanilla" in out
