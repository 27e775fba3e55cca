# Set-up and the two everyday commands. Everything installs into .venv from pinned versions.
#   make run    the whole pipeline on the default config (synthetic data) -> results/*/figures
#   make test   the test suite (unit tests and real Snakemake runs)
PYTHON ?= python3
VENV := .venv
CORES ?= 2

.PHONY: run test test-slurm report lint

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first and pinned: an unpinned resolve would pull several GB of CUDA wheels.
	$(VENV)/bin/pip install --quiet torch==2.13.0
	$(VENV)/bin/pip install --quiet -e '.[workflow,dev]'
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/snakemake --cores $(CORES)

report: $(VENV)/.installed
	$(VENV)/bin/snakemake --report report.html

test: $(VENV)/.installed
	$(VENV)/bin/python -m pytest -m "not slurm"

test-slurm: $(VENV)/.installed
	bash tests/slurm/start.sh
	$(VENV)/bin/python -m pytest -m slurm

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/snakemake --lint
