"""Snakemake runs shared between test modules: each costs seconds to a minute, so it runs once."""

import pytest
import yaml
from helpers import TINY, snakemake, write_config


@pytest.fixture(scope="session")
def finished(tmp_path_factory):
    """The tiny config run to the end once, in a fresh working directory: (workdir, configfile).
    Its console (with --verbose) is in workdir/console.txt."""
    workdir = tmp_path_factory.mktemp("tiny")
    configfile = write_config(workdir / "config.yaml", yaml.safe_load(TINY.read_text()))
    done = snakemake("--cores", "2", "--directory", str(workdir), "--configfile",
                     str(configfile), "--verbose")
    (workdir / "console.txt").write_text(done.stdout + done.stderr)
    return workdir, configfile
