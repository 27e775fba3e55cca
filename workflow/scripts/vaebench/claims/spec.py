"""Reading and checking a claim file (config/claims/<paper>.yaml): its keys, metrics, levels,
margins and the paper's levels. A malformed claim raises ConfigError naming the file, the claim
and the key; the Snakefile reads the files when it parses, so this happens before any job.

A claim: an id, the paper's `section`, `figure` and words (`quote`), the `claim` as tested in
one sentence, `applies_to` (the grid `axes` a study must vary, the `models` tested, the
`settings` every run must have: run keys, `hidden_layers`, and the preprocessing variant's keys
such as `scaling`), a `test` from the registry (claims.tests) with its keys, `metric` (METRICS),
`per`: model (the claim holds in every model) or pooled (one comparison over all, runs paired
within a model), how diverged runs enter (`diverged`), and the levels the paper studied
(`paper_levels`; a file may set these two for all its claims). Levels may be named, or be
`others` (every other level of the study's grid), `highest` or `lowest` (numeric axes), all
among the paper's levels.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from ..config import (
    ACTIVATION_NAMES,
    INIT_NAMES,
    LATENT_KINDS,
    MODEL_NAMES,
    OPTIMIZER_NAMES,
    RECONSTRUCTIONS,
    ConfigError,
    RunConfig,
    axis_value,
    load_yaml,
)


@dataclass(frozen=True)
class Metric:
    table: str  # runs (runs.csv) or latent (latent.csv)
    lower_is_better: bool
    label: str
    # The smallest difference worth calling an effect, where a claim names none (`min_effect`):
    # relative to the compared level's median, or in the metric's units (docs/analysis.md
    # "Practical significance").
    min_effect: dict

LOSS_MIN_EFFECT = {"relative": True, "value": 0.02}

EPOCH_MIN_EFFECT = {"relative": True, "value": 0.10}

SCORE_MIN_EFFECT = {"relative": False, "value": 0.02}

METRICS = {
    "final_val_loss": Metric("runs", True, "final validation loss", LOSS_MIN_EFFECT),
    "final_val_recon": Metric("runs", True, "final validation reconstruction loss",
                              LOSS_MIN_EFFECT),
    "auc_val_loss": Metric("runs", True, "area under the validation-loss curve",
                           LOSS_MIN_EFFECT),
    "plateau_epoch": Metric("runs", True, "epochs to converge (plateau_epoch)",
                            EPOCH_MIN_EFFECT),
    "convergence_epoch": Metric("runs", True, "epoch the stopping rule fires (convergence_epoch)",
                                EPOCH_MIN_EFFECT),
    "ari": Metric("latent", False, "ARI of Leiden clusters against the label", SCORE_MIN_EFFECT),
    "knn_accuracy": Metric("latent", False, "kNN accuracy of the label", SCORE_MIN_EFFECT),
}

COMMON_KEYS = {"id", "section", "claim", "quote", "applies_to", "test", "per", "figure", "note",
               "diverged", "paper_levels", "also_metric"}
# Keys a claim file may set once for all its claims (a claim's own value wins).
FILE_DEFAULTS = ("diverged", "paper_levels")
# How diverged runs enter a claim's test: left out (the papers' own practice: a NaN run has no
# point in their figures) or ranked below every finished run. The other reading is computed too.
DIVERGED_READINGS = ("drop", "worst")
SELECTOR_KEYS = {"axes", "models", "settings"}
LEVEL_WORDS = ("others", "highest", "lowest")
# Settings a claim may require beside the run keys: the preprocessing variant's and the depth.
DERIVED_SETTINGS = {"hidden_layers", "scaling", "top_k", "variability", "na_policy"}
CATEGORIES = {"model": MODEL_NAMES, "init": INIT_NAMES, "optimizer": OPTIMIZER_NAMES,
              "activation": ACTIVATION_NAMES, "reconstruction": RECONSTRUCTIONS,
              "latent_kind": LATENT_KINDS}
RUN_KEYS = {f.name for f in dataclasses.fields(RunConfig)} - {"axes", "model_params"}
SHIPPED = Path(__file__).resolve().parents[4] / "config" / "claims"
PAPERS = ("init_methods", "hyperparameters", "eltager2023")  # the shipped files, oldest first


# ----- reading and checking a claim file -----


def claim_paths(names) -> list[Path]:
    """The claim files of a config's `claims:` list: a bare name is a shipped file
    (config/claims/<name>.yaml), anything else a path; None: the three papers'."""
    names = PAPERS if names is None else names
    return [SHIPPED / f"{n}.yaml" if "/" not in n and not n.endswith((".yaml", ".yml"))
            else Path(n).expanduser() for n in names]


def load_claims(path) -> dict:
    """{paper, title, claims: [claim]} of one claim file, every claim checked (ConfigError
    naming the file, the claim id and the key)."""
    path = Path(path)
    raw = load_yaml(path, "claim file")
    if not isinstance(raw, dict) or not isinstance(raw.get("claims"), list):
        raise ConfigError(f"{path}: a claim file is a mapping with `paper:` and a list "
                          "`claims:`")
    unknown = set(raw) - {"paper", "claims", *FILE_DEFAULTS}
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s) {sorted(unknown)} (paper, claims, "
                          f"{', '.join(FILE_DEFAULTS)})")
    defaults = {k: raw[k] for k in FILE_DEFAULTS if k in raw}
    claims, seen = [], set()
    for i, entry in enumerate(raw["claims"]):
        where = f"{path}: claim {entry.get('id', f'#{i + 1}') if isinstance(entry, dict) else i}"
        if isinstance(entry, dict):
            entry = {**defaults, **entry}
        claim = _check_claim(entry, where)
        if claim["id"] in seen:
            raise ConfigError(f"{where}: key `id`: {claim['id']!r} is used twice in the file")
        seen.add(claim["id"])
        claims.append({**claim, "paper": path.stem})
    return {"paper": path.stem, "title": str(raw.get("paper", path.stem)), "claims": claims}


def _check_claim(entry, where: str) -> dict:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: a claim is a mapping of keys (id, claim, test, ...)")
    for key in ("id", "section", "claim", "applies_to", "test"):
        if key not in entry:
            raise ConfigError(f"{where}: key `{key}` is missing")
    test = entry["test"]
    from .tests import REGISTRY  # the tests' keys; their functions need numpy and scipy

    if test not in REGISTRY:
        raise ConfigError(f"{where}: key `test`: unknown test {test!r} "
                          f"(tests: {', '.join(REGISTRY)})")
    needed, optional = REGISTRY[test].needs, REGISTRY[test].optional
    for key in needed - set(entry):
        raise ConfigError(f"{where}: key `{key}` is missing (test {test} needs "
                          f"{', '.join(sorted(needed))})")
    for key in set(entry) - needed - optional - COMMON_KEYS:
        raise ConfigError(f"{where}: key `{key}` is not a key of test {test} "
                          f"(its keys: {', '.join(sorted(needed | optional | COMMON_KEYS))})")
    claim = {k: entry[k] for k in entry}
    claim["id"], claim["claim"] = str(entry["id"]), str(entry["claim"])
    claim["per"] = entry.get("per", "pooled")
    if claim["per"] not in ("model", "pooled"):
        raise ConfigError(f"{where}: key `per`: {claim['per']!r} is neither model nor pooled")
    claim["applies_to"] = _check_selector(entry["applies_to"], f"{where}: key `applies_to`")
    metrics = entry.get("metric", [])
    claim["metric"] = [metrics] if isinstance(metrics, str) else list(metrics)
    for metric in claim["metric"]:
        if metric not in METRICS:
            raise ConfigError(f"{where}: key `metric`: unknown metric {metric!r} "
                              f"(metrics: {', '.join(METRICS)})")
    if test == "no_monotone" and len(claim["metric"]) != 2:
        raise ConfigError(f"{where}: key `metric`: no_monotone relates two metrics, "
                          f"not {claim['metric']}")
    if "axis" in entry:
        _check_axis(entry["axis"], f"{where}: key `axis`")
    for key in ("better", "worse", "best", "worst", "levels", "stable", "variable"):
        if key in entry:
            claim[key] = _check_levels(entry["axis"], entry[key], f"{where}: key `{key}`")
    if "model" in entry:
        claim["model"] = _check_levels("model", entry["model"], f"{where}: key `model`")
    for key in ("among", "across"):
        if key in entry:
            axes = entry[key] if isinstance(entry[key], list) else [entry[key]]
            for axis in axes:
                _check_axis(axis, f"{where}: key `{key}`")
            claim[key] = list(axes)
    if test == "best_level" and not ({"best", "worst"} & set(entry)):
        raise ConfigError(f"{where}: key `best`: best_level names a `best` or `worst` level")
    if "margin" in entry:
        claim["margin"] = _check_margin(entry["margin"], test, f"{where}: key `margin`")
    claim["min_effect"] = (_check_margin(entry["min_effect"], test, f"{where}: key `min_effect`")
                           if "min_effect" in entry else _default_min_effect(claim))
    claim["diverged"] = entry.get("diverged", "drop")
    if claim["diverged"] not in DIVERGED_READINGS:
        raise ConfigError(f"{where}: key `diverged`: {claim['diverged']!r} is neither "
                          f"{' nor '.join(DIVERGED_READINGS)}")
    claim["paper_levels"] = _check_paper_levels(entry.get("paper_levels", {}),
                                                f"{where}: key `paper_levels`")
    if "also_metric" in entry:
        if entry["also_metric"] not in METRICS:
            raise ConfigError(f"{where}: key `also_metric`: unknown metric "
                              f"{entry['also_metric']!r} (metrics: {', '.join(METRICS)})")
        claim["also_metric"] = entry["also_metric"]
    if "learned_only" in entry and not isinstance(entry["learned_only"], bool):
        raise ConfigError(f"{where}: key `learned_only`: true or false, not "
                          f"{entry['learned_only']!r}")
    if "reference" in entry:
        claim["reference"] = _check_selector(entry["reference"], f"{where}: key `reference`")
    return claim


def _default_min_effect(claim: dict) -> dict | None:
    """The documented minimum effect of an ordering, best-level or influence claim on its
    (first) metric; None where the test has none (equivalence and non-inferiority have their
    margin, the others no effect in the metric's units)."""
    from .tests import REGISTRY

    if REGISTRY[claim["test"]].min_effect is not None:
        return REGISTRY[claim["test"]].min_effect
    if claim["test"] in ("ordering", "best_level") and "margin" not in claim:
        return METRICS[claim["metric"][0]].min_effect
    return None


def _check_paper_levels(spec, where: str) -> dict:
    """axis -> the levels the paper studied: a list, or {min, max} of a numeric axis (both
    ends included). A study's levels outside it stand for nothing the paper said."""
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: a mapping of axis to a list of levels or {{min, max}}, "
                          f"not {spec!r}")
    out = {}
    for axis, levels in spec.items():
        _check_axis(axis, f"{where}.{axis}")
        if isinstance(levels, dict):
            if set(levels) != {"min", "max"}:
                raise ConfigError(f"{where}.{axis}: a range has keys min and max, not "
                                  f"{sorted(levels)}")
            try:
                low, high = float(levels["min"]), float(levels["max"])
            except (TypeError, ValueError):
                raise ConfigError(f"{where}.{axis}: min and max are numbers, not "
                                  f"{levels!r}") from None
            out[axis] = {"min": low, "max": high}
        else:
            out[axis] = {"levels": _check_levels(axis, levels, f"{where}.{axis}")}
    return out


def in_paper_levels(spec: dict, axis: str, level: str) -> bool:
    """Is `level` (as level_key spells it) among the levels the paper studied on `axis`?"""
    if axis not in spec:
        return True
    if "levels" in spec[axis]:
        return level in spec[axis]["levels"]
    return spec[axis]["min"] * (1 - 1e-9) <= float(level) <= spec[axis]["max"] * (1 + 1e-9)


def describe_paper_levels(spec: dict, axis: str) -> str:
    if "levels" in spec[axis]:
        return ", ".join(spec[axis]["levels"])
    return f"{spec[axis]['min']:g} to {spec[axis]['max']:g}"


def _check_selector(selector, where: str) -> dict:
    if not isinstance(selector, dict) or set(selector) - SELECTOR_KEYS:
        raise ConfigError(f"{where}: a mapping with keys {', '.join(sorted(SELECTOR_KEYS))}, "
                          f"not {selector!r}")
    axes = list(selector.get("axes", []))
    for axis in axes:
        _check_axis(axis, f"{where}.axes")
    models = _check_levels("model", selector.get("models", []), f"{where}.models")
    settings = dict(selector.get("settings", {}))
    for key in settings:
        if key not in RUN_KEYS | DERIVED_SETTINGS:
            raise ConfigError(f"{where}.settings: unknown setting {key!r} (a run key, or one of "
                              f"{', '.join(sorted(DERIVED_SETTINGS))})")
    return {"axes": axes, "models": models, "settings": settings}


def _check_axis(axis, where: str) -> None:
    if axis not in RUN_KEYS:
        raise ConfigError(f"{where}: unknown axis {axis!r} (axes are run keys: model, init, "
                          "seed, lr, latent, optimizer, hidden, ...)")


def level_key(axis: str, value) -> str:
    """A level as it appears in run paths, the same from a claim, a config grid or a table
    column: numbers of a numeric axis as their float (lr) or int (latent, seed) values, so
    that 1.0e-3, 0.001 and "1e-3" are one level."""
    default = getattr(RunConfig, axis, None)
    if isinstance(default, bool) or not isinstance(default, int | float):
        return axis_value(value)
    return axis_value(type(default)(float(value)))


def _check_levels(axis: str, levels, where: str) -> list[str]:
    """The levels as level_key spells them; `others`, `highest` and `lowest` are resolved
    against a study's grid later."""
    values = levels if isinstance(levels, list) else [levels]
    out = []
    for value in values:
        if value in LEVEL_WORDS:
            out.append(value)
        elif axis in CATEGORIES and value not in CATEGORIES[axis]:
            raise ConfigError(f"{where}: unknown level {value!r} of {axis} "
                              f"(levels: {', '.join(CATEGORIES[axis])})")
        else:
            try:
                out.append(level_key(axis, value))
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: level {value!r} of {axis} is not a number") from None
    return out


def _check_margin(margin, test: str, where: str) -> dict:
    """`5%`: relative to the median of the compared values; a number: in the metric's units
    (no_monotone: a bound on |Spearman's rho|)."""
    if isinstance(margin, str) and margin.endswith("%") and test != "no_monotone":
        try:
            return {"relative": True, "value": float(margin[:-1]) / 100}
        except ValueError:
            pass
    if isinstance(margin, int | float) and margin > 0 and (test != "no_monotone" or margin < 1):
        return {"relative": False, "value": float(margin)}
    raise ConfigError(f"{where}: {margin!r} is not a margin (a percentage such as 5%, or a "
                      "positive number; no_monotone: a bound on |rho| below 1)")
