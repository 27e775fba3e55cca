"""The verdicts under planted nulls, through bench/calibrate_verdicts.py's simulation (the same
tables and the same evaluation as its full run, fewer of them): a null gives a decisive verdict
no more often than 5% plus the Monte Carlo error of the tables drawn here."""

import math
import sys

import pytest
from helpers import REPO

sys.path.insert(0, str(REPO / "bench"))
import calibrate_verdicts as calibration  # noqa: E402

TABLES = 50
# 5% plus 2.5 Monte Carlo standard deviations at TABLES tables (one-sided, about 1 in 160)
BOUND = 0.05 + 2.5 * math.sqrt(0.05 * 0.95 / TABLES)


def shares(kind: str, scenario: str) -> dict[str, float]:
    chosen = next(s for s in calibration.SCENARIOS if s.name == scenario)
    counts = calibration.tally((kind, chosen, TABLES, 1))
    total = sum(counts[v] for v in calibration.VERDICTS)
    return {v: counts[v] / total for v in calibration.VERDICTS}


@pytest.mark.parametrize("kind,scenario", [
    # one seed: a cell of one run cannot tell the level's spread from seed noise
    ("most_sensitive", "null, 1 seed"),
    # seed noise 5x another model's is not sensitivity to the axis
    ("most_sensitive", "null, a model 5x noisier"),
    ("ordering", "null, 10 seeds"),
    ("ordering", "null, integer metric (ties)"),
])
def test_a_null_is_rarely_decisive(kind, scenario):
    got = shares(kind, scenario)
    assert got["holds"] <= BOUND and got["contradicted"] <= BOUND, got


def test_one_seed_cannot_decide_most_sensitive(tmp_path):
    """Pure noise, one run per model and init: inconclusive every time, for too few seeds, with
    the seeds that would decide it."""
    from vaebench.claims.verdicts import evaluate

    scenario = calibration.SCENARIOS[0]
    assert scenario.seeds == 1
    claim = calibration.claim_for("most_sensitive")
    path = tmp_path / "sim.yaml"
    path.write_text(calibration.yaml.safe_dump({"paper": "simulated", "claims": [claim]}))
    paper = calibration.load_claims(path)
    match = [{"paper": "sim", "claim": "X1", "study": "s", "reference": None, "reason": ""}]
    for draw in range(5):
        table = calibration.simulate("most_sensitive", scenario,
                                     calibration.np.random.default_rng(draw))
        rows, _ = evaluate([paper], match, {"s": table}, {"s": ["model", "init", "seed"]})
        assert rows.loc[0, "verdict"] == "inconclusive"
        assert rows.loc[0, "reason"].startswith("too few seeds or runs")
        assert "1 replicate(s) a level" in rows.loc[0, "reason"]
        # as many seeds as the bootstrap resamples at the least (MIN_BOOTSTRAP) would do
        assert rows.loc[0, "seeds_to_decide"] == 5


def test_a_planted_effect_holds_at_ten_seeds():
    assert shares("most_sensitive", "effect, 10 seeds")["holds"] >= 0.9
