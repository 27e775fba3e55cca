"""The conda envs in envs/ and pyproject.toml pin the same versions, cover what the code imports,
and every rule names its env; training picks the GPU or CPU env from the run's device."""

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
ENVS = {path.stem: path for path in sorted((REPO / "envs").glob("*.yaml"))}
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
SCRIPTS = REPO / "workflow" / "scripts"
PACKAGE = SCRIPTS / "vaebench"
RULE_FILES = [REPO / "workflow" / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]
# import name -> distribution name, where they differ
DISTRIBUTION = {"yaml": "pyyaml", "sklearn": "scikit-learn", "sksurv": "scikit-survival",
                "PIL": "pillow"}
# what each env runs: the training code, or everything else (no torch)
# (the data modules a training job imports: not the readers of raw formats, which need h5py)
TRAINING_CODE = [SCRIPTS / "train.py", *(PACKAGE / f"{m}.py" for m in
                                         ("config", "inits", "job", "optim", "private_torch",
                                          "slots", "train", "code")),
                 *(PACKAGE / "data" / f"{m}.py" for m in ("__init__", "files", "preprocess")),
                 *(PACKAGE / "models").glob("*.py")]
ANALYSIS_CODE = [p for p in [*SCRIPTS.glob("*.py"), *PACKAGE.glob("*.py"),
                             *(PACKAGE / "data").glob("*.py"), *(PACKAGE / "analysis").glob("*.py"),
                             *(PACKAGE / "claims").glob("*.py")]
                 if p.name not in {"train.py", "inits.py", "optim.py", "private_torch.py", "gpu.py",
                                   "cli.py"}]


def pins(requirements) -> dict[str, str]:
    """{name: version} of `name==version` (pip) or `name=version` (conda) entries."""
    found = {}
    for entry in requirements:
        if entry.startswith("-"):  # pip options such as --extra-index-url
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*={1,2}\s*([^\s=]+)", entry)
        assert match, f"not an exact pin: {entry!r}"
        found[match[1].lower()] = match[2]
    return found


def env_pins(path) -> tuple[dict[str, str], dict[str, str]]:
    """(conda pins, pip pins) of one env file."""
    deps = yaml.safe_load(path.read_text())["dependencies"]
    conda = [d for d in deps if isinstance(d, str) and d != "pip"]
    pip = [e for d in deps if isinstance(d, dict) for e in d.get("pip", [])]
    return pins(conda), pins(pip)


PROJECT_PINS = pins(PYPROJECT["project"]["dependencies"])


def imported_distributions(files) -> set[str]:
    """Third-party distributions the files import (at any level)."""
    names = set()
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    third_party = names - set(sys.stdlib_module_names) - {"vaebench", "snakemake"}
    return {DISTRIBUTION.get(name, name).lower() for name in third_party}


def test_the_four_envs_exist():
    assert set(ENVS) == {"analysis", "train-cpu", "train-gpu", "train-gpu-cu126"}


@pytest.mark.parametrize("name", list(ENVS))
def test_env_versions_are_the_pyproject_versions(name):
    conda, pip = env_pins(ENVS[name])
    python = re.fullmatch(r">=(\d+\.\d+)", PYPROJECT["project"]["requires-python"])[1]
    assert conda == {"python": python}, "only python from conda; packages from pip, as pinned"
    assert pip, f"{name}: no packages"
    for package, version in pip.items():
        assert package in PROJECT_PINS, f"{name}: {package} is not a pyproject dependency"
        assert version == PROJECT_PINS[package], f"{name}: {package}=={version}"


def test_both_training_envs_have_torch_and_the_same_packages():
    cpu, gpu, cu126 = (env_pins(ENVS[name])[1] for name in ("train-cpu", "train-gpu",
                                                            "train-gpu-cu126"))
    assert cpu == gpu == cu126 and cpu["torch"] == PROJECT_PINS["torch"]
    assert "torch" not in env_pins(ENVS["analysis"])[1]
    # the CPU env takes torch from the CPU wheel index, the GPU env PyPI's CUDA build, the
    # cu126 env torch's CUDA 12.6 index (the index vaebench.gpu's message names)
    from vaebench.gpu import CU126_INDEX

    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in ENVS["train-cpu"].read_text()
    assert "download.pytorch.org" not in ENVS["train-gpu"].read_text()
    assert f"--extra-index-url {CU126_INDEX}" in ENVS["train-gpu-cu126"].read_text()


def test_every_pyproject_dependency_is_in_some_env():
    in_envs = set().union(*(env_pins(path)[1] for path in ENVS.values()))
    assert set(PROJECT_PINS) <= in_envs


@pytest.mark.parametrize("env,files", [("train-cpu", TRAINING_CODE), ("train-gpu", TRAINING_CODE),
                                       ("train-gpu-cu126", TRAINING_CODE),
                                       ("analysis", ANALYSIS_CODE)])
def test_env_has_what_its_code_imports(env, files):
    needed = imported_distributions(files)
    missing = needed - set(env_pins(ENVS[env])[1])
    assert not missing, f"envs/{env}.yaml lacks {sorted(missing)}"


def rule_blocks():
    """(file, rule name, body) of every `rule`/`checkpoint` (not `use rule`, which inherits)."""
    for path in RULE_FILES:
        text = path.read_text()
        starts = [m for m in re.finditer(r"^(rule|checkpoint)\s+(\w+)\s*:", text, re.M)]
        for i, match in enumerate(starts):
            end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
            yield path, match[2], text[match.end():end]


def test_every_rule_with_an_action_names_a_conda_env():
    blocks = list(rule_blocks())
    assert {"train", "preprocess", "aggregate", "figures"} <= {name for _, name, _ in blocks}
    for path, name, body in blocks:
        if re.search(r"^\s+(script|shell|run|notebook|wrapper):", body, re.M):
            assert re.search(r"^\s+conda:", body, re.M), f"{path.name}: rule {name} has no conda:"


def test_only_preprocessing_training_and_scoring_leave_the_login_node():
    """Every other rule is a local rule: on a cluster, tables, statistics and figures take
    seconds and downloads need the internet (a rule left out is submitted to Slurm); scoring a
    latent space at TCGA size takes seconds per run and minutes for the baselines."""
    block = re.search(r"^localrules:\n((?:\s+\w+,\n)+)", RULE_FILES[0].read_text(), re.M)
    local = set(re.findall(r"(\w+),", block[1]))
    rules = {name for _, name, _ in rule_blocks()} | {"train_latent"}
    assert rules - local == {"preprocess", "train", "train_latent", "score_latent",
                             "latent_baselines"}
    assert local <= rules


def test_every_env_path_in_the_rules_exists_and_every_env_is_used():
    used = set()
    for path in RULE_FILES:
        for env in re.findall(r"\"([^\"]*envs/[^\"]+\.yaml)\"", path.read_text()):
            assert (path.parent / env).resolve().is_file(), f"{path.name}: {env}"
            used.add((path.parent / env).resolve())
    assert used == {p.resolve() for p in ENVS.values()}


FAKE_CONDA = """#!/bin/sh
# just enough of conda for `snakemake --sdm conda --list-conda-envs` (builds nothing)
case "$*" in
  "info --json") echo '{"conda_version": "24.7.1", "envs_dirs": [], "pkgs_dirs": [],
    "conda_prefix": "/nonexistent", "root_prefix": "/nonexistent", "platform": "linux-64"}';;
  "--version") echo "conda 24.7.1";;
  "config --get channel_priority --json")
    echo '{"get": {"channel_priority": "strict"}, "rc_path": "", "success": true}';;
  *) echo "fake conda: $*" >&2; exit 1;;
esac
"""


@pytest.mark.workflow
@pytest.mark.parametrize("configfile,config,train_env", [
    ("tests/data/tiny.yaml", [], "train-cpu"),                          # device: cpu
    ("config/paper.yaml", [], "train-gpu"),                             # device: auto
    ("config/paper.yaml", ["torch_build=cu126"], "train-gpu-cu126"),    # an older cluster
])
def test_training_env_follows_the_device(tmp_path, configfile, config, train_env):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "conda").write_text(FAKE_CONDA)
    (tmp_path / "bin" / "conda").chmod(0o755)
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "workflow" / "Snakefile"),
         "--directory", str(tmp_path), "--configfile", str(REPO / configfile),
         "--sdm", "conda", "--list-conda-envs", *(["--config", *config] if config else [])],
        capture_output=True, text=True, timeout=300,
        env={"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)})
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    listed = set(re.findall(r"envs/([\w-]+)\.yaml", out))
    assert listed == {"analysis", train_env}, out


@pytest.mark.parametrize("driver", ["none", "answers", "broken"])
def test_make_installs_torchs_cpu_build_where_no_nvidia_driver_answers(tmp_path, driver):
    """`make` on a laptop without a GPU takes the CPU wheel index (PyPI's Linux torch bundles
    several GB of CUDA) and says so in one line; a driver that answers keeps PyPI's build, and
    TORCH_INDEX on the command line overrides either. Read from `make -n`: nothing installs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if driver != "none":
        (bin_dir / "nvidia-smi").write_text(f"#!/bin/sh\nexit {0 if driver == 'answers' else 9}\n")
        (bin_dir / "nvidia-smi").chmod(0o755)
    path = f"{bin_dir}:/usr/bin:/bin"

    def installs(*args):
        done = subprocess.run(["make", "-n", "-W", "pyproject.toml", *args, ".venv/.installed"],
                              cwd=REPO, capture_output=True, text=True, check=True,
                              env={"PATH": path})
        return [line.strip() for line in done.stdout.splitlines()
                if "torch==" in line or "echo" in line]

    cpu = "--index-url https://download.pytorch.org/whl/cpu"
    lines = installs()
    if driver == "answers":
        assert len(lines) == 1 and cpu not in lines[0] and lines[0].endswith("torch==2.13.0")
    else:
        assert len(lines) == 2 and "no NVIDIA driver answers" in lines[0], lines
        assert lines[1].endswith(f"torch==2.13.0 {cpu}"), lines
    assert installs("TORCH_INDEX=")[-1].endswith("torch==2.13.0")
    assert installs("TORCH_INDEX=https://example.org/cu126")[-1].endswith(
        "--index-url https://example.org/cu126")
