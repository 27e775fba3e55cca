# Helpers only (no rules): config validation, the run table, input and param functions.

import itertools
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))
from vaebench.config import ConfigError, RunConfig  # noqa: E402  (needs the path above)

# Defaults live in the package (RunConfig, data.preprocess); the schema documents the same
# values, and tests/test_config.py checks that they agree. Filling them in here would let a
# study's `base` silently override the shared `defaults`.
validate(config, schema="../schemas/config.schema.yaml", set_default=False)

PACKAGE = Path(workflow.basedir) / "workflow" / "scripts" / "vaebench"
# Editing these reruns training (Snakemake does not track modules a script imports).
TRAINING_CODE = [str(PACKAGE / f) for f in ("config.py", "data.py", "models.py", "inits.py", "train.py")]
ANALYSIS_CODE = [str(PACKAGE / f) for f in ("analysis.py", "plots.py")]


def axis_value(value):
    """A grid value as it appears in a run's path: 1e-05, 256-128-64, xavier_uniform."""
    if isinstance(value, list):
        return "-".join(str(v) for v in value)
    return str(value)


def expand_study(name, study):
    """{run path: resolved run settings} for every grid point of one study."""
    for key, where in (("dataset", "datasets"), ("preprocess", "preprocess")):
        if study[key] not in config[where]:
            raise WorkflowError(
                f"studies.{name}.{key}: {study[key]!r} is not defined under `{where}:` "
                f"(defined: {', '.join(config[where])})"
            )
    axes = list(study["grid"])
    runs = {}
    for values in itertools.product(*study["grid"].values()):
        point = dict(zip(axes, values))
        settings = {**config.get("defaults", {}), **study.get("base", {}), **point}
        model = settings.get("model", RunConfig.model)
        settings["model_params"] = {
            **config.get("model_params", {}).get(model, {}),
            **study.get("model_params", {}).get(model, {}),
        }
        settings["axes"] = {k: axis_value(v) for k, v in point.items()}
        path = Path(*(f"{k}={axis_value(v)}" for k, v in point.items())).as_posix()
        try:
            RunConfig.from_dict(settings, source=f"studies.{name} run {path}")
        except ConfigError as err:
            raise WorkflowError(str(err)) from None
        runs[path] = settings
    return runs


RUNS = {name: expand_study(name, study) for name, study in config["studies"].items()}


# ----- data -----


def expression_file(dataset):
    """The raw expression matrix of a dataset: a user's file, a download, or synthetic."""
    spec = config["datasets"][dataset]
    if "xena" in spec and spec["xena"].get("path"):
        return spec["xena"]["path"]
    return f"resources/{dataset}/expression.tsv.gz"


def check_user_files():
    """A file the user points at must exist: say so before any job starts."""
    for name, spec in config["datasets"].items():
        path = spec.get("xena", {}).get("path")
        if path and not Path(path).is_file():
            raise WorkflowError(
                f"datasets.{name}.xena.path: no such file {path!r} "
                f"(relative paths start from the working directory {Path.cwd()})"
            )


def datasets_pattern(kind):
    """A wildcard regex matching the datasets of one kind ("synthetic" or "xena"), or nothing."""
    names = [name for name, spec in config["datasets"].items() if kind in spec]
    return "|".join(names) if names else "(?!)"


def preprocess_input(wildcards):
    return expression_file(wildcards.dataset)


def preprocess_params(wildcards):
    return config["preprocess"][wildcards.variant]


def synthetic_params(wildcards):
    return config["datasets"][wildcards.dataset]["synthetic"]


def download_params(wildcards):
    spec = config["datasets"][wildcards.dataset]["xena"]
    return {"url": spec["url"], "sha256": spec.get("sha256")}


def preprocessed(study):
    spec = config["studies"][study]
    folder = f"results/data/{spec['dataset']}/{spec['preprocess']}"
    return {
        "matrix": f"{folder}/matrix.npy",
        "genes": f"{folder}/genes.txt",
        "samples": f"{folder}/samples.txt",
        "summary": f"{folder}/summary.json",
    }


# ----- training -----


def train_data(wildcards):
    return preprocessed(wildcards.study)


def run_settings(wildcards):
    return RUNS[wildcards.study][wildcards.run]


def run_files(study, name):
    return [f"results/{study}/runs/{run}/{name}" for run in RUNS[study]]


# ----- aggregation and figures -----


def study_metrics(wildcards):
    return run_files(wildcards.study, "metrics.csv")


def study_records(wildcards):
    return run_files(wildcards.study, "run.json")


def study_axes(wildcards):
    return list(config["studies"][wildcards.study]["grid"])


def figure_settings(wildcards):
    return config["studies"][wildcards.study].get("figure", {"kind": "curves"})


def all_outputs():
    return [
        f"results/{study}/figures/{study}.{ext}"
        for study in config["studies"]
        for ext in ("png", "pdf")
    ]


check_user_files()
