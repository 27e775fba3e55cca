"""The project as a user installs it: `pip install .`, not the editable install of `make`."""

import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from helpers import REPO


def test_a_plain_install_has_every_package_and_runs(finished, tmp_path):
    """A fresh venv gets vaebench from a wheel built from the checkout (no dependencies: those
    come from this interpreter's site-packages, by a path line that activates none of its .pth
    files, so the editable vaebench there stays out); then its commands run from elsewhere."""
    workdir, configfile = finished
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], check=True, capture_output=True, text=True)
    (Path(site.stdout.strip()) / "dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    # the wheel built by this interpreter's setuptools (torch requires it), offline, from a
    # copy of what the build reads (building in the checkout would leave build/ there)
    source = tmp_path / "source"
    for name in ("pyproject.toml", "README.md"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "workflow" / "scripts", source / "workflow" / "scripts",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(tmp_path / "wheel"), str(source)],
                   check=True, cwd=tmp_path)
    wheel = next((tmp_path / "wheel").glob("vaebench-*.whl"))
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    str(wheel)], check=True, cwd=tmp_path)

    def vaebench(*args):
        return subprocess.run([str(venv / "bin" / "vaebench"), *args], capture_output=True,
                              text=True, cwd=tmp_path)

    where = subprocess.run([str(python), "-c", "import vaebench.analysis, vaebench.models; "
                            "print(vaebench.__file__)"], capture_output=True, text=True,
                           cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    assert where.stdout.startswith(str(venv)), where.stdout  # the installed copy, not the repo
    assert vaebench("--help").returncode == 0
    summary = vaebench("summary", str(workdir / "results"), "--configfile", str(configfile))
    assert summary.returncode == 0 and re.search(r"\ninit +8 +", summary.stdout), summary.stderr
    aggregated = vaebench("aggregate", "--runs", str(workdir / "results/init/runs"),
                          "--out-dir", str(tmp_path / "tables"))
    assert aggregated.returncode == 0, aggregated.stderr
    assert (tmp_path / "tables" / "runs.csv").is_file()
