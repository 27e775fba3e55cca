# Helpers only (no rules): config validation, and the input and param functions that ask the
# plan (vaebench.plan: the runs, the saved latent spaces, the claims, the layout of every file).

import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

# workflow/scripts, from this file's folder (not workflow.basedir: that is the top-level
# Snakefile's folder when Snakemake starts from the repository root)
SCRIPTS = Path(workflow.current_basedir).parent / "scripts"
sys.path.insert(0, str(SCRIPTS))
from vaebench import code  # noqa: E402  (path above)
from vaebench.data import annotation_columns, resolve_columns  # noqa: E402  (path above)
from vaebench.plan import Plan, results_of, user_file  # noqa: E402  (path above)
from vaebench.bundles import MAX_JOB_MINUTES  # noqa: E402  (path above)
from vaebench.claims.spec import claim_paths  # noqa: E402  (path above)
from vaebench.workdir import record_controller  # noqa: E402  (path above)
from vaebench.config import (  # noqa: E402  (path above)
    ConfigError,
    schema_message,
    RunConfig,
    axis_value,
    repeated_keys,
    repeated_keys_message,
)


def local_scheduler_without_rate_limit():
    """Snakemake 9 re-arms a timer of its job rate limiter (--max-jobs-per-timespan, default
    100/1s) at every scheduling round while jobs wait for a core, and every job that ends
    starts one more such chain (snakemake#3744, #3804): the scheduler ends up running hundreds
    of rounds a second, each checking every waiting job's input files, which cost the default
    config's run 150 s of CPU on 2 cores. A local run submits nothing and needs no limit, and
    a job that ends already starts the next round: the default limit is lifted on a local run
    (a cluster keeps it; so does a limit the user set, e.g. bench/bench_pipeline.py's 99/1s)."""
    limit = workflow.scheduling_settings.max_jobs_per_timespan
    scheduler = workflow.scheduler
    if (
        workflow.local_exec
        and getattr(scheduler, "job_rate_limiter", None) is not None
        and (limit.max_jobs, limit.timespan) == (100, 1)
    ):
        scheduler.job_rate_limiter = None


def check_repeated_keys():
    """Snakemake's loader keeps the last of two equal keys: two studies named `a:` would become
    one without a word. Say so, with both lines, before anything else."""
    for path in workflow.configfiles:
        repeated = repeated_keys(path)
        if repeated:
            raise WorkflowError(repeated_keys_message(path, repeated))


def check_schema():
    """The config against its schema, with one line that names the config file, the key, the
    value and what is allowed (Snakemake's own message names this file and the schema's
    innards). Defaults live in the package (RunConfig, data.preprocess); the schema documents
    the same values, and tests/test_config.py checks that they agree. Filling them in here
    would let a study's `base` silently override the shared `defaults`."""
    try:
        validate(config, schema="../schemas/config.schema.yaml", set_default=False)
    except WorkflowError as err:
        invalid = err.__context__  # Snakemake's message holds only its text
        if not hasattr(invalid, "absolute_path"):
            raise
        raise config_error(schema_message(invalid)) from None


def config_error(message):
    """A fault of the config, named with its file(s): "config/my.yaml: studies.x.grid: ...".
    A claim file's fault names that file already."""
    if message.split(": ", 1)[0].endswith((".yaml", ".yml")):
        return WorkflowError(message)
    files = ", ".join(map(str, workflow.configfiles)) or "the config (--config)"
    return WorkflowError(f"{files}: {message}")


check_repeated_keys()
check_schema()
# A config that names no results folder gets one from its file's name (vaebench.plan.results_of)
config.setdefault("results", results_of(workflow.configfiles))

PACKAGE = SCRIPTS / "vaebench"
# The package modules each kind of script imports (Snakemake tracks a rule's script, not them)
DATA_MODULES = sorted(PACKAGE.glob("data/*.py"))
TRAINING_MODULES = code.modules(code.TRAINING)
ANALYSIS_MODULES = [
    *DATA_MODULES,
    *sorted(PACKAGE.glob("analysis/*.py")),
    *sorted(PACKAGE.glob("claims/*.py")),
]
PLOT_MODULES = [*ANALYSIS_MODULES, PACKAGE / "plots.py"]
FRONT_MODULES = [*PLOT_MODULES, PACKAGE / "front.py"]


# Each rule's `params.code` (vaebench.code.checksum): editing a module reruns the jobs that
# import it (Snakemake's params trigger), while a checkout or copy that only touches them reruns
# nothing. A param, not the modules as inputs: 13,000 jobs each naming 20 files cost the
# benchmark's DAG 14 s.
DATA_CODE, TRAINING_CODE, ANALYSIS_CODE, PLOT_CODE, FRONT_CODE = map(
    code.checksum,
    (DATA_MODULES, TRAINING_MODULES, ANALYSIS_MODULES, PLOT_MODULES, FRONT_MODULES),
)


def read_plan():
    """Everything the workflow will do (vaebench.plan): the runs of every study, the saved latent
    spaces, the shared untrained encoders and the claims matched to the studies. A fault only
    the plan can show (a study naming an undefined dataset, a save_latent value outside the
    grid, a malformed claim) stops the workflow here, before any job."""
    try:
        return Plan.of(config)
    except ConfigError as err:
        raise config_error(str(err)) from None


PLAN = read_plan()
RUNS, LATENT_RUNS, UNTRAINED_FROM = PLAN.runs, PLAN.latent, PLAN.untrained_from
# Every path the rules name (vaebench.plan.Layout)
LAYOUT = PLAN.layout


# ----- data -----


def phenotype_source(dataset):
    """(file, how to read it) of a dataset's sample annotations: a separate table (synthetic,
    a download, a user's file), the obs of an h5ad, or the annotation columns of a table."""
    spec = config["datasets"][dataset]
    if "h5ad" in spec:
        return user_file(spec["h5ad"]["path"]), "h5ad"
    if "table" in spec:
        phenotype = spec["table"].get("phenotype") or {}
        if phenotype.get("path"):
            return user_file(phenotype["path"]), "table"
        return user_file(spec["table"]["path"]), "in_table"
    phenotype = spec.get("xena", {}).get("phenotype") or {}
    return user_file(phenotype.get("path")) or LAYOUT.download(dataset, "phenotype.tsv"), "table"


def read_params(dataset):
    """How the preprocess rule reads a dataset's expression file."""
    spec = config["datasets"][dataset]
    fmt = next((f for f in ("h5ad", "table") if f in spec), "xena")
    return {
        "format": fmt,
        "layer": spec.get("h5ad", {}).get("layer"),
        "samples_as": spec.get("table", {}).get("samples_as", "columns"),
        "annotation_columns": annotation_columns(spec.get("columns")),
        "sample_column": resolve_columns(spec.get("columns"))[0]["sample"],
    }


def check_user_files():
    """A file the user points at must exist: say so before any job starts."""
    for name, spec in config["datasets"].items():
        table = spec.get("table", {})
        paths = {
            "xena.path": spec.get("xena", {}).get("path"),
            "xena.phenotype.path": (spec.get("xena", {}).get("phenotype") or {}).get("path"),
            "h5ad.path": spec.get("h5ad", {}).get("path"),
            "table.path": table.get("path"),
            "table.phenotype.path": (table.get("phenotype") or {}).get("path"),
        }
        for key, path in paths.items():
            check_user_file(f"datasets.{name}.{key}", path)
    for study, runs in LATENT_RUNS.items():
        dataset = config["studies"][study]["dataset"]
        spec = config["datasets"][dataset]
        if runs and "xena" in spec and not spec["xena"].get("phenotype"):
            raise config_error(
                f"studies.{study}.save_latent needs sample labels: set "
                f"datasets.{dataset}.xena.phenotype (url or path of the Xena survival table)"
            )
        if (
            runs
            and spec.get("table", {}).get("samples_as") == "columns"
            and not spec["table"].get("phenotype")
        ):
            raise config_error(
                f"studies.{study}.save_latent needs sample labels: a table with samples as "
                f"columns has no room for them; set datasets.{dataset}.table.phenotype.path"
            )


def check_user_file(key, path):
    """A file the config names must be one: say which key, and why it is not."""
    if not path:
        return
    expanded = user_file(path)
    unset = re.findall(r"\$\{?(\w+)", expanded)
    if unset:
        raise config_error(
            f"{key}: {path!r} names the environment variable ${unset[0]}, which is not set"
        )
    shown = repr(path) if expanded == path else f"{path!r} ({expanded})"
    if Path(expanded).is_dir():
        raise config_error(f"{key}: {shown} is a directory; name the file inside it")
    if not Path(expanded).is_file():
        raise config_error(
            f"{key}: no such file {shown} "
            f"(relative paths start from the working directory {Path.cwd()})"
        )


def datasets_pattern(kind):
    """A wildcard regex matching the datasets of one kind ("synthetic" or "xena"), or nothing."""
    names = [name for name, spec in config["datasets"].items() if kind in spec]
    return "|".join(names) if names else "(?!)"


def preprocess_input(wildcards):
    source = PLAN.source_id(wildcards.dataset)
    if wildcards.source != source:
        raise WorkflowError(
            f"{LAYOUT.data(wildcards.dataset, wildcards.source, '')} is the preprocessed "
            f"data of an earlier input of dataset {wildcards.dataset!r}; its input now is "
            f"{PLAN.expression_file(wildcards.dataset)!r} (input-{source})"
        )
    return PLAN.expression_file(wildcards.dataset)


def preprocess_params(wildcards):
    transform = config["datasets"][wildcards.dataset].get("transform", "none")
    return {**config["preprocess"][wildcards.variant], "transform": transform}


def preprocess_read_params(wildcards):
    return read_params(wildcards.dataset)


def phenotype_input(wildcards):
    preprocess_input(wildcards)  # the same check of the source folder
    return phenotype_source(wildcards.dataset)[0]


def orientation_input(wildcards):
    """A table with its own annotations table: the preprocess rule checks the table's
    orientation against the annotations' sample ids, before any training."""
    path, how = phenotype_source(wildcards.dataset)
    return (
        {"annotations": path}
        if how == "table" and "table" in config["datasets"][wildcards.dataset]
        else {}
    )


def phenotype_params(wildcards):
    spec = config["datasets"][wildcards.dataset]
    return {
        "format": phenotype_source(wildcards.dataset)[1],
        "columns": spec.get("columns"),
        "where": f"datasets.{wildcards.dataset}.columns",
    }


def synthetic_params(wildcards):
    return config["datasets"][wildcards.dataset]["synthetic"]


def download_params(wildcards):
    spec = config["datasets"][wildcards.dataset]["xena"]
    return {"url": spec["url"], "sha256": spec.get("sha256")}


def phenotype_download_params(wildcards):
    spec = config["datasets"][wildcards.dataset]["xena"]["phenotype"]
    return {"url": spec["url"], "sha256": spec.get("sha256")}


def phenotype_downloads_pattern():
    """A wildcard regex matching the xena datasets whose phenotype table is downloaded."""
    names = [
        name
        for name, spec in config["datasets"].items()
        if (spec.get("xena", {}).get("phenotype") or {}).get("url")
    ]
    return "|".join(names) if names else "(?!)"


# ----- training -----


def train_data(wildcards):
    """The preprocessed data; in a study that saves latent spaces, also its annotations, so
    that the phenotype step checks the label before any run trains for it (every run of the
    study: a run leaving the save_latent selection keeps its inputs and is not retrained).
    ancient: editing the annotations rescores the runs, it does not retrain them."""
    data = PLAN.preprocessed(wildcards.study)
    if LATENT_RUNS[wildcards.study]:
        data["phenotype"] = ancient(study_phenotype(wildcards))
    return data


def run_settings(wildcards):
    return RUNS[wildcards.study][wildcards.run]


def train_env(wildcards):
    """The conda env of a run (`--sdm conda`), from its `device`: cpu gets the small CPU build of
    torch (tests, CI, CPU-only machines); auto, any and cuda get the CUDA build of
    `torch_build` (GPU nodes: PyPI's CUDA 13, or cu126 for older drivers and GPUs)."""
    device = run_settings(wildcards).get("device", RunConfig.device)
    if device == "cpu":
        return "../../envs/train-cpu.yaml"
    return {"pypi": "../../envs/train-gpu.yaml", "cu126": "../../envs/train-gpu-cu126.yaml"}[
        config.get("torch_build", "pypi")
    ]


def bundle(wildcards):
    """The cluster job (Snakemake group) of a run's training and scoring: its bundle
    (vaebench.bundles). Each bundle's jobs are registered under the one group name `bundle`, so
    that profiles/slurm's `group-components: bundle=...` merges a bundle's runs (unlinked jobs,
    else one Slurm job per run) into one Slurm job. Snakemake asks only where jobs are
    submitted (a local run has no groups)."""
    name = PLAN.bundle(wildcards.study, wildcards.run).name
    workflow.parent_groupids[name] = "bundle"
    limit_bundles_to_one_slot()
    return name


def bundle_minutes(step):
    """A run's train or score time limit as a member of its bundle, at the job's attempt: the
    members add up to the bundle's time, doubled on a retry, capped at cluster.max_job_minutes."""
    return lambda wildcards, attempt: PLAN.minutes(wildcards.study, wildcards.run, step, attempt)


def memory_per_attempt(mem_mb):
    """A job's memory times its attempt: a retry after OUT_OF_MEMORY gets more."""
    return lambda wildcards, attempt: mem_mb * attempt


def attempt_scaled(mem_mb, minutes):
    """resources of a job that is not bundled: memory times the attempt, time times the attempt
    up to cluster.max_job_minutes."""
    cap = config.get("cluster", {}).get("max_job_minutes", MAX_JOB_MINUTES)
    return {
        "mem_mb": memory_per_attempt(mem_mb),
        "runtime": lambda wildcards, attempt: min(minutes * attempt, cap),
    }


# Snakemake sizes a group job by stacking the members that could run side by side until a
# `resources:` limit is hit. Every training and scoring job takes one bundle_slot, a bundle has
# one (scope local: per bundle, not across the cluster), so its runs stack one after another and
# a bundle asks for what one run needs (1 GPU, its memory) for the sum of its runs' minutes.
resource_scopes:
    bundle_slot="local",


def limit_bundles_to_one_slot():
    """The bundle_slot limit, once bundles are asked for (the Slurm profile's group-components
    `bundle`): not on a local run, where the limit would run one training job at a time. A
    limit the user gave (--resources bundle_slot=...) is kept."""
    if (
        "bundle" in workflow.group_settings.group_components
        and "bundle_slot" not in workflow.global_resources
    ):
        workflow.register_resource("bundle_slot", 1)


def latent_study_pattern():
    """The `study` wildcard of train_latent: a study name, but only where the rest of the path
    is one of that study's save_latent runs (a lookahead per selected axis, e.g.
    `(?=/runs/(?:[^/]+/)*seed=(?:1)/)`), so exactly those runs get the third output and
    `ruleorder: train_latent > train` hands every other run to `train`. Its size grows with the
    selection, not with the grid: Snakemake scans it for every job of the DAG."""
    studies = []
    for study, runs in LATENT_RUNS.items():
        if not runs:
            continue
        selection = config["studies"][study].get("save_latent") or {}
        lookaheads = "".join(
            f"(?=/runs/(?:[^/]+/)*{re.escape(axis)}="
            f"(?:{'|'.join(re.escape(axis_value(v)) for v in values)})/)"
            for axis, values in selection.items()
        )
        studies.append(re.escape(study) + lookaheads)
    return "|".join(studies) if studies else "(?!)"


# ----- aggregation and figures -----


def study_metrics(wildcards):
    return PLAN.run_files(wildcards.study, "metrics.csv")


def study_records(wildcards):
    return PLAN.run_files(wildcards.study, "run.json")


def study_axes(wildcards):
    return list(config["studies"][wildcards.study]["grid"])


def study_latents(wildcards, name="latent.npy"):
    """A file of every saved run of a study: `name` latent.npy (the means after training), or
    what score_latent writes beside it (scores.json, neighbours.npy)."""
    return PLAN.latent_files(wildcards.study, name)


def untrained_scored(wildcards):
    """Where a run's untrained encoder is already scored (plan.untrained_sources): that run's
    scores.json, whose untrained_sha256 score_latent checks against its own file; none for a
    run that scores its own."""
    source = UNTRAINED_FROM[wildcards.study].get(wildcards.run)
    if source is None:
        return {}
    return {"untrained_scores": LAYOUT.run(wildcards.study, source, "scores.json")}


def study_scores(wildcards):
    return study_latents(wildcards, "scores.json")


def study_neighbours(wildcards):
    return study_latents(wildcards, "neighbours.npy")


def study_samples(wildcards):
    return PLAN.preprocessed(wildcards.study)["samples"]


def study_matrix(wildcards):
    return PLAN.preprocessed(wildcards.study)["matrix"]


def study_phenotype(wildcards):
    return PLAN.phenotype(wildcards.study)


def study_label(wildcards):
    """What the study's latent spaces are scored against, as the figures name it: its dataset's
    label column ("cancer type" for TCGA-CDR's default)."""
    spec = config["datasets"][config["studies"][wildcards.study]["dataset"]]
    column = resolve_columns(spec.get("columns"))[0]["label"]
    return "cancer type" if column == resolve_columns(None)[0]["label"] else column


def study_annotations_source(wildcards):
    """Where the study's annotations come from, as the user named it (for messages)."""
    return phenotype_source(config["studies"][wildcards.study]["dataset"])[0]


def latent_studies_pattern():
    """A wildcard regex matching the studies that save latent means."""
    names = [study for study, runs in LATENT_RUNS.items() if runs]
    return "|".join(map(re.escape, names)) if names else "(?!)"


def figure_settings(wildcards):
    return config["studies"][wildcards.study].get("figure", {"kind": "curves"})


def front_studies():
    """study -> {runs, latent: its tables; pages: {label: page or figure}; model: the model of a
    grid without a model axis} for the front page."""
    return {
        s: {
            "runs": LAYOUT.table(s, "runs.csv"),
            "latent": LAYOUT.table(s, "latent.csv") if LATENT_RUNS[s] else None,
            "pages": PLAN.pages(s),
            "model": PLAN.model(s),
        }
        for s in config["studies"]
    }


def front_inputs(wildcards):
    """What the front page reads and links: each study's tables, pages and figures, and the
    verdicts."""
    inputs = {
        "tables": [
            t for spec in front_studies().values() for t in (spec["runs"], spec["latent"]) if t
        ],
        "pages": [p for s in config["studies"] for p in PLAN.pages(s).values()],
    }
    if PLAN.papers:
        inputs["claims"] = LAYOUT.claims("claims.csv")
    return inputs


def inside_workdir(path):
    """A path relative to the working directory where it lies inside it (the shipped claim
    files of a checkout): Snakemake records each job's inputs by name, and an absolute one
    would rerun the job after the checkout is moved or copied."""
    resolved = Path(path).resolve()
    if resolved.is_relative_to(Path.cwd().resolve()):
        return str(resolved.relative_to(Path.cwd().resolve()))
    return str(path)


def claim_inputs(wildcards):
    """The tables the claims are tested on: runs.csv of each study a claim applies to, and
    latent.csv where the study saves latent spaces; and the claim files themselves."""
    tables = PLAN.claim_tables().values()
    return {
        "files": [inside_workdir(p) for p in claim_paths(config.get("claims"))],
        "runs": [t["runs"] for t in tables],
        "latent": [t["latent"] for t in tables if t["latent"]],
    }


check_user_files()
