"""Whether a job that was given a GPU can use it, and if not, why, in one line.

Slurm (or the local profile's slots) hands a job its GPUs in CUDA_VISIBLE_DEVICES. A torch that
cannot use them would train on the CPU without a word (`device: auto`), and a benchmark bundle
sized for a GPU then runs out of time. The usual causes on a cluster: a CPU-only torch, a driver
older than torch's CUDA runtime needs (PyPI's torch 2.13.0 bundles CUDA 13, which needs driver
>= 580), or a GPU older than the build supports (CUDA 13 builds start at Turing, sm_75: no V100
or P100). The cu126 wheels (`torch_build: cu126`: envs/train-gpu-cu126.yaml; without conda,
`make TORCH_INDEX=...`) run on drivers >= 525 and on Volta and Pascal GPUs.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass

# CUDA_VISIBLE_DEVICES values that give no GPU (an older Slurm sets NoDevFiles)
NO_GPU = {"", "-1", "NoDevFiles"}
# The oldest driver each CUDA runtime major version runs on (NVIDIA's compatibility table,
# Linux; minor-version compatibility lets any driver of the major's first release run it).
MIN_DRIVER = {11: 450, 12: 525, 13: 580}
CU126_INDEX = "https://download.pytorch.org/whl/cu126"


def given_gpus(environ=os.environ) -> list[str]:
    """The GPUs the job was given (CUDA_VISIBLE_DEVICES), none where it is unset or empty."""
    value = environ.get("CUDA_VISIBLE_DEVICES", "").strip()
    if value in NO_GPU:
        return []
    return [v.strip() for v in value.split(",") if v.strip()]


@dataclass
class CudaFacts:
    """What torch and the machine say about CUDA, gathered once (`gather`)."""
    torch_version: str
    torch_cuda: str | None  # torch.version.cuda: None for a CPU-only build
    available: bool  # torch.cuda.is_available()
    warning: str = ""  # what torch warned while looking (e.g. "driver too old")
    driver: str | None = None  # the NVIDIA driver's version, where one is installed
    gpu_name: str | None = None
    capability: tuple[int, int] | None = None  # the first GPU's compute capability
    arch_list: tuple[str, ...] = ()  # torch.cuda.get_arch_list(): the GPUs the build runs on


def expects_gpu(device: str, environ=os.environ) -> str | None:
    """Why this job must train on a GPU: `device: cuda`, or `device: auto` with GPUs given;
    None where the CPU will do (`device: cpu` or `any`, or auto with no GPU given)."""
    given = given_gpus(environ)
    if device == "cuda":
        return "the config says `device: cuda`"
    if device == "auto" and given:
        return f"this job was given GPU {','.join(given)} (CUDA_VISIBLE_DEVICES)"
    return None


def problem(where: str, facts: CudaFacts) -> str | None:
    """Why a job that must train on a GPU (`where`: expects_gpu) cannot, with what to do;
    None where it can."""
    otherwise = ("or set `device: cpu` in the config to train on the CPU (`device: any` falls "
                 "back to it without failing)")
    cu126 = (f"use torch's cu126 build (`torch_build: cu126` with --sdm conda, or make "
             f"TORCH_INDEX={CU126_INDEX})")
    if facts.torch_cuda is None:
        return (f"{where}, but torch {facts.torch_version} is a CPU-only build: train in "
                f"envs/train-gpu.yaml (--sdm conda) or install torch's CUDA build, {otherwise}")
    build = f"torch {facts.torch_version} (CUDA {facts.torch_cuda})"
    if not facts.available:
        need = MIN_DRIVER.get(int(facts.torch_cuda.split(".")[0]))
        if facts.driver is None:
            cause = "no NVIDIA driver answers here (nvidia-smi finds none)"
        elif need and int(facts.driver.split(".")[0]) < need:
            cause = (f"the NVIDIA driver is {facts.driver}, and CUDA {facts.torch_cuda} needs "
                     f">= {need}")
        else:
            cause = f"torch sees no GPU ({facts.warning or 'no reason given'})"
        return (f"{where}, but {build} cannot use it: {cause}. Update the driver, or {cu126}, "
                f"{otherwise}")
    built = sorted(int(a.removeprefix("sm_")) for a in facts.arch_list
                   if re.fullmatch(r"sm_\d+", a))
    if facts.capability and built:
        major, minor = facts.capability
        if major * 10 + minor < built[0]:
            return (f"{where}, but {facts.gpu_name or 'its GPU'} (sm_{major}{minor}) is older "
                    f"than {build} supports (sm_{built[0]} and newer): {cu126}, ask for a "
                    f"newer GPU (`gpu_model` in the profile), {otherwise}")
    return None


def gather() -> CudaFacts:
    """The facts `problem` judges, from torch and nvidia-smi (torch imported here: a job
    with no GPU given never calls this)."""
    import warnings

    import torch

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        available = torch.cuda.is_available()
    facts = CudaFacts(torch.__version__, torch.version.cuda, available,
                      " ".join(" ".join(str(w.message) for w in caught).split())[:300])
    facts.driver, facts.gpu_name = _nvidia_smi()
    if available:
        facts.capability = torch.cuda.get_device_capability(0)
        facts.gpu_name = torch.cuda.get_device_name(0)
        facts.arch_list = tuple(torch.cuda.get_arch_list())
    return facts


def _nvidia_smi() -> tuple[str | None, str | None]:
    """(driver version, first GPU's name) from nvidia-smi; (None, None) without one."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version,name",
                              "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    first = out.strip().splitlines()[0].split(",", 1) if out.strip() else []
    return (first[0].strip(), first[1].strip()) if len(first) == 2 else (None, None)
