# Set-up and the two everyday commands. Everything installs into .venv from pinned versions.
#   make run    the whole pipeline on the default config (synthetic data) -> results/*/figures
#   make test   the test suite (unit tests and real Snakemake runs)
#   make test-slurm   the Slurm profile on a real Slurm started on this machine (root, Debian)
#   make bench  the benchmarks of bench/README.md, with what they need (~25 min on 2 cores)
PYTHON ?= python3
VENV := .venv
CORES ?= 2
# Where pip finds torch. PyPI's Linux torch bundles CUDA (several GB): where no NVIDIA driver
# answers (nvidia-smi), the CPU-only build's index instead. `make TORCH_INDEX= run` takes PyPI's,
# `make TORCH_INDEX=<url> run` any other (say a CUDA version's).
CPU_TORCH_INDEX := https://download.pytorch.org/whl/cpu
TORCH_INDEX ?= $(if $(shell nvidia-smi >/dev/null 2>&1 && echo driver),,$(CPU_TORCH_INDEX))
CPU_NOTE := make: no NVIDIA driver answers here (nvidia-smi), so torch's CPU build: no CUDA download (TORCH_INDEX overrides)

.PHONY: run test test-slurm report lint bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@$(if $(filter $(CPU_TORCH_INDEX),$(TORCH_INDEX)),echo "$(CPU_NOTE)")
	# torch first and pinned: an unpinned resolve would pull several GB of CUDA wheels.
	$(VENV)/bin/pip install --quiet torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(VENV)/bin/pip install --quiet -e '.[workflow,dev]'
	touch $@

# Safe to run again after anything, Snakemake itself killed included: `recover` removes the
# lock a dead Snakemake left (it refuses while one still runs here), and --rerun-incomplete
# redoes the jobs it cut off; finished runs are kept.
run: $(VENV)/.installed
	$(VENV)/bin/vaebench recover
	$(VENV)/bin/snakemake --cores $(CORES) --rerun-incomplete

report: $(VENV)/.installed
	$(VENV)/bin/snakemake --report report.html

test: $(VENV)/.installed
	$(VENV)/bin/python -m pytest -m "not slurm"

# profiles/slurm on a real one-node Slurm that start.sh installs and starts on this machine
# (Debian 12, root or sudo; tests/slurm/README.md); `bash tests/slurm/stop.sh` stops it. A hung
# Snakemake ignores SIGTERM: hence timeout -k (and another one per Snakemake call in the test).
test-slurm: $(VENV)/.installed
	bash tests/slurm/start.sh
	timeout -k 30 660 $(VENV)/bin/python -m pytest -m slurm tests/slurm

# The benchmarks' baseline is a Lightning loop, as the studies trained: installed for them only.
$(VENV)/.bench: $(VENV)/.installed
	$(VENV)/bin/pip install --quiet -e '.[workflow,dev,bench]'
	touch $@

bench: $(VENV)/.bench
	$(VENV)/bin/python bench/bench_preprocess.py
	$(VENV)/bin/python bench/bench_train.py
	$(VENV)/bin/python bench/bench_models.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/snakemake --lint
	$(VENV)/bin/snakefmt --check Snakefile workflow/
