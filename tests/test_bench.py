"""The device check runs anywhere: without a GPU it says so in one line and succeeds."""

import shutil
import subprocess

import pytest
from helpers import REPO


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None,
                    reason="a GPU is here: the check itself takes minutes (run it by hand)")
def test_the_device_check_without_a_gpu_is_one_line_and_exit_0():
    done = subprocess.run(["bash", str(REPO / "bench" / "device_check.sh")], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1 and done.stdout.startswith("device_check: no NVIDIA GPU")
