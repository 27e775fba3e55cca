"""Snakemake conventions: rules formatted by snakefmt, and the workflow catalog's standardized
usage (workflow/Snakefile, config/README.md, .snakemake-workflow-catalog.yml) present and true."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import REPO, SNAKEFILE, snakemake

CATALOG = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())


def test_rules_are_snakefmt_clean():
    snakefmt = Path(sys.executable).with_name("snakefmt")
    done = subprocess.run([str(snakefmt), "--check", "Snakefile", "workflow/"], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, f"run `snakefmt Snakefile workflow/`:\n{done.stdout}{done.stderr}"


@pytest.mark.workflow
def test_plain_snakemake_from_the_root_reads_the_top_level_snakefile(tmp_path):
    # no --snakefile: Snakemake finds ./Snakefile, which includes workflow/Snakefile
    done = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--directory", str(tmp_path),
                           "--configfile", str(REPO / "config" / "config.yaml")], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"Snakefile: {REPO / 'Snakefile'}" in done.stdout + done.stderr
    assert re.search(r"^default\s+1$", done.stdout, re.M)  # the workflow's all, as default
    assert re.search(r"^train\s+\d+$", done.stdout, re.M)
    lint = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert "Congratulations" in lint.stdout + lint.stderr


def test_the_catalog_finds_the_workflow_where_it_looks():
    assert SNAKEFILE == REPO / "workflow" / "Snakefile" and SNAKEFILE.is_file()
    assert (REPO / "config" / "config.yaml").is_file()
    assert "## The pieces" in (REPO / "config" / "README.md").read_text()
    assert set(CATALOG) == {"usage"}
    assert set(CATALOG["usage"]) <= {"mandatory-flags", "software-stack-deployment", "report"}


def test_the_catalog_claims_are_true():
    usage = CATALOG["usage"]
    # conda: every rule names an env (tests/test_envs.py checks each one and that it builds the
    # pinned versions); report: the workflow declares one (test_workflow builds it)
    assert usage["software-stack-deployment"] == {"conda": True}
    assert usage["report"] is True and 'report: "report/workflow.rst"' in SNAKEFILE.read_text()
    assert (REPO / "workflow" / "report" / "workflow.rst").is_file()


@pytest.mark.workflow
def test_the_catalogs_mandatory_flags_run_the_default_config(tmp_path):
    flags = shlex.split(CATALOG["usage"]["mandatory-flags"]["flags"])
    done = snakemake("-n", *flags, "--directory", str(tmp_path),
                     "--configfile", str(REPO / "config" / "config.yaml"))
    assert "train" in done.stdout


def test_the_workflow_and_site_profiles_keep_to_their_own_keys():
    """profiles/slurm is the workflow's, profiles/site a site's (profiles/slurm/README.md,
    "Your site"): stacked, a later profile replaces an earlier one's key whole, so a key in
    both would drop the other's settings (the site's partitions, say). Only `jobs` is both: the
    workflow's default, the site's limit."""
    workflow = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    site = yaml.safe_load((REPO / "profiles/site/config.yaml").read_text())
    assert set(site) <= {"jobs", "default-resources", "set-resources", "set-threads"}
    assert set(workflow) & set(site) == {"jobs"}
    site_resources = {"slurm_account", "slurm_partition", "qos", "constraint", "gpu", "gres",
                      "gpu_model", "cpus_per_gpu"}
    assert set(site["default-resources"]) <= site_resources
    assert all(set(resources) <= site_resources for resources in site["set-resources"].values())
