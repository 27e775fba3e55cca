"""The settings of one run, validated without importing torch (the Snakefile uses this too).

The name lists here are the registries' keys (models.MODELS, inits.INITS, optim.OPTIMIZERS);
tests/test_config.py checks that they agree.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# Beside the model, the run keys that change the loss itself: losses compare only within one
# level (analysis.stats.by_objective), and the papers' claims, which hold one objective fixed,
# apply to no study that compares objectives unless they name the axis.
OBJECTIVE_AXES = ("reconstruction", "kld_weight")
INIT_NAMES = ("default", "uniform", "normal", "xavier_normal", "xavier_uniform",
              "kaiming_uniform")
ACTIVATION_NAMES = ("relu", "tanh")
# Early stopping: the studies' rule, or the benchmark's (PyTorch Lightning's EarlyStopping).
STOPPING_RULES = ("relative_recon", "absolute_loss")
INIT_LAYERS = ("hidden", "all")
# What a saved latent space holds: the encoder means mu (the benchmark's), or one draw of z.
LATENT_KINDS = ("mean", "sample")
OPTIMIZER_NAMES = ("adam", "sgd", "rmsprop")
# How the reconstruction error is reduced: the studies' mean over batch and genes, or the ELBO's
# sum over genes averaged over the batch (models/base.py; README "Why the studies' latent spaces
# collapse").
RECONSTRUCTIONS = ("mean", "sum")
# Collapse (README): a run is collapsed when no latent unit is active (the variance over the
# validation samples of its mean exceeds ACTIVE_VARIANCE, Burda et al. 2016), or when its KL
# per sample, summed over units, is below KL_FLOOR nats (the code tells the decoder almost
# nothing about a sample).
ACTIVE_VARIANCE = 0.01
KL_FLOOR = 0.1
DEVICES = ("auto", "any", "cpu", "cuda")


@dataclass(frozen=True)
class ModelSpec:
    """What the workflow knows of a model without torch: the papers' name for it, and its own
    options (`model_params`): the allowed values of a choice, or None for a number."""
    label: str
    options: dict[str, tuple | None]


# The models, in the order the config's schema and the figures list them. The model classes
# (models.MODELS) register under these names and take these options as keyword arguments, and
# the schema lists the same: tests/test_config.py keeps all three in step with this table.
MODEL_SPECS: dict[str, ModelSpec] = {
    "vanilla": ModelSpec("VanillaVAE", {}),
    "iwae": ModelSpec("IWAE", {"num_samples": None, "objective": ("antixk", "burda")}),
    "infovae": ModelSpec("InfoVAE", {"alpha": None, "beta": None, "reg_weight": None,
                                     "kernel": ("imq", "rbf"), "latent_var": None}),
    "logcosh": ModelSpec("LogCoshVAE", {"alpha": None, "beta": None}),
    "betavae": ModelSpec("BetaVAE", {"objective": ("burgess", "higgins"), "beta": None,
                                     "gamma": None, "max_capacity": None,
                                     "capacity_steps": None,
                                     "capacity_clock": ("train", "all_calls")}),
    "betatcvae": ModelSpec("BetaTCVAE", {"alpha": None, "beta": None, "gamma": None,
                                         "anneal_steps": None, "head_hidden": None,
                                         "weights": ("stratified", "fork")}),
    "dipvae": ModelSpec("DIPVAE", {"lambda_offdiag": None, "lambda_diag": None,
                                   "dip_type": ("i", "ii"), "objective": ("kumar", "fork")}),
    "categorical": ModelSpec("CategoricalVAE", {"categorical_dim": None, "temperature": None,
                                                "min_temperature": None, "anneal_rate": None,
                                                "anneal_interval": None, "alpha": None,
                                                "variant": ("jang", "fork")}),
}
MODEL_NAMES = tuple(MODEL_SPECS)
MODEL_OPTIONS = {name: spec.options for name, spec in MODEL_SPECS.items()}
# The parts of the models' losses (loss, recon, kld: every model; mmd: InfoVAE; capacity:
# BetaVAE; mi, tc, dwkl: BetaTCVAE; dip: DIPVAE; empty where a model has none), and the columns
# of metrics.csv after the run's axis values. `lr_epoch` is the scheduled rate of that epoch,
# not the `lr` axis.
LOSS_PARTS = ("loss", "recon", "kld", "mmd", "capacity", "mi", "tc", "dwkl", "dip")
METRIC_COLUMNS = ("epoch", *(f"{split}_{part}" for split in ("train", "val")
                             for part in LOSS_PARTS), "lr_epoch", "seconds")
def display_name(model: str) -> str:
    """The papers' name of a model ("iwae" -> "IWAE"); unknown names pass through."""
    spec = MODEL_SPECS.get(model)
    return spec.label if spec else model


def schema_message(error) -> str:
    """One line for a jsonschema ValidationError of a config: the key path, the value and what
    the schema allows ("studies.s.base.lr: 'fast' must be a number")."""
    where = ".".join(map(str, error.absolute_path)) or "the top level"
    if error.validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(known))
        return (f"{where}: unknown key(s) {', '.join(extra)}"
                + (f" (known: {', '.join(known)})" if known else ""))
    if error.validator == "required":
        return f"{where}: {error.message}"
    return f"{where}: {error.instance!r} {_allowed(error)}"


_BOUNDS = {"minimum": "at least", "exclusiveMinimum": "above", "maximum": "at most",
           "exclusiveMaximum": "below"}


def _allowed(error) -> str:
    """What a value breaks, as "must be ..." or "is not one of ..."."""
    rule, allowed = error.validator, error.validator_value
    if rule == "enum":
        return "is not one of " + ", ".join("null" if a is None else str(a) for a in allowed)
    if rule == "type":
        kinds = allowed if isinstance(allowed, list) else [allowed]
        why = "must be " + " or ".join("null" if k == "null" else
                                       f"a{'n' if k[0] in 'aeiou' else ''} {k}" for k in kinds)
        if isinstance(error.instance, str) and "number" in kinds:
            why += " (YAML reads 1e-3 as text: write 1.0e-3)"
        return why
    if rule in _BOUNDS:
        return f"must be {_BOUNDS[rule]} {allowed}"
    if rule == "const":
        return f"must be {allowed!r}"
    if rule in ("minProperties", "minItems"):
        return "must not be empty"
    if rule in ("anyOf", "oneOf") and error.context:
        reasons = dict.fromkeys(_allowed(sub).removeprefix("must be ")
                                for sub in error.context)
        return "must be " + " or ".join(reasons)
    return f"is not allowed here ({error.message})"


class ConfigError(ValueError):
    """A run config value is invalid; the message names the key and the value."""


def repeated_keys(path) -> list[str]:
    """Every key that a mapping of the YAML (or JSON) file `path` holds twice, as
    "key.path (lines a and b)". YAML and JSON loaders, Snakemake's included, keep the last
    value and say nothing: two studies named `a:` would silently become one."""
    with open(path, encoding="utf-8") as f:
        root = yaml.compose(f, Loader=yaml.SafeLoader)
    found: list[str] = []

    def walk(node, where: str) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                name = f"{where}.{key.value}" if where else str(key.value)
                line = key.start_mark.line + 1
                if isinstance(key, yaml.ScalarNode) and key.value in seen:
                    found.append(f"{name} (lines {seen[key.value]} and {line})")
                seen.setdefault(key.value, line)
                walk(value, name)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, f"{where}[{index}]")

    walk(root, "")
    return found


def load_yaml(path, what: str = "config file"):
    """A YAML file's content; a missing file, bad YAML or a repeated key is a ConfigError that
    names the file (and the key and both lines)."""
    try:
        repeated = repeated_keys(path)
        values = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None
    if repeated:
        raise ConfigError(repeated_keys_message(path, repeated))
    return values


def repeated_keys_message(path, repeated: list[str]) -> str:
    return (f"{path}: key {'; key '.join(repeated)} given twice in one mapping; the loader would "
            "keep only the last, silently dropping the first: rename or merge them")


@dataclass
class RunConfig:
    """Every setting of one run. Defaults are the init study's (the papers; docs/decisions.md)."""

    model: str = "vanilla"
    model_params: dict = field(default_factory=dict)  # the model's own options (IWAE num_samples)
    init: str = "default"
    init_layers: str = "hidden"
    seed: int = 0
    hidden: list[int] = field(default_factory=lambda: [256])
    activation: str = "relu"  # of every hidden block
    latent: int = 100
    output: str = "auto"  # sigmoid for min-max data, linear otherwise
    lr: float = 0.005
    optimizer: str = "adam"
    weight_decay: float = 0.0
    scheduler_gamma: float = 0.95  # ExponentialLR, stepped once per epoch
    batch_size: int = 1000
    drop_last: bool = True  # the reference's train loader dropped the ragged last batch
    val_fraction: float = 0.2
    val_batch_size: int | None = None  # None: the whole validation set as one batch (the studies)
    # The KL weight M_N: None, batch_size / n_train for training and validation (the studies);
    # "per_split": batch_size / n of the split the batch comes from (the benchmark's fork);
    # a number: that weight (1: the textbook ELBO at the models' reductions).
    kld_weight: float | str | None = None
    # mean (the studies) | sum (the ELBO's); None: the model's reference (models.base), mean for
    # all but BetaTCVAE. With sum, kld_weight None is 1: each model's published objective.
    reconstruction: str | None = None
    kl_warmup: int = 0  # epochs over which the KL term's weight rises linearly from 0 (0: off)
    epochs: int = 50  # the maximum when early_stopping is on
    early_stopping: bool = False
    # relative_recon (the studies): validation reconstruction, min_delta relative;
    # absolute_loss (the benchmark): total validation loss, min_delta absolute (train.converged_at)
    stopping: str = "relative_recon"
    min_delta: float = 0.01
    patience: int = 1
    min_epochs: int = 1  # no early stop before this epoch
    grad_clip: float | str | None = "auto"  # "auto": the model's default (InfoVAE 0.8); None: off
    device: str = "auto"
    threads: int | None = None  # None: torch's default (all cores of the job)
    # Keep the encoder means of all samples (latent.npy). The workflow sets it for the runs a
    # study's `save_latent` selects (not a schema key: the selection decides the outputs).
    save_latent: bool = False
    # mean: the encoder means mu, in eval mode (the benchmark's); sample: one draw of z from
    # q(z|x) per sample, from a generator of its own seeded with `seed` (training draws the same)
    latent_kind: str = "mean"
    axes: dict = field(default_factory=dict)  # the run's grid values, written as metric columns

    @classmethod
    def from_dict(cls, values: dict, source: str = "run config") -> RunConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {unknown}; known keys: {sorted(known)}")
        cfg = cls(**values)
        cfg.validate(source)
        return cfg

    def validate(self, source: str = "run config") -> None:
        def bad(key, why):
            raise ConfigError(f"{source}: {key}={getattr(self, key)!r} {why}")

        choices = {"model": MODEL_NAMES, "init": INIT_NAMES, "init_layers": INIT_LAYERS,
                   "optimizer": OPTIMIZER_NAMES, "device": DEVICES,
                   "output": ("auto", "sigmoid", "linear"), "activation": ACTIVATION_NAMES,
                   "stopping": STOPPING_RULES, "latent_kind": LATENT_KINDS}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                bad(key, f"is not one of {', '.join(allowed)}")
        for key in ("lr", "weight_decay", "scheduler_gamma", "val_fraction", "min_delta"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                bad(key, "must be a number (YAML reads 1e-3 as text: write 1.0e-3)")
        for key in ("seed", "latent", "batch_size", "epochs", "patience", "min_epochs",
                    "kl_warmup"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int):
                bad(key, "must be an integer")
        if self.lr <= 0 or not math.isfinite(self.lr):
            bad("lr", "must be a positive number")
        if not 0 < self.val_fraction < 1:
            bad("val_fraction", "must be between 0 and 1")
        if not 0 < self.scheduler_gamma <= 1:
            bad("scheduler_gamma", "must be in (0, 1]")
        for key in ("latent", "batch_size", "epochs", "patience", "min_epochs"):
            if getattr(self, key) < 1:
                bad(key, "must be at least 1")
        if self.weight_decay < 0:
            bad("weight_decay", "must be >= 0")
        if self.kl_warmup < 0:
            bad("kl_warmup", "must be 0 (off) or a number of epochs")
        if self.reconstruction not in (None, *RECONSTRUCTIONS):
            bad("reconstruction", f"is not one of {', '.join(RECONSTRUCTIONS)} (or null: the "
                "model's reference)")
        if not self.hidden or not all(isinstance(h, int) and h > 0 for h in self.hidden):
            bad("hidden", "must be a non-empty list of positive integers")
        for key in ("save_latent", "early_stopping", "drop_last"):
            if not isinstance(getattr(self, key), bool):
                bad(key, "must be true or false")
        for key in ("threads", "val_batch_size"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                bad(key, "must be null or a positive integer")
        self._validate_model_params(bad)
        clashing = sorted(set(self.axes) & set(METRIC_COLUMNS))
        if clashing:
            bad("axes", f"name metric column(s) {clashing}; rename the axis")
        if not (self.kld_weight in (None, "per_split")
                or (isinstance(self.kld_weight, int | float)
                    and not isinstance(self.kld_weight, bool)
                    and self.kld_weight >= 0 and math.isfinite(self.kld_weight))):
            bad("kld_weight", "must be null (batch_size / n_train), 'per_split' or a number >= 0")
        if not (self.grad_clip in ("auto", None)
                or (isinstance(self.grad_clip, int | float) and self.grad_clip > 0)):
            bad("grad_clip", "must be 'auto', null or a positive number")

    def _validate_model_params(self, bad) -> None:
        if not isinstance(self.model_params, dict):
            bad("model_params", "must be a mapping of the model's options")
        options = MODEL_OPTIONS[self.model]
        for key, value in self.model_params.items():
            if key not in options:
                bad("model_params", f"has {key!r}, not an option of model {self.model!r} "
                    f"(its options: {', '.join(options) or 'none'})")
            allowed = options[key]
            if allowed is not None and value not in allowed:
                bad("model_params", f"has {key}={value!r}; choose one of {', '.join(allowed)}")
            if allowed is None and (isinstance(value, bool) or not isinstance(value, int | float)):
                bad("model_params", f"has {key}={value!r}, which must be a number")
        if (self.model == "dipvae" and self.model_params.get("objective") == "fork"
                and self.reconstruction == "mean"):
            bad("reconstruction", "cannot apply to dipvae's objective fork, whose reductions are "
                "its own (sums over batch and genes): drop it or use objective kumar")


# ----- a study's runs: the grid expanded (the workflow's run table; `vaebench summary`) -----


def axis_value(value) -> str:
    """A grid value as it appears in a run's path: 1e-05, 256-128-64, xavier_uniform."""
    if isinstance(value, list):
        return "-".join(str(v) for v in value)
    if value is None:  # "None" would read back as missing in pandas
        return "none"
    return str(value)


# Settings that act only once training starts (the optimiser, the objective's weights, the
# schedule, stopping): runs differing in these alone start from the same encoder, so score
# the same untrained-encoder baseline. Every other setting, a future one included, counts as
# shaping the initial encoder.
TRAINING_ONLY = frozenset({
    "lr", "optimizer", "weight_decay", "scheduler_gamma", "batch_size", "drop_last",
    "kld_weight", "reconstruction", "kl_warmup", "epochs", "early_stopping", "stopping",
    "min_delta", "patience", "min_epochs", "grad_clip", "axes"})


def encoder_key(settings: dict) -> str:
    """What decides a run's encoder as initialised and the samples it encodes: its settings
    (as study_runs resolves them) without the TRAINING_ONLY ones. Runs of one study with the
    same key have the same latent_untrained.npy."""
    return repr(sorted((k, repr(v)) for k, v in settings.items() if k not in TRAINING_ONLY))


def study_runs(name: str, study: dict, config: dict) -> dict[str, dict]:
    """{run path: resolved run settings} for every grid point of one study of a workflow config.

    A run's settings are, later winning: the package defaults, the config's `defaults`, the
    study's `base`, its `by_model` entry for the run's model, the grid point; `model_params`
    come from the config's and the study's entries for the model. The path names the grid
    point in grid order (`model=iwae/init=normal/seed=3`). Every run is validated.
    """
    axes = list(study["grid"])
    runs: dict[str, dict] = {}
    for values in itertools.product(*study["grid"].values()):
        point = dict(zip(axes, values))
        settings = {**config.get("defaults", {}), **study.get("base", {})}
        model = point.get("model", settings.get("model", RunConfig.model))
        settings = {**settings, **study.get("by_model", {}).get(model, {}), **point}
        settings["model_params"] = {
            **config.get("model_params", {}).get(model, {}),
            **study.get("model_params", {}).get(model, {}),
        }
        settings["axes"] = {k: axis_value(v) for k, v in point.items()}
        path = "/".join(f"{k}={axis_value(v)}" for k, v in point.items())
        RunConfig.from_dict(settings, source=f"studies.{name} run {path}")
        if path in runs:  # e.g. lr: [0.001, 1.0e-3]
            raise ConfigError(f"studies.{name}.grid: two grid points give the run {path}; "
                              "remove the repeated value")
        runs[path] = settings
    return runs
