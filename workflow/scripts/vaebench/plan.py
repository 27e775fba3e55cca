"""From a workflow config, what the workflow will do, without torch or pandas: the runs of every
study with their resolved settings, the runs whose latent spaces are saved, which earlier run's
untrained encoder each saved run shares, and the claims matched to the studies. The Snakefile
(common.smk), `vaebench summary` and `vaebench claims` ask it; nothing rebuilds it.

A fault a config can only show here (a study naming an undefined dataset, a figure naming no
axis, a `save_latent` value outside the grid, a `latent_kind` axis on runs that save nothing)
raises ConfigError naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass

from .claims.match import plan as claim_plan
from .config import MODEL_NAMES, ConfigError, axis_value, encoder_key, study_runs


@dataclass
class Plan:
    """runs: study -> {run path: resolved settings}; latent: study -> the saved runs, in grid
    order; untrained_from: study -> {saved run: the first saved run with the same encoder};
    papers, matches: the claim files read and each claim matched to its studies."""
    runs: dict[str, dict[str, dict]]
    latent: dict[str, list[str]]
    untrained_from: dict[str, dict[str, str]]
    papers: list[dict]
    matches: list[dict]

    @classmethod
    def of(cls, config: dict, claims: bool = True) -> Plan:
        """The plan of a (schema-checked) config; claims False leaves the claims out."""
        runs = {name: _study_runs(name, study, config)
                for name, study in config["studies"].items()}
        latent = {name: latent_selection(name, study, runs[name])
                  for name, study in config["studies"].items()}
        for name, study in config["studies"].items():
            _drop_unused_latent_kind(name, study, runs[name], latent[name])
        untrained = {name: untrained_sources(runs[name], latent[name]) for name in runs}
        papers, matches = claim_plan(config, runs) if claims else ([], [])
        return cls(runs, latent, untrained, papers, matches)


def _study_runs(name: str, study: dict, config: dict) -> dict[str, dict]:
    """config.study_runs, after checking what only the workflow knows: the study's dataset,
    variant and figure."""
    for key, where in (("dataset", "datasets"), ("preprocess", "preprocess")):
        if study[key] not in config[where]:
            raise ConfigError(f"studies.{name}.{key}: {study[key]!r} is not defined under "
                              f"`{where}:` (defined: {', '.join(config[where])})")
    check_figure(name, study)
    return study_runs(name, study, config)


def check_figure(name: str, study: dict) -> None:
    """The axes a study's figure names must be grid axes, and its ylim keys models: a typo
    would otherwise fail only in the figures job, after all the training."""
    figure = study.get("figure", {})
    grid = list(study["grid"])
    if figure.get("kind", "curves") == "curves":
        named = {"hue": figure.get("hue")}
    else:  # dots: x and y are needed (their defaults too), col is optional
        named = {"x": figure.get("x", "latent"), "y": figure.get("y", "lr"),
                 "col": figure.get("col")}
    for key, axis in named.items():
        if axis is not None and axis not in grid:
            raise ConfigError(f"studies.{name}.figure.{key}: {axis!r} is not an axis of the "
                              f"study's grid ({', '.join(grid)})")
    unknown = sorted(set(figure.get("ylim", {})) - set(MODEL_NAMES))
    if unknown:
        raise ConfigError(f"studies.{name}.figure.ylim: {unknown} are not models "
                          f"(models: {', '.join(MODEL_NAMES)})")


def latent_selection(name: str, study: dict, runs: dict[str, dict]) -> list[str]:
    """The run paths of a study whose encoder means are saved (`save_latent`: axis -> values, a
    sub-grid; a run is selected when each named axis has one of the listed values; absent or
    null: none; {}: every run), in grid order."""
    selection = study.get("save_latent")
    if selection is None:
        return []
    for axis, values in selection.items():
        grid = [axis_value(v) for v in study["grid"].get(axis, [])]
        missing = [v for v in values if axis_value(v) not in grid]
        if axis not in study["grid"] or missing:
            raise ConfigError(f"studies.{name}.save_latent.{axis}: {missing or values!r} is not "
                              "among the grid's values "
                              f"({', '.join(grid) if grid else 'no such grid axis'})")
    return [path for path, settings in runs.items()
            if all(settings["axes"][a] in {axis_value(v) for v in vs}
                   for a, vs in selection.items())]


def _drop_unused_latent_kind(name: str, study: dict, runs: dict[str, dict],
                             saved: list[str]) -> None:
    """`latent_kind` says what a saved latent space holds: it means nothing to a run that saves
    none. As a grid axis there it is refused; set elsewhere (defaults, base), it is left out of
    those runs' settings, so that editing it reruns only the runs it changes."""
    saved = set(saved)
    if "latent_kind" in study["grid"] and set(runs) - saved:
        unsaved = next(path for path in runs if path not in saved)
        raise ConfigError(f"studies.{name}.grid.latent_kind: run {unsaved} saves no latent "
                          "space (save_latent), so its latent_kind has no effect; select the "
                          "runs in save_latent or drop the axis")
    for path, settings in runs.items():
        if path not in saved:
            settings.pop("latent_kind", None)


def untrained_sources(runs: dict[str, dict], saved: list[str]) -> dict[str, str]:
    """{saved run: the first saved run of the study with the same encoder_key}, for the runs
    that have such an earlier one: their score_latent copies its untrained-encoder scores
    instead of scoring the same encoder again (18 runs share one in the benchmark grid)."""
    first: dict[str, str] = {}
    for run in saved:
        first.setdefault(encoder_key(runs[run]), run)
    return {run: first[encoder_key(runs[run])] for run in saved
            if first[encoder_key(runs[run])] != run}
