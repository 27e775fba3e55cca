"""From a workflow config, what the workflow will do, without torch or pandas: the runs of every
study with their resolved settings, the runs whose latent spaces are saved, which earlier run's
untrained encoder each saved run shares, and the claims matched to the studies. The Snakefile
(common.smk), `vaebench summary` and `vaebench claims` ask it; nothing rebuilds it.

A fault a config can only show here (a study naming an undefined dataset, a figure naming no
axis, a `save_latent` value outside the grid, a `latent_kind` axis on runs that save nothing)
raises ConfigError naming the key.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import bundles as bundling
from .claims.match import plan as claim_plan
from .config import MODEL_NAMES, ConfigError, RunConfig, axis_value, encoder_key, study_runs

# A saved run's files beside metrics.csv and run.json: its latent means, its untrained
# encoder's, and what score_latent writes from them.
LATENT_FILES = ("latent.npy", "latent_untrained.npy", "scores.json", "neighbours.npy")


def results_of(configfile) -> str:
    """The results folder of a config that names none: results/ for a file named config.yaml
    (config/config.yaml, the default, and the usual name of a deployment's config), and
    results/<name> for any other (my_data.yaml: results/my_data), so that configs run in one
    working directory keep apart. Several files (--configfile a.yaml b.yaml): the last."""
    if configfile is None:
        return Layout.results
    if isinstance(configfile, (list, tuple)):
        return results_of(configfile[-1]) if configfile else Layout.results
    stem = Path(configfile).stem
    return Layout.results if stem == "config" else f"{Layout.results}/{stem}"


@dataclass(frozen=True)
class Layout:
    """Where the workflow writes, relative to its working directory. The rules name their
    outputs and logs with these methods (wildcards such as "{study}" pass through), and
    `vaebench summary` and the claims report read the same paths: a folder moved here moves
    for all of them."""
    results: str = "results"
    logs: str = "logs"
    benchmarks: str = "benchmarks"
    resources: str = "resources"

    @classmethod
    def of(cls, config: dict) -> Layout:
        """A config's layout: its `results` folder (filled in from the config file's name
        where the config names none: `results_of`). A results folder other than results/
        keeps its logs and Snakemake's benchmarks inside it, so that two configs run in one
        working directory never share a file; the default keeps them beside it, in logs/ and
        benchmarks/. Downloads (resources/) are shared: the same file is fetched once."""
        results = config.get("results", cls.results).rstrip("/")
        if results == cls.results:
            return cls()
        return cls(results=results, logs=f"{results}/logs", benchmarks=f"{results}/benchmarks")

    def moved(self, results: str) -> Layout:
        """The same layout under another results folder (a copy, say): logs and benchmarks
        where they were, relative to it."""
        def beside(folder: str) -> str:
            return os.path.normpath(os.path.join(results, os.path.relpath(folder, self.results)))
        return Layout(str(results), beside(self.logs), beside(self.benchmarks), self.resources)

    def download(self, dataset: str, name: str) -> str:
        """A downloaded (or synthetic) raw file of a dataset."""
        return f"{self.resources}/{dataset}/{name}"

    def data(self, dataset: str, source: str, name: str) -> str:
        """A dataset's files, in a folder per raw input (`source`, Plan.source_id): the
        phenotype, and `<variant>/...` for each preprocessing variant."""
        return f"{self.results}/data/{dataset}/input-{source}/{name}"

    def run(self, study: str, run: str, name: str) -> str:
        """A file of one run (`run`: its path of axis=value folders)."""
        return f"{self.results}/{study}/runs/{run}/{name}"

    def table(self, study: str, name: str) -> str:
        return f"{self.results}/{study}/tables/{name}"

    def figure(self, study: str, name: str) -> str:
        return f"{self.results}/{study}/figures/{name}"

    def index(self) -> str:
        """The front page."""
        return f"{self.results}/index.html"

    def claims(self, name: str) -> str:
        """The claims job's files, across the studies."""
        return f"{self.results}/claims/{name}"

    def log(self, step: str, name: str | None = None) -> str:
        """The log of one job of a step (`name`: its wildcards as folders, e.g. study/run; none
        for a step of one job)."""
        return f"{self.logs}/{step}/{name}.log" if name else f"{self.logs}/{step}.log"

    def benchmark(self, step: str, name: str) -> str:
        """Snakemake's time and memory record of one job."""
        return f"{self.benchmarks}/{step}/{name}.tsv"


@dataclass
class Plan:
    """runs: study -> {run path: resolved settings}; latent: study -> the saved runs, in grid
    order; untrained_from: study -> {saved run: the first saved run of its bundle with the same
    encoder}; bundles: study -> its runs packed into cluster jobs by time (vaebench.bundles);
    papers, matches: the claim files read and each claim matched to its studies; config: the
    config it was made from; layout: where each file goes."""
    runs: dict[str, dict[str, dict]]
    latent: dict[str, list[str]]
    untrained_from: dict[str, dict[str, str]]
    bundles: dict[str, list[bundling.Bundle]]
    papers: list[dict]
    matches: list[dict]
    config: dict
    layout: Layout = field(default_factory=Layout)
    _bundle_of: dict | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, config: dict, claims: bool = True, layout: Layout | None = None) -> Plan:
        """The plan of a (schema-checked) config; claims False leaves the claims out; layout:
        where the files are (default: the config's own, Layout.of)."""
        runs = {name: _study_runs(name, study, config)
                for name, study in config["studies"].items()}
        latent = {name: latent_selection(name, study, runs[name])
                  for name, study in config["studies"].items()}
        for name, study in config["studies"].items():
            _drop_unused_latent_kind(name, study, runs[name], latent[name])
        cluster = config.get("cluster", {})
        bundles = {name: bundling.pack(name, runs[name], latent[name], cluster)
                   for name in runs}
        untrained = {name: _bundled_untrained_sources(runs[name], latent[name], bundles[name])
                     for name in runs}
        papers, matches = claim_plan(config, runs) if claims else ([], [])
        return cls(runs, latent, untrained, bundles, papers, matches, config,
                   layout or Layout.of(config))

    # ----- cluster jobs -----

    def bundle(self, study: str, run: str) -> bundling.Bundle:
        """The bundle (cluster job) a run trains and is scored in."""
        if self._bundle_of is None:
            self._bundle_of = {(s, run): b for s, bs in self.bundles.items()
                               for b in bs for run in b.runs}
        return self._bundle_of[study, run]

    def minutes(self, study: str, run: str, step: str, attempt: int) -> int:
        """The time limit of a run's `step` (train or score) at an attempt, as a member of its
        bundle (vaebench.bundles.member_minutes)."""
        cluster = self.config.get("cluster", {})
        own = (bundling.SCORE_MINUTES if step == "score" else bundling.run_minutes(
            self.runs[study][run], cluster.get("epoch_seconds", bundling.EPOCH_SECONDS)))
        return bundling.member_minutes(
            own, self.bundle(study, run), attempt,
            cluster.get("max_job_minutes", bundling.MAX_JOB_MINUTES))

    # ----- data -----

    def expression_file(self, dataset: str) -> str:
        """The raw expression matrix of a dataset: a user's file, a download, or synthetic."""
        spec = self.config["datasets"][dataset]
        for fmt in ("xena", "h5ad", "table"):
            if spec.get(fmt, {}).get("path"):
                return user_file(spec[fmt]["path"])
        return self.layout.download(dataset, "expression.tsv.gz")

    def source_id(self, dataset: str) -> str:
        """8 hex digits naming where a dataset's raw matrix comes from (its path). Preprocessed
        data live in a folder per source, so pointing a dataset at another file (say, a broken
        one) and back leaves the first folder, and every run trained on it, untouched:
        Snakemake deletes a job's outputs when it starts, and reruns the jobs downstream of any
        file it remade."""
        return hashlib.sha256(self.expression_file(dataset).encode()).hexdigest()[:8]

    def preprocessed(self, study: str) -> dict[str, str]:
        """The preprocessed data a study trains on: matrix, genes, samples, summary."""
        spec = self.config["studies"][study]
        dataset = spec["dataset"]
        return {name: self.layout.data(dataset, self.source_id(dataset),
                                       f"{spec['preprocess']}/{file}")
                for name, file in (("matrix", "matrix.npy"), ("genes", "genes.txt"),
                                   ("samples", "samples.txt"), ("summary", "summary.json"))}

    def phenotype(self, study: str) -> str:
        """The study's sample annotations, as the phenotype rule normalised them."""
        dataset = self.config["studies"][study]["dataset"]
        return self.layout.data(dataset, self.source_id(dataset), "phenotype.tsv")

    # ----- runs -----

    def run_files(self, study: str, name: str) -> list[str]:
        """File `name` of every run of the study, in grid order."""
        return [self.layout.run(study, run, name) for run in self.runs[study]]

    def latent_files(self, study: str, name: str = "latent.npy") -> list[str]:
        """File `name` (one of LATENT_FILES) of every run of the study that saves its latent
        space."""
        return [self.layout.run(study, run, name) for run in self.latent[study]]

    # ----- claims -----

    @property
    def claim_studies(self) -> list[str]:
        """The studies the claims read: each one a claim is tested on, and a same_ordering
        claim's reference study."""
        return list(dict.fromkeys(s for m in self.matches for s in (m["study"], m["reference"])
                                  if s is not None))

    @property
    def claim_study_outputs(self) -> list[str]:
        """The studies that get a claims.csv of their own: those a claim is tested on."""
        return [s for s in self.claim_studies if any(m["study"] == s for m in self.matches)]

    def claim_tables(self) -> dict[str, dict]:
        """study -> {runs, latent (or None), axes, model, figures: {loss, latent}}: what the
        claims job reads of each study, and the figures its page links."""
        tables = {}
        for s in self.claim_studies:
            saved = bool(self.latent[s])
            tables[s] = {
                "runs": self.layout.table(s, "runs.csv"),
                "latent": self.layout.table(s, "latent.csv") if saved else None,
                "axes": list(self.config["studies"][s]["grid"]),
                "model": self.model(s),
                "figures": {"loss": self.layout.figure(s, f"{s}.png"),
                            "latent": self.layout.figure(s, f"{s}_quality.png") if saved
                            else ""}}
        return tables

    def model(self, study: str) -> str:
        """The model of a study whose grid has no model axis (its tables have no such column);
        with a model axis, its first level."""
        return next(iter(self.runs[study].values())).get("model", RunConfig.model)

    def pages(self, study: str) -> dict[str, str]:
        """{label: path} of a study's pages and figures, as the front page links them."""
        pages = {"statistics": self.layout.table(study, "statistics.html"),
                 "figure": self.layout.figure(study, f"{study}.png")}
        if self.latent[study]:
            pages |= {"latent": self.layout.table(study, "latent.html"),
                      "quality": self.layout.figure(study, f"{study}_quality.png"),
                      "embedding": self.layout.figure(study, f"{study}_embedding.png")}
        return pages

    # ----- everything -----

    def outputs(self) -> list[str]:
        """Every table and figure, and every run's own files: Snakemake reruns no job whose
        outputs exist because an input is missing, so a run folder deleted by hand comes back
        only if the target names it."""
        out = []
        for study in self.config["studies"]:
            out += self.run_files(study, "metrics.csv") + self.run_files(study, "run.json")
            out += [self.layout.run(study, run, name)
                    for run in self.latent[study] for name in LATENT_FILES]
            out += [self.layout.figure(study, f"{study}.{ext}") for ext in ("png", "pdf")]
            out.append(self.layout.table(study, "statistics.html"))
            if self.latent[study]:
                out.append(self.layout.table(study, "latent.html"))
                out += [self.layout.figure(study, f"{study}_{kind}.{ext}")
                        for kind in ("embedding", "quality") for ext in ("png", "pdf")]
        if self.papers:
            out.append(self.layout.claims("claims.html"))
            out += [self.layout.table(s, "claims.csv") for s in self.claim_study_outputs]
        out.append(self.layout.index())
        return out


def user_file(path: str | None) -> str | None:
    """A file path from the config as a shell would read it: ~ and $VAR expanded."""
    return os.path.expandvars(os.path.expanduser(path)) if path else path


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


def _bundled_untrained_sources(runs: dict[str, dict], saved: list[str],
                               bundles: list[bundling.Bundle]) -> dict[str, str]:
    """untrained_sources within each bundle: no scoring job waits for another bundle's run."""
    saved_set = set(saved)
    return {run: source for bundle in bundles
            for run, source in untrained_sources(
                runs, [r for r in bundle.runs if r in saved_set]).items()}


def untrained_sources(runs: dict[str, dict], saved: list[str]) -> dict[str, str]:
    """{saved run: the first saved run of the study with the same encoder_key}, for the runs
    that have such an earlier one: their score_latent copies its untrained-encoder scores
    instead of scoring the same encoder again (18 runs share one in the benchmark grid)."""
    first: dict[str, str] = {}
    for run in saved:
        first.setdefault(encoder_key(runs[run]), run)
    return {run: first[encoder_key(runs[run])] for run in saved
            if first[encoder_key(runs[run])] != run}
