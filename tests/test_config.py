"""The schema, the package's defaults and its registries tell the same story."""

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from vaebench import data, inits, models, optim
from vaebench.config import (
    INIT_NAMES,
    MODEL_NAMES,
    MODEL_OPTIONS,
    MODEL_SPECS,
    OPTIMIZER_NAMES,
    RECONSTRUCTIONS,
    ConfigError,
    RunConfig,
)

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())


def test_name_lists_match_the_registries():
    assert tuple(models.MODELS) == MODEL_NAMES
    assert tuple(inits.INITS) == INIT_NAMES
    assert tuple(optim.OPTIMIZERS) == OPTIMIZER_NAMES


def test_schema_run_defaults_are_the_package_defaults():
    schema_run = SCHEMA["$defs"]["run"]["properties"]
    package = {f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
               for f in dataclasses.fields(RunConfig)}
    # save_latent is set by the workflow from a study's `save_latent` selection, not by a user.
    assert set(schema_run) == set(package) - {"model_params", "axes", "threads", "save_latent"}
    for key, spec in schema_run.items():
        assert spec["default"] == package[key], key
        if "enum" in spec:
            allowed = {"model": MODEL_NAMES, "init": INIT_NAMES, "optimizer": OPTIMIZER_NAMES,
                       "reconstruction": (*RECONSTRUCTIONS, None)}
            assert tuple(spec["enum"]) == allowed.get(key, tuple(spec["enum"]))


def test_schema_preprocess_defaults_are_the_package_defaults():
    import inspect

    signature = inspect.signature(data.preprocess).parameters
    for key, spec in SCHEMA["$defs"]["preprocess"]["properties"].items():
        assert spec["default"] == signature[key].default, key


def test_schema_dataset_defaults_are_the_package_defaults():
    dataset = SCHEMA["$defs"]["dataset"]["properties"]
    columns = {key: spec["default"] for key, spec in dataset["columns"]["properties"].items()}
    assert columns == data.DEFAULT_COLUMNS
    assert tuple(dataset["transform"]["enum"]) == data.TRANSFORMS
    assert dataset["transform"]["default"] == "none"
    assert tuple(dataset["table"]["properties"]["samples_as"]["enum"]) == data.SAMPLES_AS


def test_schema_model_params_defaults_are_the_model_defaults():
    import inspect

    for name, cls in models.MODELS.items():
        if name == "vanilla":
            continue
        signature = inspect.signature(cls.__init__).parameters
        options = SCHEMA["properties"]["model_params"]["properties"][name]["properties"]
        for key, spec in options.items():
            assert spec["default"] == signature[key].default, (name, key)


def test_model_options_are_the_model_classes_keyword_arguments():
    import inspect

    base = set(inspect.signature(models.VAE.__init__).parameters)
    for name, cls in models.MODELS.items():
        own = set(inspect.signature(cls.__init__).parameters) - base
        assert own == set(MODEL_OPTIONS[name]), name
        schema = SCHEMA["properties"]["model_params"]["properties"][name].get("properties", {})
        assert set(schema) == own, name
        for key, allowed in MODEL_OPTIONS[name].items():  # a choice: the same values
            assert tuple(schema[key].get("enum", ())) == (allowed or ()), (name, key)


def test_the_schema_names_every_model_by_its_label():
    described = SCHEMA["$defs"]["run"]["properties"]["model"]["description"]
    assert re.findall(r"\w+VAE|IWAE", described) == [s.label for s in MODEL_SPECS.values()]


@pytest.mark.parametrize("values,named", [
    ({"reconstruction": "avg"}, "reconstruction='avg' is not one of mean, sum"),
    ({"kl_warmup": -2}, "kl_warmup=-2 must be 0 (off) or a number of epochs"),
    ({"kl_warmup": 1.5}, "kl_warmup=1.5 must be an integer"),
    ({"model": "dipvae", "model_params": {"objective": "fork"}, "reconstruction": "mean"},
     "reconstruction='mean' cannot apply to dipvae's objective fork"),
])
def test_objective_settings_that_cannot_work_are_named(values, named):
    with pytest.raises(ConfigError, match=re.escape("studies.s run x=1: " + named)):
        RunConfig.from_dict(values, source="studies.s run x=1")
