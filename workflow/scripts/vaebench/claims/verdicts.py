"""From parts to a verdict: each claim read as declared and the other ways (diverged runs the
other way, collapsed runs left out, another metric), Holm within the paper, the minimum
effects, fragility, and the seeds a claim would need. docs/analysis.md "Claims and verdicts"
states the method; in short:

- The paper states each claim's direction, so the tests are one-sided and not doubled. The
  claim's p_for is the largest of its parts' (intersection-union: every part must hold); its
  p_against the smallest of its parts' times the number of parts (any part may contradict).
  Each is Holm-corrected over the paper's claims.
- holds: p_holm < ALPHA, every part at least its minimum effect; contradicted: p_holm_against
  < ALPHA and the part against at least its minimum effect; negligible: significant, but
  smaller than the minimum effect; inconclusive otherwise, with the reason (too few seeds,
  untested parts, ties); not run: no study, level or metric the claim needs.
- Diverged runs enter as the claim declares (`diverged`: drop, the papers' practice, or worst);
  the other reading, and for ARI and kNN claims a reading without collapsed runs, are computed
  too, and a verdict that changes between them is *fragile*. A failed run never enters.
No torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..analysis.stats import ALPHA, holm, ordered
from .exact import correlation_runs_inside, noether_pairs, pairs_for_floor
from .runs import in_scope, scores
from .spec import METRICS
from .tests import REGISTRY, Context, Part

# ----- a claim's parts under a reading -----


@dataclass(frozen=True)
class Reading:
    """How a claim's runs are read: diverged runs dropped or ranked worst, collapsed runs kept
    or left out, and the metric (None: the claim's own). `decides`: a verdict that changes
    under this reading makes the claim fragile (a metric shown beside does not)."""
    kind: str  # declared, diverged, collapsed, metric: Holm's family within the paper
    label: str
    diverged: str
    collapsed: bool = True
    metric: str | None = None
    decides: bool = True


def readings(claim: dict) -> list[Reading]:
    """The declared reading first, then the others the claim is also read under."""
    declared = claim["diverged"]
    out = [Reading("declared", "as declared", declared)]
    if not REGISTRY[claim["test"]].one_reading:
        other = "worst" if declared == "drop" else "drop"
        out.append(Reading("diverged", "diverged ranked worst" if other == "worst"
                           else "diverged left out", other))
    if any(METRICS[m].table == "latent" for m in claim["metric"]):
        out.append(Reading("collapsed", "collapsed runs left out", declared, collapsed=False))
    if "also_metric" in claim:
        out.append(Reading("metric", f"on {claim['also_metric']} instead", declared,
                           metric=claim["also_metric"], decides=False))
    return out


def _strata(claim: dict, table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    if claim["per"] == "model":
        return [(m, table[table["model"] == m]) for m in dict.fromkeys(table["model"])]
    return [("all models" if table["model"].nunique() > 1 else table["model"].iloc[0], table)]


def claim_parts(claim: dict, table: pd.DataFrame, axes: list[str],
                reference: pd.DataFrame | None = None, seed: int = 0,
                reading: Reading | None = None) -> list[Part]:
    """Every part of one claim on its study's table (runs.csv beside the latent scores) and,
    for same_ordering, the reference study's, under a reading (default: as declared)."""
    reading = reading or readings(claim)[0]
    test, axis = REGISTRY[claim["test"]], claim.get("axis")
    table = in_scope(claim, table, axes, collapsed=reading.collapsed)
    if reference is not None:
        reference = in_scope(claim, reference, [a for a in axes if a in reference],
                             "reference", reading.collapsed)
    grid = ordered(table[axis]) if axis else []
    metrics = [reading.metric] if reading.metric else claim["metric"]
    absent = [m for m in metrics if m not in table]
    if absent:
        return [Part(f"{', '.join(absent)}", 0, why="no such column in the runs table")]
    parts: list[Part] = []
    for stratum, part in _strata(claim, table):
        blocks = [a for a in axes if a != axis and (a != "model" or claim["per"] == "pooled")]
        seeds = part["seed"].nunique() if "seed" in blocks and "seed" in part else 1
        for metric in metrics if test.per_metric else [None]:
            parts += test.build(Context(
                claim, part, axes, blocks, grid, metric,
                scores(part, metric, reading.diverged) if metric else None,
                f"{stratum}: " if claim["per"] == "model" else "", reference, reading.diverged,
                seed, seeds))
    for part in parts:  # NaN or inf never decides a verdict
        if not part.why and not np.isfinite(part.effect):
            part.why = "no finite effect (too few finished runs on one side)"
        if part.why:
            part.p_for = part.p_against = np.nan
    return parts


# ----- verdicts -----

VERDICTS = ("holds", "contradicted", "negligible", "fragile", "inconclusive", "not run")


CLAIM_FIELDS = ("paper", "claim_id", "section", "claim", "quote", "study", "test", "metric",
                "per", "diverged", "n_parts", "shown_part", "effect_measure", "effect",
                "ci_low", "ci_high", "difference", "min_effect", "p", "p_against", "p_holm",
                "p_holm_against", "floor_holm", "seeds_to_decide", "verdict",
                "declared_verdict", "reason", "other_readings", "n_runs", "n_diverged",
                "n_collapsed", "paper_figure", "figure")


PART_FIELDS = ("paper", "claim_id", "study", "reading", "part", "n", "effect", "ci_low",
               "ci_high", "difference", "size", "p_for", "p_against", "min_p", "supports",
               "why", "note")


def combine(parts: list[Part]) -> dict:
    """A claim's p_for (the largest of its parts': every part must hold, and NaN while one is
    untested), p_against (the smallest of its parts' times their number), floor (the largest
    of its parts': the claim's p_for can go no lower), the part it shows and, where parts were
    not tested or tie, why."""
    untested = [p for p in parts if np.isnan(p.p_for)]
    tested = [p for p in parts if not np.isnan(p.p_for)]
    floors = [p.min_p for p in parts]
    result = {"floor": max(floors) if parts and not np.isnan(floors).any() else np.nan,
              "untested": "; ".join(dict.fromkeys(f"{p.label} ({p.why})" for p in untested)),
              "few": bool(untested) and all(p.few for p in untested),
              "ties": [p for p in tested if p.effect == 0]}
    if not tested:
        return {**result, "p": np.nan, "p_against": np.nan, "shown": None}
    against = [p for p in tested if p.effect < 0]
    shown = (min(against, key=lambda p: p.p_against) if against
             else max(tested, key=lambda p: p.p_for))
    return {**result, "p": max(p.p_for for p in tested) if not untested else np.nan,
            "p_against": min(1.0, len(parts) * min(p.p_against for p in tested)),
            "shown": shown}


def _describe_min_effect(min_effect: dict | None) -> str:
    if min_effect is None:
        return ""
    value = min_effect["value"]
    return f"{value:.0%} of the compared level" if min_effect["relative"] else f"{value:g}"


def decide(result: dict, parts: list[Part], p_holm: float, p_holm_against: float,
           min_effect: dict | None, family: int) -> tuple[str, str]:
    """(verdict, why) of one reading of a claim; `family`: the paper's tested claims, whose
    number sets Holm's strictest threshold ALPHA / family."""
    threshold = ALPHA / max(family, 1)
    needed = min_effect["value"] if min_effect else np.nan
    if p_holm < ALPHA and not p_holm_against < ALPHA:
        small = [p for p in parts if np.isfinite(p.size) and p.size < needed]
        if small:
            return "negligible", (f"significant, but {small[0].label}: {small[0].size:.2g} "
                                  f"is below the minimum effect "
                                  f"{_describe_min_effect(min_effect)}")
        return "holds", ""
    if p_holm_against < ALPHA:
        shown = result["shown"]
        if np.isfinite(shown.size) and -shown.size < needed:
            return "negligible", (f"significant against, but {shown.label}: {shown.size:.2g} "
                                  f"is within the minimum effect "
                                  f"{_describe_min_effect(min_effect)}")
        return "contradicted", ""
    if result["few"]:  # more seeds would test the parts: seeds_to_decide says how many
        return "inconclusive", f"too few seeds or runs: {result['untested']}"
    if result["untested"]:
        return "inconclusive", f"missing levels or runs: {result['untested']}"
    if result["ties"]:
        tie = result["ties"][0]
        return "inconclusive", f"a tie: {tie.label} (effect exactly 0)"
    if not result["floor"] < threshold:
        return "inconclusive", (f"too few seeds or runs: the smallest p these runs allow, "
                                f"{result['floor']:.2g}, does not reach Holm's threshold "
                                f"{ALPHA:g}/{family} = {threshold:.2g}")
    return "inconclusive", "not significant after Holm"


def evaluate(papers: list[dict], matches: list[dict], tables: dict[str, pd.DataFrame],
             axes: dict[str, list[str]], figures: dict[str, dict] | None = None,
             seed: int = 0, notes: dict[str, str] | None = None) -> tuple[pd.DataFrame,
                                                                         pd.DataFrame]:
    """(claims, parts): one row per claim and study it applies to (one "not run" row where none),
    verdicts Holm-corrected within each paper and reading; and every part's test under every
    reading. figures: study -> {"loss": its figure, "latent": its latent-quality figure}, named
    beside each claim; notes: claim id -> a word said beside its verdict."""
    claims = {(c["paper"], c["id"]): c for paper in papers for c in paper["claims"]}
    rows, part_rows = [], []
    for match in matches:
        claim = claims[(match["paper"], match["claim"])]
        row = {"paper": claim["paper"], "claim_id": claim["id"], "section": claim["section"],
               "claim": claim["claim"], "quote": claim.get("quote", ""),
               "study": match["study"] or "", "test": claim["test"],
               "metric": ", ".join(claim["metric"]), "per": claim["per"],
               "diverged": "" if REGISTRY[claim["test"]].one_reading else claim["diverged"],
               "min_effect": _describe_min_effect(claim["min_effect"]),
               "paper_figure": claim.get("figure", ""), "verdict": "not run",
               "reason": match["reason"], "_readings": [], "_reference": match["reference"]}
        if match["study"] is not None:
            table = tables[match["study"]]
            for reading in readings(claim):
                parts = claim_parts(claim, table, axes[match["study"]],
                                    tables.get(match["reference"]), seed, reading)
                row["_readings"].append((reading, parts, combine(parts)))
                part_rows += [{"paper": claim["paper"], "claim_id": claim["id"],
                               "study": match["study"], "reading": reading.label,
                               "part": p.label, **{k: getattr(p, k) for k in PART_FIELDS[5:]}}
                              for p in parts]
            row.update(_counts(claim, in_scope(claim, table, axes[match["study"]])))
            kind = "latent" if any(METRICS[m].table == "latent" for m in claim["metric"]) \
                else "loss"
            row["figure"] = (figures or {}).get(match["study"], {}).get(kind, "")
        rows.append(row)
    for paper in dict.fromkeys(r["paper"] for r in rows):
        _judge([r for r in rows if r["paper"] == paper], tables, axes, claims, notes or {})
    table = pd.DataFrame(rows).reindex(columns=list(CLAIM_FIELDS))
    counts = ["n_parts", "n_runs", "n_diverged", "n_collapsed", "seeds_to_decide"]
    table[counts] = table[counts].astype("Int64")  # empty where not run, not 2.0
    return (table.reset_index(drop=True), pd.DataFrame(part_rows, columns=list(PART_FIELDS)))


def _counts(claim: dict, runs: pd.DataFrame) -> dict:
    collapsed = runs["collapsed"].fillna(False).astype(bool) if "collapsed" in runs else []
    return {"n_runs": len(runs), "n_diverged": int((runs["status"] == "diverged").sum()),
            "n_collapsed": int(sum(collapsed)),
            "effect_measure": REGISTRY[claim["test"]].measure}


def _judge(rows: list[dict], tables, axes, claims, notes) -> None:
    """Holm within the paper, for each reading; then each tested row's verdict, fragility and
    the seeds it would need."""
    tested = [r for r in rows if r["_readings"]]
    family = sum(1 for r in tested if not np.isnan(r["_readings"][0][2]["p"])
                 or not np.isnan(r["_readings"][0][2]["p_against"]))
    kinds = dict.fromkeys(reading.kind for r in tested for reading, _, _ in r["_readings"])
    adjusted = {}
    for kind in kinds:
        chosen = [next((res for reading, _, res in r["_readings"] if reading.kind == kind),
                       r["_readings"][0][2]) for r in tested]
        adjusted[kind] = (holm([c["p"] for c in chosen]), holm([c["p_against"] for c in chosen]))
    for i, row in enumerate(tested):
        claim = claims[(row["paper"], row["claim_id"])]
        verdicts = []
        for reading, parts, result in row["_readings"]:
            p_holm, p_holm_against = (a[i] for a in adjusted[reading.kind])
            verdicts.append((reading, *decide(result, parts, p_holm, p_holm_against,
                                              claim["min_effect"], family),
                             p_holm, p_holm_against))
        (_, verdict, why, p_holm, p_holm_against), others = verdicts[0], verdicts[1:]
        _, parts, result = row["_readings"][0]
        shown = result["shown"] or Part("", 0)
        row.update({"n_parts": len(parts), "shown_part": shown.label, "effect": shown.effect,
                    "ci_low": shown.ci_low, "ci_high": shown.ci_high,
                    "difference": shown.difference, "p": result["p"],
                    "p_against": result["p_against"], "p_holm": p_holm,
                    "p_holm_against": p_holm_against,
                    "floor_holm": min(1.0, result["floor"] * max(family, 1)),
                    "declared_verdict": verdict})
        row["other_readings"] = "; ".join(
            f"{reading.label}: {v}" + (f" (p_holm {ph:.2g})" if np.isfinite(ph) else "")
            for reading, v, _, ph, _ in others)
        fragile = [reading.label for reading, v, *_ in others if reading.decides and v != verdict]
        notes_ = [why] if why else []
        if why.startswith("too few seeds"):
            seeds = _seeds_to_decide(claim, tables[row["study"]], axes[row["study"]], parts,
                                     family, tables.get(row["_reference"]))
            row["seeds_to_decide"] = seeds["floor"]
            notes_.append(seeds["text"])
        if fragile:
            notes_.insert(0, f"{verdict} as declared, but not {', '.join(fragile)}")
        notes_ += _left_out(row, parts)
        if row["claim_id"] in notes:
            notes_.append(notes[row["claim_id"]])
        row["verdict"] = "fragile" if fragile else verdict
        row["reason"] = "; ".join(notes_)


def _left_out(row: dict, parts: list[Part]) -> list[str]:
    out = [f"{row['n_diverged']} of {row['n_runs']} runs diverged"] if row["n_diverged"] else []
    if row["n_collapsed"]:
        out.append(f"{row['n_collapsed']} of {row['n_runs']} runs collapsed")
    out += list(dict.fromkeys(f"{p.label}: {p.note}" for p in parts if p.note))
    return out


# ----- how many seeds a claim needs -----


def _seeds_to_decide(claim: dict, table: pd.DataFrame, axes: list[str], parts: list[Part],
                     family: int, reference: pd.DataFrame | None) -> dict:
    """The seeds that would let a too-few-seeds claim decide: `floor`, the fewest whose
    smallest p reaches Holm's strictest threshold (ALPHA / family) — for signed-rank parts from
    the nonzero pairs each seed gave here (so runs left out, diverged or failed, count against
    it), else by re-planning the claim on more seeds with every run finished — and, for
    signed-rank parts, the seeds for 80% power at the observed effect (Noether's formula,
    docs/analysis.md "Floors and power")."""
    threshold = ALPHA / max(family, 1)
    ranked = [p for p in parts if p.differences is not None and p.per_seed > 0]
    if ranked and len(ranked) == len(parts):
        rates = [np.count_nonzero(p.differences) / (p.n / p.per_seed) for p in ranked]
        floor = (math.ceil(pairs_for_floor(threshold) / min(rates)) if min(rates) > 0
                 else None)
    else:
        floor = seeds_for_floor(claim, table, axes, threshold, reference)
    text = (f"{floor} seeds would let it reach Holm's threshold" if floor
            else "more seeds alone cannot reach that threshold")
    if ranked and len(ranked) == len(parts):
        pairs = [noether_pairs(p.differences, threshold) / p.per_seed for p in ranked]
        if np.all(np.isfinite(pairs)):
            text += f"; at the observed effect, about {math.ceil(max(pairs))} for 80% power"
        else:
            text += "; at the observed effect, no number of seeds (a part points the other way)"
    return {"floor": floor, "text": text}


def planned_table(runs: list[dict], axes: list[str], seeds: int | None = None,
                  rng_seed: int = 0) -> tuple[pd.DataFrame, list[str]]:
    """A runs table of finished runs with distinct random metrics on the grid `runs` spans
    (dicts of axis values, `model` included): for the floors, which depend on the design and
    not on the values. seeds: replicate the grid over this many seeds (the seed axis replaced,
    or added)."""
    table = pd.DataFrame(runs)
    if "model" not in table:
        table["model"] = "vanilla"
    if seeds is not None:
        table = table.drop(columns="seed", errors="ignore").drop_duplicates()
        table = table.merge(pd.DataFrame({"seed": range(1, seeds + 1)}), how="cross")
        axes = [*[a for a in axes if a != "seed"], "seed"]
    rng = np.random.default_rng(rng_seed)
    for metric in METRICS:
        table[metric] = rng.permutation(len(table)) + 1.0
    return table.assign(status="ok", collapsed=False, path=range(len(table))), axes


def floor_of(claim: dict, table: pd.DataFrame, axes: list[str],
             reference: pd.DataFrame | None = None) -> tuple[float, list[Part]]:
    """The claim's floor on a table and its parts, without resampling (seed None)."""
    parts = claim_parts(claim, table, axes, reference, seed=None)
    return combine(parts)["floor"], parts


def seeds_for_floor(claim: dict, table: pd.DataFrame, axes: list[str], threshold: float,
                    reference: pd.DataFrame | None = None, most: int = 64) -> int | None:
    """The fewest seeds (the grid replicated over them) whose floor is below `threshold`;
    None if `most` do not do it. The floor only falls as seeds are added: bisection."""
    design = table[[a for a in {*axes, "model"} if a in table]].to_dict("records")

    def reaches(seeds: int) -> bool:
        planned, planned_axes = planned_table(design, axes, seeds)
        floor, _ = floor_of(claim, planned, planned_axes, reference)
        return floor < threshold

    low, high = 0, 1
    while not reaches(high):
        if high >= most:
            return None
        low, high = high, min(high * 2, most)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if reaches(mid) else (mid, high)
    return high


def power_rows(papers: list[dict], matches: list[dict], designs: dict[str, list[dict]],
               axes: dict[str, list[str]]) -> list[dict]:
    """Before any run, per claim matched to a study: its parts, their n, the smallest p its
    design allows after Holm (the floor times the paper's matched claims: Holm's strictest
    threshold), and the seeds that would bring that below ALPHA; for a no-relation claim also
    the seeds for 80% power when there is no relation at all (rho 0). designs: study -> its
    runs' axis values. Every run is assumed to finish."""
    claims = {(c["paper"], c["id"]): c for p in papers for c in p["claims"]}
    planned = {s: planned_table(d, axes[s]) for s, d in designs.items()}
    out = []
    for paper in papers:
        mine = [m for m in matches if m["paper"] == paper["paper"] and m["study"]]
        family = len(mine)
        for match in mine:
            claim = claims[(match["paper"], match["claim"])]
            table, study_axes = planned[match["study"]]
            reference = planned[match["reference"]][0] if match["reference"] else None
            floor, parts = floor_of(claim, table, study_axes, reference)
            ns = [p.n for p in parts]
            seeds_now = table["seed"].nunique() if "seed" in table else 1
            power_seeds = None
            if claim["test"] == "no_monotone" and parts and parts[0].n:
                runs = correlation_runs_inside(claim["margin"]["value"], ALPHA / family)
                power_seeds = math.ceil(runs / (parts[0].n / seeds_now))
            out.append({
                "paper": paper["paper"], "claim_id": claim["id"], "study": match["study"],
                "parts": len(parts), "n": f"{min(ns)}" if min(ns, default=0) == max(ns, default=0)
                else f"{min(ns)}-{max(ns)}", "family": family,
                "floor_holm": min(1.0, floor * family) if np.isfinite(floor) else np.nan,
                "seeds": 1 if seeds_now == 1 and floor < ALPHA / family else
                seeds_for_floor(claim, table, study_axes, ALPHA / family, reference),
                "seeds_now": seeds_now, "power_seeds": power_seeds})
    return out
