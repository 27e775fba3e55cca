#!/usr/bin/env bash
# The device check for the first GPU at hand, in one command (at most 8 minutes on one GPU):
# bench/bench_gpu.py at the papers' shape (synthetic, 11,069 x 5,000): a training job's start-up,
# seconds per epoch at batch 1000 (the papers) and 64 (the benchmark) with K = 1, 4, 8 and 16 runs
# sharing the GPU (nvidia-smi memory per run and utilisation), and the projected wall time of
# config/paper.yaml and config/eltager2023.yaml at each K. It prints the tables, ready to paste
# into bench/README.md. Without a GPU (or a torch that sees none) it says so in one line and
# exits 0.
#
#   bash bench/device_check.sh            # from the repository root, after `make .venv/.installed`
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
if ! command -v nvidia-smi > /dev/null 2>&1 || ! nvidia-smi -L > /dev/null 2>&1; then
    echo "device_check: no NVIDIA GPU on this machine (nvidia-smi finds none): nothing to measure"
    exit 0
fi
if ! "$PY" -c "import torch, sys; sys.exit(not torch.cuda.is_available())" 2> /dev/null; then
    echo "device_check: $(nvidia-smi -L | head -1), but $PY's torch sees no GPU (a CPU build?):" \
         "install a CUDA build of torch==2.13.0 into the venv first"
    exit 0
fi
nvidia-smi -L | head -1
# 3 start-up jobs, 3 epochs a run, both batches, K = 1, 4, 8, 16: about 5-6 minutes on an H200;
# the timeout leaves the 8-minute budget intact whatever happens.
exec timeout -k 10 470 "$PY" bench/bench_gpu.py --device cuda --runs 3 --epochs 3 \
    --batches 1000 64 --concurrency 1 4 8 16 --workdir "${WORKDIR:-/tmp/vaebench-device-check}"
