# reason_lib — `make help` lists the targets. A fresh clone needs only `make reproduce` / `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PROFILE ?= cpu
# Extra papermill parameters, e.g. ARGS='-p seed 1 -p init_model HuggingFaceTB/SmolLM2-135M-Instruct'
ARGS ?=
RUN := $(PY) -m reason_lib.run

.PHONY: help setup test base-model perplexity-grpo reproduce clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned: the CPU wheel (an unpinned torch would pull a multi-GB CUDA build)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

setup: $(VENV)/.installed ## create .venv and install the project (fast when nothing changed)

test: setup ## run the test suite (unit tests + notebooks under nbval)
	$(PY) -m pytest -q

base-model: setup ## notebook 00: train the base model every experiment starts from (PROFILE=cpu|smol|gpu)
	$(RUN) base_model --profile $(PROFILE) $(ARGS)

perplexity-grpo: setup ## notebook 04: GRPO with correctness / perplexity / hybrid rewards
	$(RUN) perplexity_grpo --profile $(PROFILE) $(ARGS)

reproduce: setup ## every experiment on the cpu profile, in order
	$(MAKE) base-model PROFILE=cpu
	$(MAKE) perplexity-grpo PROFILE=cpu

clean: ## remove the venv and caches (outputs/ stays: runs are never deleted by make)
	rm -rf $(VENV) .pytest_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
