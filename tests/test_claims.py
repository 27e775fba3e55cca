"""The papers' claims: read and checked, matched to studies, and tested on planted answers."""

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import REPO

from vaebench.analysis.stats import holm
from vaebench.claims.match import plan
from vaebench.claims.spec import PAPERS, load_claims
from vaebench.claims.verdicts import evaluate
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


def declared(parts):
    return parts[parts["reading"] == "as declared"]


def test_a_planted_better_uniform_holds(tmp_path):
    rows, parts = verdicts(tmp_path, init_study(range(10), noisy("uniform", 0.2)), I1)
    row = rows.loc["I1"]
    assert row["verdict"] == "holds" and row["p_holm"] < 0.05 and row["effect"] == 1.0
    assert row["ci_low"] > 0 and row["n_parts"] == 4 == len(declared(parts))
    assert (declared(parts)["n"] == 10).all() and declared(parts)["supports"].all()
    # both readings of diverged runs were tested, and agree
    assert set(parts["reading"]) == {"as declared", "diverged ranked worst"}
    assert row["other_readings"].startswith("diverged ranked worst: holds")


def test_the_reverse_is_contradicted(tmp_path):
    rows, _ = verdicts(tmp_path, init_study(range(10), noisy("uniform", -0.2)), I1)
    assert rows.loc["I1", "verdict"] == "contradicted"
    assert rows.loc["I1", "effect"] < 0 and rows.loc["I1", "ci_high"] < 0
    assert rows.loc["I1", "p_holm_against"] < 0.05 <= rows.loc["I1", "p_holm"]


def test_noise_is_inconclusive(tmp_path):
    rows, _ = verdicts(tmp_path, init_study(range(10), noisy("uniform", 0.0, sd=0.1)), I1)
    assert rows.loc["I1", "verdict"] == "inconclusive"
    assert rows.loc["I1", "reason"].startswith("not significant after Holm")


def test_noise_with_two_seeds_is_inconclusive_for_too_few_seeds(tmp_path):
    rows, _ = verdicts(tmp_path, init_study([1, 2], noisy("uniform", 0.0, sd=0.1)), I1)
    assert rows.loc["I1", "verdict"] == "inconclusive"
    assert rows.loc["I1", "reason"].startswith("too few seeds")


def test_a_stated_direction_is_tested_one_sided_without_doubling(tmp_path):
    # 5 seeds, every pair the claimed way: the exact one-sided p is 1/32 = 0.031, and the
    # paper fixed the direction, so nothing doubles it (doubled it was 0.0625: inconclusive)
    rows, _ = verdicts(tmp_path, init_study(range(5), noisy("uniform", 0.2)), I1)
    assert rows.loc["I1", "p"] == pytest.approx(1 / 32)
    assert rows.loc["I1", "verdict"] == "holds"


def test_holm_is_applied_within_the_paper(tmp_path):
    # 5 seeds, all pairs one way: each p 1/32; three such claims: Holm makes each 3/32, and
    # the floor 1/32 is above Holm's strictest threshold 0.05/3: too few seeds, and 6 decide
    claims = [{**I1, "id": f"I1{k}", "better": ["uniform"], "worse": ["normal"]}
              for k in "abc"]
    rows, _ = verdicts(tmp_path, init_study(range(5), noisy("uniform", 0.2)), *claims)
    assert np.allclose(rows["p"], 1 / 32)
    assert np.allclose(rows["p_holm"], holm(rows["p"]))
    assert np.allclose(rows["p_holm"], 3 / 32)
    assert (rows["verdict"] == "inconclusive").all()
    assert rows["reason"].str.startswith("too few seeds").all()
    assert (rows["seeds_to_decide"] == 6).all()
    assert rows["reason"].str.contains("6 seeds would let it reach Holm's threshold").all()
    # with 8 seeds the floor allows it, and Holm decides: a claim with noise among them fails
    rows, _ = verdicts(tmp_path, init_study(range(8), noisy("uniform", 0.2)), *claims)
    assert (rows["verdict"] == "holds").all()


def test_diverged_runs_dropped_as_the_papers_did_and_read_both_ways(tmp_path):
    # uniform ends lowest whenever it finishes, but diverges in 4 of 14 seeds
    def status(run):
        return "diverged" if run.init == "uniform" and run.seed < 4 else "ok"

    table = init_study(range(14), noisy("uniform", 0.2), status=status)
    table.loc[table["status"] == "diverged", ["final_val_loss", "plateau_epoch"]] = np.nan
    rows, parts = verdicts(tmp_path, table, I1)
    row = rows.loc["I1"]
    assert row["declared_verdict"] == "holds" and (declared(parts)["n"] == 10).all()
    # ranked worst, the 4 diverged pairs go against uniform: the verdict is fragile
    worst = parts[parts["reading"] == "diverged ranked worst"]
    assert (worst["n"] == 14).all()
    assert row["verdict"] == "fragile" and "not diverged ranked worst" in row["reason"]
    assert "4 of 70 runs diverged" in row["reason"]
    worst_first, _ = verdicts(tmp_path, table, {**I1, "diverged": "worst"})
    assert worst_first.loc["I1", "declared_verdict"] != "holds"


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
    claims = [c for name in PAPERS
              for c in load_claims(REPO / "config" / "claims" / f"{name}.yaml")["claims"]]
    ids = {c["id"] for c in claims}
    # each quotes its paper in one short sentence
    for claim in claims:
        quote = claim.get("quote", "")
        assert quote and len(quote) <= 200 and ". " not in quote.rstrip("."), claim["id"]
    assert {"I1", "I2", "I3", "I4a", "I4b", "I5", "I6a", "I6b", "I7", "I8a", "I8b", "I9", "I10",
            "I11"} <= ids
    assert {"H1", "H2a", "H2b", "H3a", "H3b", "H4a", "H4b", "H5", "H6", "H7a", "H7b"} <= ids
    assert {f"E{k}" for k in range(1, 9)} <= ids


@pytest.mark.parametrize("configfile,prefixes", [
    ("paper.yaml", ("I", "H")), ("eltager2023.yaml", ("E", "H")),
])
def test_each_claim_finds_its_study_in_the_papers_configs(configfile, prefixes):
    config = yaml.safe_load((REPO / "config" / configfile).read_text())
    _, matches = plan(config)
    for match in matches:
        # the benchmark trains no LogCoshVAE
        if match["claim"].startswith(prefixes) and match["claim"] != "H7b":
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


# ----- planted tables for what a reviewer would catch -----

EQUIV = {"id": "I2", "section": "4.5.1", "claim": "default ~ normal",
         "applies_to": {"axes": ["init"]}, "test": "equivalence", "axis": "init",
         "levels": ["default", "normal"], "margin": "5%", "metric": "final_val_loss",
         "per": "model", "diverged": "worst"}


@pytest.mark.parametrize("apart", [0.30, 0.01])
def test_pairs_where_both_diverged_are_no_evidence_of_equivalence(tmp_path, apart):
    # 8 of 10 seeds diverge in both levels; the 2 finished pairs are `apart` apart
    def status(run):
        return "diverged" if run.seed < 8 else "ok"

    table = init_study(range(10), lambda m, i, s, rng: 1.0 + (apart if i == "normal" else 0),
                       inits=["default", "normal"], status=status)
    rows, parts = verdicts(tmp_path, table, EQUIV)
    assert rows.loc["I2", "declared_verdict"] != "holds"
    assert (declared(parts)["n"] == 2).all()
    assert "8 pair(s) where both diverged left out" in rows.loc["I2", "reason"]
    if apart > 0.05:
        assert rows.loc["I2", "effect"] < 0  # outside the margin: no support at all
    noninferior = {**EQUIV, "test": "ordering", "better": ["default"], "worse": ["normal"],
                   "margin": "5%"}
    del noninferior["levels"]
    rows, _ = verdicts(tmp_path, table, noninferior)
    assert rows.loc["I2", "verdict"] != "holds"


def test_a_level_diverged_in_most_runs_never_contradicts_through_a_nan(tmp_path):
    # every model's `normal` runs diverge; vanilla's inits spread 10x less than iwae's
    def loss(m, i, s, rng):
        return 1 + INITS.index(i) * (0.005 if m == "vanilla" else 0.05) + 0.0001 * rng.normal()

    def status(run):
        return "diverged" if run.init == "normal" and run.seed < 6 else "ok"

    table = init_study(range(8), loss, models=("vanilla", "iwae"), status=status)
    claim = {"id": "I6", "section": "7.1", "claim": "vanilla most sensitive",
             "applies_to": {"axes": ["init", "model"]}, "test": "most_sensitive",
             "axis": "init", "model": "vanilla", "metric": "final_val_loss",
             "diverged": "worst"}
    rows, parts = verdicts(tmp_path, table, claim)
    # an infinite spread does not win: iwae's finite spread is the larger
    assert rows.loc["I6", "verdict"] == "contradicted"
    assert np.isfinite(parts["effect"]).all()
    # a model without one finished run: untested, not contradicted
    gone = table.assign(status=np.where(table["model"] == "iwae", "diverged", table["status"]))
    rows, _ = verdicts(tmp_path, gone, claim)
    assert rows.loc["I6", "verdict"] == "inconclusive"
    assert "lack finished runs" in rows.loc["I6", "reason"]


def test_a_resample_without_a_finite_value_decides_nothing():
    from vaebench.claims.tests import _bootstrap_p

    part = _bootstrap_p("x", 10, 0.5, np.full(2000, np.nan), True)
    assert part.p_for == part.p_against == 1.0


def test_finite_runs_keep_their_deviations_beside_diverged_ones():
    from vaebench.claims.tests import _relative_deviations

    # one group: two finished runs and two diverged ones (infinite where ranked worst)
    raw = np.array([1.0, 1.2, np.inf, np.inf, 2.0, 2.0, 2.6])
    groups = pd.Series([0, 0, 0, 0, 1, 1, 1])
    dev = _relative_deviations(raw, groups)
    # the group of four: one deviation for its two finished runs (they are equal), two
    # unbounded ones; the group of three loses its median's structural zero
    assert np.isclose(dev[0], 0.1 / 1.1) and np.isnan(dev[1]) and np.isinf(dev[2:4]).all()
    assert np.count_nonzero(~np.isnan(dev[4:])) == 2


def test_variability_p_is_exact_and_each_run_counts_once(tmp_path):
    # 2 seeds: each (init) group gives one deviation, not two copies
    def loss(m, i, s, rng):
        return 1 + (0.3 if i == "uniform" else 0.01) * (1 if s else -1) * (1 + rng.random())

    claim = {"id": "I8b", "section": "4.5.6", "claim": "uniform varies more",
             "applies_to": {"axes": ["init", "seed"]}, "test": "less_variable",
             "axis": "init", "stable": ["default", "xavier_normal"], "variable": ["uniform"],
             "across": ["seed"], "metric": "final_val_loss"}
    table = init_study([0, 1], loss, models=("vanilla", "iwae", "infovae", "logcosh"))
    rows, parts = verdicts(tmp_path, table, claim)
    ours = declared(parts)
    assert (ours["n"] == 8).all()  # 4 models x 2 levels, one deviation each
    assert (ours["p_for"] >= ours["min_p"]).all()
    assert np.allclose(ours["min_p"], 1 / 70)  # C(8, 4) splits, no ties


def test_the_floor_counts_only_nonzero_differences(tmp_path):
    # 6 seeds, 2 of them tie exactly: the signed-rank test drops those; floor 1/16, not 1/64
    def loss(m, i, s, rng):
        return 1.0 if s < 2 else (0.9 if i == "uniform" else 1.0)

    claim = {**I1, "worse": ["normal"]}
    rows, parts = verdicts(tmp_path, init_study(range(6), loss), claim)
    assert declared(parts)["min_p"].iloc[0] == 1 / 16
    assert rows.loc["I1", "p"] == pytest.approx(1 / 16)


def test_too_few_seeds_is_judged_against_holms_threshold(tmp_path):
    # floor 1/64 (6 seeds) passes 0.05 but not 0.05/9: among nine claims it can never hold
    claims = [{**I1, "id": f"C{k}", "worse": ["normal"]} for k in range(9)]
    rows, _ = verdicts(tmp_path, init_study(range(6), noisy("uniform", 0.0, sd=0.1)), *claims)
    assert rows["reason"].str.startswith("too few seeds").all()
    assert (rows["seeds_to_decide"] == 8).all()  # 0.5^8 < 0.05 / 9 < 0.5^7


def test_a_tie_is_said(tmp_path):
    rows, _ = verdicts(tmp_path, init_study(range(10), lambda m, i, s, rng: 1.0),
                       {**I1, "worse": ["normal"]})
    assert rows.loc["I1", "verdict"] == "inconclusive"
    assert rows.loc["I1", "reason"].startswith("a tie: vanilla: uniform beats normal")


def test_a_tiny_significant_difference_is_negligible(tmp_path):
    # 2,000 pairs, uniform 0.01% lower: overwhelming p, but far below the minimum effect (2%)
    claim = {**I1, "worse": ["normal"]}
    table = init_study(range(2000), lambda m, i, s, rng: 1.0 - (1e-4 if i == "uniform" else 0)
                       + 1e-6 * rng.normal(), inits=["uniform", "normal"])
    rows, _ = verdicts(tmp_path, table, claim)
    assert rows.loc["I1", "p_holm"] < 1e-100
    assert rows.loc["I1", "verdict"] == "negligible"
    assert "below the minimum effect 2% of the compared level" in rows.loc["I1", "reason"]
    reverse = table.assign(final_val_loss=2 - table["final_val_loss"])
    assert verdicts(tmp_path, reverse, claim)[0].loc["I1", "verdict"] == "negligible"
    declared_small = {**claim, "min_effect": 5.0e-5}
    assert verdicts(tmp_path, table, declared_small)[0].loc["I1", "verdict"] == "holds"


def test_highest_and_others_resolve_within_the_papers_levels(tmp_path):
    # lr 1.0 diverges everywhere, but lies outside the paper's 1e-5 .. 0.1
    claim = {"id": "H6", "section": "5.1", "claim": "the highest lr diverges",
             "applies_to": {"axes": ["lr"]}, "test": "fails", "axis": "lr", "levels": "highest",
             "paper_levels": {"lr": {"min": 1e-5, "max": 1e-1}}}
    table = hparam_study(sgd_worse, status=lambda r: "diverged" if r.lr == 1e-1 else "ok")
    wild = pd.concat([table, table[table["lr"] == 1e-1].assign(lr=1.0, status="diverged")])
    wild.loc[wild["lr"] == 1e-1, "status"] = "ok"
    rows, parts = verdicts(tmp_path, wild, claim, axes=HPARAM_AXES)
    assert "0.1 diverge more" in parts["part"].iloc[0]  # 1.0 is not the highest here
    assert rows.loc["H6", "verdict"] != "holds"
    # a study with one lr inside the paper's range: not run, and why
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["studies"] = {"hparam": config["studies"]["hparam"]}
    config["studies"]["hparam"]["grid"]["lr"] = [1.0e-3, 1.0, 10.0]
    config["claims"] = [str(claim_file(tmp_path, {**claim, "applies_to": {"axes": ["lr"]}}))]
    _, matches = plan(config)
    assert matches[0]["study"] is None
    assert matches[0]["reason"] == ("study hparam has 1 lr level(s) inside the paper's "
                                    "(1e-05 to 0.1), two are needed")


def test_collapsed_runs_are_a_reading_of_latent_claims(tmp_path):
    claim = {**I1, "metric": "ari", "worse": ["normal"]}
    table = init_study(range(10), noisy("uniform", 0.2))
    table["ari"] = np.where(table["init"] == "uniform", 0.2, 0.5)
    table["collapsed"] = table["init"] == "uniform"
    rows, parts = verdicts(tmp_path, table, claim)
    assert "collapsed runs left out" in set(parts["reading"])
    # contradicted only through the collapsed runs: fragile, with both results
    assert rows.loc["I1", "declared_verdict"] == "contradicted"
    assert rows.loc["I1", "verdict"] == "fragile"
    assert "collapsed runs left out: inconclusive" in rows.loc["I1", "other_readings"]


# ----- power -----

def test_noethers_pairs_give_the_power_they_promise():
    from vaebench.claims.exact import noether_pairs, signed_rank

    rng = np.random.default_rng(3)
    threshold = 0.05 / 6
    pilot = rng.normal(0.6, 1.0, 4000)  # the observed differences stand for their law
    n = math.ceil(noether_pairs(pilot, threshold))
    hits = [signed_rank(rng.normal(0.6, 1.0, n), "greater")[0] < threshold
            for _ in range(400)]
    assert 0.72 <= np.mean(hits) <= 0.9, (n, np.mean(hits))


def test_the_correlation_runs_give_the_power_they_promise():
    from scipy import stats

    from vaebench.claims.exact import correlation_runs_inside

    rng = np.random.default_rng(4)
    threshold, margin = 0.05 / 6, 0.3
    n = int(correlation_runs_inside(margin, threshold))
    se, zm = math.sqrt(1.06 / (n - 3)), math.atanh(margin)
    hits = []
    for _ in range(400):
        rho = stats.spearmanr(rng.normal(size=n), rng.normal(size=n)).statistic
        z = math.atanh(rho)
        hits.append(max(stats.norm.sf((z + zm) / se), stats.norm.cdf((z - zm) / se))
                    < threshold)
    assert 0.72 <= np.mean(hits) <= 0.88, (n, np.mean(hits))


def test_vaebench_claims_says_what_each_claim_can_decide(capsys):
    from vaebench.cli import main

    assert main(["claims", "--configfile", str(REPO / "config" / "paper.yaml")]) == 0
    out = capsys.readouterr().out.splitlines()
    after = {line.split()[0]: out[i + 1] for i, line in enumerate(out[:-1])
             if line.startswith("  ") and not line.startswith("   ")}
    assert "can decide" in after["I7"] and "cannot" not in after["I7"]
    assert "1 part, n 40" in after["E4"] and "for 80% power at rho 0" in after["E4"]
    assert "needs 12 seed(s), has 10" in after["E4"]


# ----- vaebench verdicts: a runs table of one's own -----

def run_verdicts(tmp_path, table, *claims, capsys=None):
    from vaebench.cli import main

    runs = tmp_path / "runs.csv"
    table.to_csv(runs, index=False)
    code = main(["verdicts", "--runs", str(runs), "--claims", str(claim_file(tmp_path, *claims)),
                 "--study", "mine", "--out", str(tmp_path / "out")])
    if code:
        return code, None
    return code, pd.read_csv(tmp_path / "out" / "claims.csv").set_index("claim_id")


@pytest.mark.parametrize("shift,expected", [(0.2, "holds"), (-0.2, "contradicted"),
                                            (0.0, "inconclusive")])
def test_vaebench_verdicts_on_a_planted_table(tmp_path, capsys, shift, expected):
    table = init_study(range(10), noisy("uniform", shift, sd=0.01 if shift else 0.1))
    code, rows = run_verdicts(tmp_path, table.drop(columns=["ari", "knn_accuracy"]), I1)
    assert code == 0 and rows.loc["I1", "verdict"] == expected
    assert rows.loc["I1", "study"] == "mine"
    out = capsys.readouterr().out
    assert f"I1   {expected}" in out and "as study mine" in out


def test_vaebench_verdicts_tests_a_shipped_file_on_a_table_without_its_settings(tmp_path):
    from vaebench.cli import main

    table = init_study(range(10), noisy("uniform", 0.2))[["model", "init", "seed", "status",
                                                         "final_val_loss", "plateau_epoch"]]
    table.to_csv(tmp_path / "runs.csv", index=False)
    assert main(["verdicts", "--runs", str(tmp_path / "runs.csv"), "--claims",
                 str(REPO / "config/claims/init_methods.yaml"), "--out",
                 str(tmp_path / "out")]) == 0
    rows = pd.read_csv(tmp_path / "out" / "claims.csv").set_index("claim_id")
    assert rows.loc["I1", "verdict"] == "holds"
    assert "assumed, the table has no column: hidden_layers (1), scaling (minmax)" in \
        rows.loc["I1", "reason"]
    assert rows.loc["I7", "verdict"] == "not run"  # no reference study in one table


@pytest.mark.parametrize("edit,message", [
    (lambda t: t.drop(columns="status"), "runs.csv: no column `status`"),
    (lambda t: t.assign(status=["ok"] * 3 + ["nan-ed"] + ["ok"] * (len(t) - 4)),
     "runs.csv, line 5: status 'nan-ed' is none of ok, diverged, failed"),
    (lambda t: t.assign(final_val_loss=["1.0"] * 6 + ["1,5"] + ["1.0"] * (len(t) - 7)),
     "runs.csv, line 8: column final_val_loss: '1,5' is not a number"),
    (lambda t: t[["model", "init", "seed", "status"]], "runs.csv: no metric column"),
])
def test_vaebench_verdicts_names_a_malformed_table(tmp_path, capsys, edit, message):
    table = edit(init_study(range(3), noisy("uniform", 0.2)).drop(columns=["ari",
                                                                           "knn_accuracy"]))
    code, _ = run_verdicts(tmp_path, table, I1)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0], err


def test_a_trend_claim_with_too_few_runs_says_how_many_seeds(tmp_path):
    same = {"id": "I7", "section": "4.5.5", "claim": "same order",
            "applies_to": {"axes": ["init"], "models": ["vanilla"]},
            "reference": {"axes": ["init"], "models": ["vanilla"]}, "test": "same_ordering",
            "axis": "init", "metric": "final_val_loss"}
    # two such claims: Holm's threshold 0.025; 4 runs in perfect order allow p 1/24 = 0.042
    paper = load_claims(claim_file(tmp_path, same, {**same, "id": "I7b"}))
    table = init_study([1], lambda m, i, s, rng: 1 + INITS.index(i) * 0.1, inits=INITS[:4])
    matches = [{"paper": "paper", "claim": c, "study": "z", "reference": "m", "reason": ""}
               for c in ("I7", "I7b")]
    rows, _ = evaluate([paper], matches, {"z": table, "m": table},
                       {"z": ["model", "init", "seed"], "m": ["model", "init", "seed"]})
    assert rows.loc[0, "p"] == pytest.approx(1 / 24)
    assert rows.loc[0, "reason"].startswith("too few seeds")
    assert rows.loc[0, "seeds_to_decide"] == 2


def test_vaebench_verdicts_names_replicates_without_a_column(tmp_path, capsys):
    table = init_study(range(3), noisy("uniform", 0.2)).drop(columns=["seed", "ari",
                                                                      "knn_accuracy"])
    code, _ = run_verdicts(tmp_path, table, I1)
    assert code == 2
    assert "two runs of a model share every axis (init)" in capsys.readouterr().err
