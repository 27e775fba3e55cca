"""Which study of a config each claim applies to, or why none does ("not run"): from the
config's studies (their grids, every run's resolved settings, whether they save latent spaces)
or from a runs table made elsewhere (`vaebench verdicts`). No pandas.
"""

from __future__ import annotations

import dataclasses
import inspect

from ..config import OBJECTIVE_AXES, RunConfig, study_runs
from .spec import (
    DERIVED_SETTINGS,
    LEVEL_WORDS,
    METRICS,
    RUN_KEYS,
    claim_paths,
    describe_paper_levels,
    in_paper_levels,
    level_key,
    load_claims,
)


def study_facts(name: str, spec: dict, config: dict, runs: dict[str, dict],
                saves_latent: bool) -> dict:
    """What matching needs to know of one study: its grid levels (as in run paths), the
    settings of every run (defaults filled in, the depth and the preprocessing variant's keys
    added) and whether it saves latent spaces."""
    from ..data import preprocess  # pandas: only when a config's studies are matched

    variant = {name: p.default for name, p in inspect.signature(preprocess).parameters.items()
               if p.default is not inspect.Parameter.empty}
    variant.update(config.get("preprocess", {}).get(spec["preprocess"], {}))
    defaults = {f.name: (f.default if f.default is not dataclasses.MISSING else f.default_factory())
                for f in dataclasses.fields(RunConfig)}
    resolved = []
    for settings in runs.values():
        run = {**defaults, **settings}
        run["hidden_layers"] = len(run["hidden"])
        run.update({k: variant.get(k) for k in DERIVED_SETTINGS - {"hidden_layers"}})
        resolved.append(run)
    return {"name": name, "levels": {a: [level_key(a, v) for v in vs]
                                     for a, vs in spec["grid"].items()},
            "runs": resolved, "saves_latent": saves_latent}


def table_facts(name: str, records: list[dict], columns: list[str]) -> dict:
    """What matching needs to know of a runs table made elsewhere (`vaebench verdicts`): its
    axes are the columns named like run keys, its settings those columns and any derived
    setting it has; a setting a claim asks for but the table lacks is listed as unknown (the
    claim is tested, and its reason says so), and so is a metric it lacks (not run)."""
    axes = [c for c in columns if c in RUN_KEYS and c != "device"]  # where, not what
    levels = {a: list(dict.fromkeys(level_key(a, r[a]) for r in records)) for a in axes}
    known = set(columns) & (RUN_KEYS | DERIVED_SETTINGS)
    runs = [{k: r[k] for k in known} | {"model": r.get("model", RunConfig.model)}
            for r in records]
    return {"name": name, "levels": levels, "runs": runs,
            "saves_latent": any(m in columns for m in METRICS if METRICS[m].table == "latent"),
            "unknown_settings": (RUN_KEYS | DERIVED_SETTINGS) - known,
            "metrics": [m for m in METRICS if m in columns]}


def plan(config: dict, runs: dict[str, dict[str, dict]] | None = None):
    """(papers, matches) of a workflow config: its claim files (`claims:`) read and checked, and
    each claim matched to its studies. runs: study -> its runs (config.study_runs), where the
    caller has them already."""
    papers = [load_claims(path) for path in claim_paths(config.get("claims"))]
    facts = [study_facts(name, spec, config,
                         runs[name] if runs else study_runs(name, spec, config),
                         spec.get("save_latent") is not None)
             for name, spec in config["studies"].items()]
    return papers, match_claims([c for p in papers for c in p["claims"]], facts)


def match_claims(claims: list[dict], facts: list[dict]) -> list[dict]:
    """Per claim, the studies it applies to: [{claim, study, reference, reason}]; one entry
    with study None and the reason where none applies ("not run")."""
    out = []
    for claim in claims:
        found, misses = [], []
        for study in facts:
            reason = _why_not(claim, claim["applies_to"], study)
            if reason:
                misses.append(reason)
                continue
            reference = None
            if "reference" in claim:
                candidates = [f for f in facts if f["name"] != study["name"]
                              and not _why_not(claim, claim["reference"], f)]
                if not candidates:
                    misses.append(f"study {study['name']} has no reference study "
                                  f"({_describe(claim['reference'])})")
                    continue
                reference = candidates[0]["name"]
            found.append({"paper": claim["paper"], "claim": claim["id"], "study": study["name"],
                          "reference": reference, "reason": ""})
        if not found:
            near = [m for m in misses if m.startswith("study ")]
            reason = near[0] if near else (
                f"no study of the config {_describe(claim['applies_to'])}")
            found = [{"paper": claim["paper"], "claim": claim["id"], "study": None,
                      "reference": None, "reason": reason}]
        out += found
    return out


def _describe(selector: dict) -> str:
    parts = []
    if selector["axes"]:
        parts.append("varies " + " and ".join(selector["axes"]))
    if selector["models"]:
        parts.append("trains " + " or ".join(selector["models"]))
    if selector["settings"]:
        parts.append("has " + ", ".join(f"{k} {v}" for k, v in selector["settings"].items()))
    return ", ".join(parts) or "(any study)"


def _why_not(claim: dict, selector: dict, study: dict) -> str:
    """'' where the claim applies to the study; else why not: '' never starts with 'study '
    unless the study is a near miss (it has the axes, lacks a level or the metric)."""
    spec, name = claim.get("paper_levels", {}), study["name"]
    if any(a not in study["levels"] or len(study["levels"][a]) < 2 for a in selector["axes"]):
        return "no axis"
    varied = [a for a in OBJECTIVE_AXES if len(study["levels"].get(a, [])) > 1]
    if [a for a in varied if a not in selector["axes"]]:
        return "compares objectives"  # the papers' claims hold one objective fixed
    # only the levels the paper studied stand for it (a study's others are left out)
    grid = {a: [lv for lv in levels if in_paper_levels(spec, a, lv)]
            for a, levels in study["levels"].items()}
    trained = [r for r in study["runs"] if not selector["models"]
               or r["model"] in selector["models"]]
    if not trained:
        return "no model"
    for key, value in selector["settings"].items():
        if key in study.get("unknown_settings", ()):
            continue  # a runs table without the column: said beside the verdict
        if any(r.get(key) != value for r in trained):
            return "other settings"
    runs = [r for r in trained
            if all(a not in r or in_paper_levels(spec, a, level_key(a, r[a])) for a in spec)]
    if not runs:
        axis = next(a for a in spec if all(a in r and not in_paper_levels(
            spec, a, level_key(a, r[a])) for r in trained))
        return (f"study {name} has no run inside the paper's levels ({axis}: "
                f"{describe_paper_levels(spec, axis)})")
    outside = [a for a in selector["axes"] if len(grid[a]) < 2]
    if outside:
        return (f"study {name} has {len(grid[outside[0]])} {outside[0]} level(s) inside the "
                f"paper's ({describe_paper_levels(spec, outside[0])}), two are needed")
    name = study["name"]
    grid_levels = grid.get(claim.get("axis"), [])
    wanted = [lv for key in ("better", "worse", "best", "worst", "levels", "stable",
                             "variable") for lv in claim.get(key, [])
              if lv not in LEVEL_WORDS]
    absent = [m for m in claim.get("model", []) if m not in {r["model"] for r in runs}]
    if absent:
        return f"study {name} does not train {', '.join(absent)}"
    missing = [lv for lv in dict.fromkeys(wanted) if lv not in grid_levels]
    if missing:
        return f"study {name} lacks the {claim['axis']} level(s) {', '.join(missing)}"
    for axis in claim.get("among", []) + claim.get("across", []):
        if axis not in grid or len(grid[axis]) < 2:
            return f"study {name} does not vary {axis}"
    if "metrics" in study and any(m not in study["metrics"] for m in claim["metric"]):
        return (f"study {name} has no column "
                f"{', '.join(m for m in claim['metric'] if m not in study['metrics'])}")
    if any(METRICS[m].table == "latent" for m in claim["metric"]) \
            and not study["saves_latent"]:
        return f"study {name} saves no latent spaces (save_latent), so it has no " \
               f"{' or '.join(m for m in claim['metric'] if METRICS[m].table == 'latent')}"
    return ""
