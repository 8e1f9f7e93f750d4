"""Typed, validated parameters: one dataclass per experiment, loaded from `params/<name>/<profile>.yaml`.

All paths derive from PROJ_ROOT (or a parameter / environment variable). A bad key, type, range or
missing file raises one ParamError naming the key, the value and the file, before any heavy work.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

PROJ_ROOT = Path(__file__).resolve().parents[1]
PARAMS_DIR = PROJ_ROOT / "params"
NOTEBOOKS_DIR = PROJ_ROOT / "notebooks"


def outputs_root() -> Path:
    """Where runs and models go: `$REASON_LIB_OUTPUTS` if set (tests use a temp dir), else outputs/."""
    return Path(os.environ.get("REASON_LIB_OUTPUTS", PROJ_ROOT / "outputs"))


def data_root() -> Path:
    """The real data folder: `$REASON_LIB_DATA` if set, else `../shared/data` beside the checkout."""
    return Path(os.environ.get("REASON_LIB_DATA", PROJ_ROOT.parent / "shared" / "data"))


class ParamError(ValueError):
    """A parameter file or override is invalid; the message names the file, key and value."""


def param(default, help: str, *, min=None, max=None, choices=None, path: bool = False):
    """A documented dataclass field; `path=True` marks a file that must exist when non-empty."""
    meta = {"help": help, "min": min, "max": max, "choices": choices, "path": path}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def resolve_path(value: str) -> Path:
    """`$REASON_LIB_DATA/...` and `$VAR` expand; `outputs/...` goes under the outputs root;
    other relative paths are relative to the project root."""
    os.environ.setdefault("REASON_LIB_DATA", str(data_root()))
    value = os.path.expanduser(os.path.expandvars(value))
    if value.startswith("outputs/"):
        return outputs_root() / value[len("outputs/"):]
    path = Path(value)
    return path if path.is_absolute() else PROJ_ROOT / path


FILE_SUFFIXES = (".jsonl", ".json", ".csv", ".gz", ".parquet", ".txt")


def is_local(path_or_id: str) -> bool:
    """True when the string names a local file (it exists, or looks like a path, not a Hub id)."""
    return os.path.exists(path_or_id) or path_or_id.endswith(FILE_SUFFIXES) or \
        path_or_id.startswith((".", "/", "~"))


def hub_mirror(repo_id: str) -> Path | None:
    """`$REASON_LIB_HUB_MIRROR/<owner>/<name>/` when that folder exists: a pre-fetched copy of a
    Hub repo in the repo's own layout (a dataset's README `configs:` block and data files, or a
    model's `save_pretrained` files), for machines such as cluster compute nodes with no internet."""
    mirror = os.environ.get("REASON_LIB_HUB_MIRROR", "")
    if not mirror or repo_id.count("/") != 1 or repo_id.startswith((".", "/", "~", "$")):
        return None
    folder = Path(mirror).expanduser() / repo_id
    return folder if folder.is_dir() else None


def resolve_source(value: str) -> str:
    """A model or dataset source: the local path when `value` resolves to one, else the Hub id's
    copy in the mirror (`hub_mirror`) when there is one, else `value` itself (a Hub id such as
    `HuggingFaceTB/SmolLM2-135M-Instruct`, read from the network or the standard Hub cache)."""
    path = resolve_path(value)
    if path.exists():
        return str(path)
    mirrored = hub_mirror(value)
    return str(mirrored) if mirrored else value


def micro_batch_size():
    """The memory knob every training experiment has (a field factory, one help text)."""
    return param(0, "Examples (sequences) per forward/backward pass; a step's batch goes through "
                 "in parts of this size, the gradients accumulated (0: the whole batch at once). "
                 "Must divide batch_size. Lower it when a step runs out of memory.", min=0)


def report_to():
    """The tracker knob every experiment has (`reason_lib.trackers`)."""
    return param([], "Experiment trackers that get a copy of the per-step and final metrics: "
                 "tensorboard, wandb (WANDB_MODE=offline needs no network). Empty: the run "
                 "folder alone.", choices=["tensorboard", "wandb"])


def training_seed(what: str):
    """The seed axis (`make <target> SEEDS=N`): every source of training randomness."""
    return param(0, f"Seed of the training randomness ({what}); the item sets come from "
                 "data_seed, so every seed is scored on the same test items. A '{seed}' in a "
                 "path parameter becomes this number (seed k starts from base model seed k).",
                 min=0)


def data_seed():
    """The seed of the item sets (a field factory, one help text)."""
    return param(0, "Seed of the item sets: the offline world, the splits and the test and "
                 "validation items. Fixed across training seeds, so seeds are paired on the "
                 "same items.", min=0)


def device():
    """Where every experiment puts its models (a field factory, one help text)."""
    return param("auto", "auto (a GPU when there is one, else the CPU), cpu or cuda.",
                 choices=["auto", "cpu", "cuda"])


def dtype():
    return param("float32", "Model dtype (bfloat16 on GPUs that have it).",
                 choices=["float32", "bfloat16", "float16"])


def gradient_checkpointing():
    return param(False, "Recompute activations in the backward pass instead of keeping them: "
                 "far less activation memory for about a third more compute.")


def preference_subset():
    return param("", "One subset folder of a Hub preference dataset: Anthropic/hh-rlhf keeps "
                 "harmless-base, helpful-base, helpful-online and helpful-rejection-sampled side "
                 "by side, and without it loads all four (160,800 training pairs). Empty: the "
                 "whole dataset (or a file).")


def warmup_batch_fits(params) -> None:
    """The pause experiments' warm-up batch no larger than its rows (each problem copied
    n_generated_samples_per_datapoint times); their params classes' `check`."""
    check_batch_fits(params.batch_size, params.n_train * params.n_generated_samples_per_datapoint,
                     "n_train x n_generated_samples_per_datapoint warm-up rows")


def memory(params) -> dict:
    """The memory knobs of a training experiment's params, as every trainer takes them."""
    return {"micro_batch_size": params.micro_batch_size,
            "gradient_checkpointing": params.gradient_checkpointing}


@dataclass
class BaseModelParams:
    """Notebook 00: train (or load) the base model and measure where it starts."""

    seed: int = training_seed("initialisation, the training mixture's order, sampling")
    data_seed: int = data_seed()
    init_model: str = param("", "Path or Hub id of a pretrained model to start from; empty trains "
                            "the tiny model (and its tokenizer) from scratch.")
    train: bool = param(True, "Train on the offline world; false only evaluates (pretrained models).")
    save_to: str = param("outputs/models/base-cpu-seed{seed}", "Where the base model is saved; every "
                         "experiment's cpu profile loads it from here.")
    # Tiny model shape (ignored when init_model is set).
    vocab_size: int = param(1024, "Tokenizer vocabulary size (BPE trained on the offline world).",
                            min=300, max=65536)
    hidden_size: int = param(192, "Transformer width.", min=16)
    n_layers: int = param(4, "Transformer blocks.", min=1)
    n_heads: int = param(4, "Attention heads (must divide hidden_size).", min=1)
    intermediate_size: int = param(576, "MLP width.", min=16)
    max_length: int = param(256, "Longest training sequence in tokens; longer ones are truncated.",
                            min=32)
    # Offline world.
    n_gsm8k_train: int = param(4000, "Procedural GSM8K-format training problems.", min=1)
    n_mmlu_train: int = param(5000, "Procedural multiple-choice training items (per language).", min=1)
    yoruba_share: float = param(0.03, "Share of Yoruba items in the multiple-choice training mix; "
                                "small, so the model starts weaker in Yoruba.", min=0.0, max=1.0)
    max_steps: int = param(3, "Most arithmetic steps in a GSM8K-format problem.", min=1, max=8)
    max_operand: int = param(10, "Largest operand of an addition or subtraction.", min=2)
    # Training.
    epochs: float = param(3.0, "Passes over the training mix.", min=0.0)
    batch_size: int = param(16, "Training batch size.", min=1)
    micro_batch_size: int = micro_batch_size()
    gradient_checkpointing: bool = gradient_checkpointing()
    learning_rate: float = param(2e-3, "Peak learning rate (cosine decay, short warm-up).", min=0.0)
    # Evaluation.
    n_eval: int = param(400, "Held-out GSM8K-format problems.", min=1)
    n_eval_mc: int = param(1500, "Held-out multiple-choice items per language (many: the "
                           "English-Yoruba gap is a few points and its intervals must separate).",
                           min=1)
    eval_batch_size: int = param(64, "Generation batch size.", min=1)
    max_new_tokens: int = param(160, "Generation budget per reply.", min=1)
    offline_eval: bool = param(True, "Score the offline world too (GSM8K-format test and "
                               "paraphrase, multiple choice in English and Yoruba); off at paper "
                               "scale, where the real test sets are what counts.")
    real_gsm8k_test: str = param("", "Real GSM8K test file (jsonl) or Hub id; empty skips it. "
                                 "E.g. $REASON_LIB_DATA/gsm8k/test.jsonl.", path=True)
    n_real_gsm8k: int = param(200, "Questions evaluated from the real GSM8K test set.", min=1)
    real_mmlu: str = param("", "Real MMLU CSV (`Question, A, B, C, D, Answer, Subject`) or Hub id "
                           "(cais/mmlu); empty skips it. E.g. $REASON_LIB_DATA/mmlu/test.csv.",
                           path=True)
    n_real_mmlu: int = param(1140, "Real MMLU questions, spread evenly over the subjects (1,140 = "
                             "20 for each of the 57).", min=1)
    mmlu_max_new_tokens: int = param(64, "Generation budget for the real MMLU 'Answer: X' replies "
                                     "(the letter log-prob score needs none).", min=1)
    device: str = device()
    dtype: str = dtype()
    report_to: list[str] = report_to()


@dataclass
class PerplexityGRPOParams:
    """Notebook 04: GRPO with correctness, perplexity and hybrid rewards from a frozen scorer LM."""

    seed: int = training_seed("data order, rollouts and training")
    data_seed: int = data_seed()
    policy_model: str = param("outputs/models/base-cpu-seed{seed}", "Policy to start from (path or Hub id).")
    scorer_model: str = param("", "Frozen scorer LM (path or Hub id); empty: a frozen copy of "
                              "policy_model, as in the study.")
    reward_types: list[str] = param(["correctness", "perplexity", "hybrid"],
                                    "Reward types to train, one GRPO run each; perplexity_visible "
                                    "is the perplexity reward with the policy's own stated answer "
                                    "left in what the scorer reads (the leak ablation; the "
                                    "evaluation always removes it).",
                                    choices=["correctness", "perplexity", "hybrid",
                                             "perplexity_visible"])
    perplexity_form: str = param("prob", "Reward from the scorer's mean log-prob m of the gold "
                                 "answer: prob = exp(m), neg_perplexity = -exp(-m), logprob = m.",
                                 choices=["prob", "neg_perplexity", "logprob"])
    perplexity_target: str = param("final_line", "What the scorer predicts: the gold '#### N' "
                                   "line, or the answer number alone.",
                                   choices=["final_line", "answer_text"])
    hybrid_weights: list[float] = param([1.0, 1.0], "Hybrid reward weights: [correctness, "
                                        "perplexity].")
    train_data: str = param("", "GSM8K train jsonl or Hub id; empty: procedural problems.",
                            path=True)
    test_data: str = param("", "GSM8K test jsonl or Hub id; empty: procedural held-out problems.",
                           path=True)
    n_train: int = param(1000, "Training prompts.", min=1)
    n_test: int = param(300, "Test questions for the before/after table.", min=1)
    problem_steps: int = param(3, "Most steps of a procedural problem (match the base model's).",
                               min=1, max=8)
    max_operand: int = param(10, "Largest procedural operand (match the base model's).", min=2)
    steps: int = param(40, "GRPO optimiser steps per reward type.", min=1)
    batch_size: int = param(32, "Completions per step (batch_size / num_generations prompts).",
                            min=2)
    micro_batch_size: int = micro_batch_size()
    gradient_checkpointing: bool = gradient_checkpointing()
    num_generations: int = param(8, "Completions sampled per prompt (the GRPO group).", min=2)
    temperature: float = param(1.0, "Sampling temperature of the rollouts.", min=0.01)
    beta: float = param(0.0, "KL coefficient to the starting policy (0: no reference model).",
                        min=0.0)
    learning_rate: float = param(5e-5, "Learning rate.", min=0.0)
    max_completion_length: int = param(128, "Longest rollout in tokens.", min=8)
    lora: bool = param(False, "Train LoRA adapters instead of the full policy.")
    lora_r: int = param(16, "LoRA rank.", min=1)
    eval_every: int = param(10, "Steps between evaluations on the curve subset.", min=1)
    n_curve: int = param(100, "Test questions evaluated every eval_every steps (the curves).",
                         min=1)
    max_new_tokens: int = param(160, "Generation budget at evaluation.", min=8)
    eval_batch_size: int = param(64, "Generation batch size at evaluation.", min=1)
    use_vllm: bool = param(False, "Generate the GRPO rollouts with vLLM, through TRL's own "
                           "use_vllm (GPUs, an environment with vLLM: README, More than one GPU).")
    vllm_mode: str = param("colocate", "TRL's vLLM mode: colocate (vLLM inside each training "
                           "process) or server (a `trl vllm-serve` process on its own GPUs).",
                           choices=["colocate", "server"])
    vllm_gpu_memory_utilization: float = param(0.3, "Share of each GPU's memory vLLM takes in "
                                               "colocate mode.", min=0.05, max=0.95)
    device: str = device()
    dtype: str = dtype()
    report_to: list[str] = report_to()

    def check(self) -> None:
        """vLLM asked for and not installed: one line naming the extra, before any work; the
        prompts of a step more than the training prompts."""
        if self.use_vllm and importlib.util.find_spec("vllm") is None:
            raise ParamError("key 'use_vllm' (value true): vLLM is not installed; it pins its own "
                             "torch and transformers, so it needs an environment of its own "
                             "(README, More than one GPU)")
        # a step's batch is batch_size completions, num_generations per prompt
        check_batch_fits(self.batch_size // self.num_generations, self.n_train,
                         "n_train prompts; batch_size / num_generations prompts per step")


@dataclass
class PauseWarmupParams:
    """Notebook 01: warm-up of a pause LM (pause embedding + pause head) on random-pause GSM8K,
    one configuration of the ablation grid (what is trainable, LoRA or not)."""

    seed: int = training_seed("pause injection into training answers, initialisation, data order")
    data_seed: int = data_seed()
    config_name: str = param("sft_peft", "Label of this configuration in the grid's table (the "
                             "study's names: params/pause_warmup/grids/warmup.yaml).")
    model: str = param("outputs/models/base-cpu-seed{seed}", "Base model (trained without pauses; path or "
                       "Hub id).")
    start_epochs: float = param(1.0, "Epochs of plain SFT (no pauses, LoRA merged) the warm-up "
                                "starts from: the study's step 1, trained once per setting and "
                                "reused (reason_lib.train.start); 0 starts from `model` itself.",
                                min=0.0)
    use_pauses: bool = param(True, "Train with pauses; false gives the no-pause baseline (same "
                             "data without pauses, decoding never pauses).")
    pause_embedding: bool = param(True, "Train the pause token's embedding.")
    pause_head: bool = param(True, "Train the pause head (frozen: its random init decides).")
    lm_head: bool = param(False, "Train the LM head (output embeddings).")
    lm_embeddings: bool = param(False, "Train the input embeddings of the ordinary tokens.")
    lora: bool = param(True, "Train LoRA adapters on the transformer blocks.")
    lora_r: int = param(16, "LoRA rank.", min=1)
    pause_weight: float = param(1.0, "Weight of the pause head's loss beside the LM loss.",
                                min=0.0)
    n_random_pauses: int = param(3, "Most random pauses inserted per answer (0..n per copy).",
                                 min=0)
    n_generated_samples_per_datapoint: int = param(1, "Pause-augmented copies of each example.",
                                                   min=1)
    n_pauses_per_patterns: dict = param({}, "Pauses inserted after every occurrence of a pattern, "
                                        "e.g. {'=': 1, '\\n': 2}.")
    train_data: str = param("", "GSM8K train jsonl or Hub id; empty: procedural problems.",
                            path=True)
    test_data: str = param("", "GSM8K test jsonl or Hub id; empty: procedural held-out problems.",
                           path=True)
    n_train: int = param(1000, "Training problems.", min=1)
    n_test: int = param(300, "Test problems (accuracy, pauses, eval loss).", min=1)
    problem_steps: int = param(3, "Most steps of a procedural problem (match the base model's).",
                               min=1, max=8)
    max_operand: int = param(10, "Largest procedural operand (match the base model's).", min=2)
    epochs: float = param(1.0, "Training epochs.", min=0.0)
    learning_rate: float = param(1e-3, "Peak learning rate (warm-up, cosine decay).", min=0.0)
    batch_size: int = param(16, "Training batch size.", min=1)
    micro_batch_size: int = micro_batch_size()
    gradient_checkpointing: bool = gradient_checkpointing()
    max_length: int = param(320, "Longest training sequence (tokens).", min=32)
    temperature: float = param(0.0, "Test decoding temperature; 0 = greedy (argmax token, pause "
                               "when the head's probability > 0.5).", min=0.0)
    max_consecutive_pauses: int = param(8, "Most pauses in a row at decoding.", min=0)
    max_new_tokens: int = param(160, "Generation budget per reply (pauses count).", min=8)
    eval_batch_size: int = param(64, "Generation batch size.", min=1)
    sweep_temperatures: list[float] = param([], "The sampling playground: test accuracy and pauses "
                                            "of the warmed-up model sampled at each of these "
                                            "temperatures (how the study chose STaR's 1.0 and "
                                            "1.5); empty: skipped.")
    save_model: bool = param(True, "Save the trained pause LM into the run folder.")
    device: str = device()
    dtype: str = dtype()
    report_to: list[str] = report_to()

    check = warmup_batch_fits


# The study's eight variants (rollouts at temperature 1.0 and 1.5), the default ...
PAUSE_STAR_VARIANTS = [f"{m}_{p}_t{t}" for m in ("star", "reward_cond") for p in ("pause", "no_pause")
                       for t in ("1.0", "1.5")]
# ... and cooler rollouts, which a small model needs to keep its correct replies clean.
PAUSE_STAR_CHOICES = PAUSE_STAR_VARIANTS + [f"{m}_{p}_t{t}" for m in ("star", "reward_cond")
                                            for p in ("pause", "no_pause") for t in ("0.5", "0.7")]


def parse_variant(name: str) -> dict:
    """'star_pause_t1.0' / 'reward_cond_no_pause_t1.5' -> method, pauses, temperature."""
    m = re.fullmatch(r"(star|reward_cond)_(pause|no_pause)_t(\d+(?:\.\d+)?)", name)
    if not m:
        raise ValueError(f"pause STaR variant {name!r}: expected <star|reward_cond>_<pause|no_pause>"
                         "_t<temperature>")
    return {"name": name, "method": m[1], "pauses": m[2] == "pause", "temperature": float(m[3])}


# Reward conditioning's textual tags: a reply trained after its correctness tag, decoded after
# the high-reward one.
REWARD_TAGS = {True: "[reward: 1]", False: "[reward: 0]"}


def conditioning_prefix(method: str) -> str:
    """Text the reply is generated after: the high-reward tag for reward conditioning, else none."""
    return REWARD_TAGS[True] + "\n" if method == "reward_cond" else ""


@dataclass
class PauseStarParams:
    """Notebook 02: offline STaR and constant textual reward conditioning on GSM8K, with and
    without pauses, at two sampling temperatures, from warmed-up pause LMs."""

    seed: int = training_seed("pause injection into training answers, rollouts, training")
    data_seed: int = data_seed()
    model: str = param("outputs/models/base-cpu-seed{seed}", "Base model (trained without pauses).")
    start_epochs: float = param(1.0, "Epochs of plain SFT (no pauses, LoRA merged) the warm-ups "
                                "start from: the study's step 1 (reason_lib.train.start, reused "
                                "when identical); 0 starts from `model` itself.", min=0.0)
    variants: list[str] = param(PAUSE_STAR_VARIANTS, "Variants: <method>_<pauses>_t<temperature>; "
                                "method star (keep correct replies) or reward_cond (keep all, "
                                "prefixed with their reward; generate after the high-reward "
                                "prefix).", choices=PAUSE_STAR_CHOICES)
    # Warm-up (as notebook 01), once per pause setting.
    pause_embedding: bool = param(True, "Train the pause embedding.")
    pause_head: bool = param(True, "Train the pause head.")
    lm_head: bool = param(False, "Train the LM head.")
    lm_embeddings: bool = param(False, "Train the input embeddings.")
    lora: bool = param(True, "LoRA adapters on the transformer blocks.")
    lora_r: int = param(16, "LoRA rank.", min=1)
    n_random_pauses: int = param(3, "Most random pauses per warm-up answer.", min=0)
    n_generated_samples_per_datapoint: int = param(1, "Pause-augmented copies of each warm-up "
                                                   "answer (the pause warm-up only).", min=1)
    n_pauses_per_patterns: dict = param({}, "Warm-up pauses after every occurrence of a pattern, "
                                        "e.g. {'=': 1}: a pause the head can learn to predict.")
    warmup_epochs: float = param(1.0, "Warm-up epochs on the random-pause training set.", min=0.0)
    # STaR.
    train_data: str = param("", "GSM8K train jsonl or Hub id; empty: procedural problems.",
                            path=True)
    test_data: str = param("", "GSM8K test jsonl or Hub id; empty: procedural held-out problems.",
                           path=True)
    n_train: int = param(600, "Training problems (rolled out every outer loop).", min=1)
    n_validation: int = param(150, "Validation problems (pick the best loop).", min=1)
    n_test: int = param(400, "Test problems.", min=1)
    problem_steps: int = param(3, "Most steps of a procedural problem (match the base model's).",
                               min=1, max=8)
    max_operand: int = param(10, "Largest procedural operand (match the base model's).", min=2)
    outer_loops: int = param(2, "STaR outer loops.", min=1)
    samples_per_problem: int = param(1, "Replies sampled per training problem each loop (the "
                                     "study: 1; more finds correct replies to harder problems).",
                                     min=1)
    epochs: float = param(1.0, "Fine-tuning epochs per outer loop.", min=0.0)
    learning_rate: float = param(1e-3, "Learning rate (warm-up and STaR).", min=0.0)
    batch_size: int = param(16, "Training batch size.", min=1)
    micro_batch_size: int = micro_batch_size()
    gradient_checkpointing: bool = gradient_checkpointing()
    max_length: int = param(320, "Longest training sequence (tokens).", min=32)
    greedy_eval: bool = param(True, "Greedy decoding at validation, which picks the best loop "
                              "(the study found greedy better); false samples at the variant's "
                              "temperature. The test is reported both ways.")
    max_consecutive_pauses: int = param(8, "Most pauses in a row at decoding.", min=0)
    max_new_tokens: int = param(160, "Generation budget per reply (pauses count).", min=8)
    eval_batch_size: int = param(64, "Generation batch size.", min=1)
    device: str = device()
    dtype: str = dtype()
    report_to: list[str] = report_to()

    check = warmup_batch_fits


STAR_MMLU_RUNS = [f"{t}{s}" for t in ("english", "yoruba", "translate_en_yo", "translate_yo_en")
                  for s in ("", "_dpo")]


@dataclass
class StarMMLUParams:
    """Notebook 03: STaR (no rationalization) on multiple choice in English and Yoruba, the
    translate setting, and the DPO variant."""

    seed: int = training_seed("rollouts, kept rationales, training")
    data_seed: int = data_seed()
    model: str = param("outputs/models/base-cpu-seed{seed}", "Model every run starts from (path or Hub id).")
    mmlu_english: str = param("", "English MMLU CSV (path) or Hub id (cais/mmlu); empty with "
                              "mmlu_yoruba empty: the offline world. With mmlu_yoruba it must "
                              "hold the same questions in the same order (MMMLU's: simple-evals' "
                              "mmlu.csv, not cais/mmlu), checked row by row.", path=True)
    mmlu_yoruba: str = param("", "Yoruba MMMLU CSV (path) or Hub id (openai/MMMLU, config YO_NG), "
                             "the same questions in the same order; empty with mmlu_english "
                             "set: English alone (runs in Yoruba are then refused).", path=True)
    mmlu_subjects: list[str] = param([], "Real MMLU subjects kept before the 80/10/10 split (e.g. "
                                     "[marketing, miscellaneous]); empty: all 57.")
    runs: list[str] = param(["english", "yoruba", "translate_en_yo", "translate_yo_en",
                             "yoruba_dpo"],
                            "Runs, each from `model`: english / yoruba train and evaluate in one "
                            "language; translate_<a>_<b> trains on a, evaluates on b; a _dpo "
                            "suffix trains DPO on (correct, incorrect) pairs instead of SFT.",
                            choices=STAR_MMLU_RUNS)
    n_train: int = param(300, "Training questions (rationales are sampled on these).", min=1)
    n_validation: int = param(150, "Validation questions per language (picks the best loop).",
                              min=1)
    n_test: int = param(400, "Test questions per language.", min=1)
    outer_loops: int = param(2, "STaR outer loops (sample, filter, fine-tune, validate).", min=1)
    samples_per_question: int = param(4, "Rationales sampled per training question per loop.",
                                      min=1)
    sample_batch_size: int = param(0, "Sequences generated together when sampling rationales "
                                   "(prompts x samples_per_question; what the KV cache holds); "
                                   "0: eval_batch_size prompts at a time.", min=0)
    one_per_question: bool = param(False, "Keep at most one correct rationale per question.")
    temperature: float = param(1.0, "Sampling temperature of the rollouts.", min=0.01)
    restart_each_loop: bool = param(False, "Fine-tune from `model` every loop (as the STaR paper) "
                                    "instead of continuing from the previous loop.")
    epochs: float = param(1.0, "Fine-tuning epochs per outer loop.", min=0.0)
    learning_rate: float = param(3e-4, "Fine-tuning learning rate (SFT).", min=0.0)
    warmup_ratio: float = param(0.05, "Learning-rate warm-up of each fine-tune (SFT and DPO), "
                                "as a share of its steps; the study sets it (0 for its "
                                "single-batch check).", min=0.0, max=1.0)
    batch_size: int = param(16, "Fine-tuning batch size.", min=1)
    micro_batch_size: int = micro_batch_size()
    gradient_checkpointing: bool = gradient_checkpointing()
    dpo_beta: float = param(0.1, "DPO beta (strength of the tie to the reference).", min=0.0)
    dpo_learning_rate: float = param(5e-5, "DPO learning rate.", min=0.0)
    dpo_sft_first: bool = param(False, "Before DPO, SFT on the winners (the study considered it).")
    single_batch: bool = param(False, "Sanity mode: train and evaluate on one batch of "
                               "`batch_size` questions, which the model must fit.")
    single_batch_target: float = param(0.9, "Sanity mode's pass mark: each run's best loop must "
                                       "reach this accuracy on the batch it trained on, or the "
                                       "overfit check fails (recorded and printed).", min=0.0,
                                       max=1.0)
    single_batch_epochs: float = param(20.0, "Fine-tuning epochs per loop in sanity mode.",
                                       min=0.0)
    max_length: int = param(384, "Longest training sequence (tokens).", min=32)
    max_new_tokens: int = param(96, "Generation budget per reply.", min=8)
    eval_batch_size: int = param(64, "Generation batch size.", min=1)
    lora: bool = param(False, "Fine-tune LoRA adapters (merged after each loop).")
    lora_r: int = param(16, "LoRA rank.", min=1)
    device: str = device()
    dtype: str = dtype()
    report_to: list[str] = report_to()


# What `method_overrides` may set for one policy-gradient method (reason_lib.train.reinforce).
METHOD_KEYS = ("steps", "prompts_per_step", "k", "pg_learning_rate", "temperature",
               "repetition_penalty", "kl_coef", "max_new_tokens")


def method_values(params, method: str) -> dict:
    """{METHOD_KEYS: value} of one policy-gradient method: the shared values of a ReinforceRMParams,
    `level_overrides[level]` over them, then `method_overrides[method]` over those."""
    return {**{k: getattr(params, k) for k in METHOD_KEYS},
            **params.level_overrides.get(params.level, {}), **params.method_overrides.get(method, {})}


def _check_overrides(key: str, values: dict, where: str) -> None:
    """One method's (or level's) overrides: keys of METHOD_KEYS, each value checked as the
    top-level parameter of that name is (type, minimum, choices): `steps: 2.7` or
    `temperature: 0` stop here, before any training."""
    if not isinstance(values, dict):
        raise ParamError(f"key {key!r} ({where}: {values!r}): expected a mapping")
    for name, value in values.items():
        if name not in METHOD_KEYS:
            raise ParamError(f"key {key!r} ({where}.{name}): unknown; known: " + ", ".join(METHOD_KEYS))
        check_field(ReinforceRMParams, name, value, f"key {key!r} ({where}.{name} = {value!r})")


@dataclass
class ReinforceRMParams:
    """Notebook 05: reward models (level 1 scalar, level 2 10-class), then REINFORCE, REINFORCE with
    a repetition penalty, and RLOO with a KL penalty against them ("Back to Basics")."""

    seed: int = training_seed("initialisation, data order, rollouts")
    data_seed: int = data_seed()
    level: int = param(1, "Reward model: 1 = scalar head (Bradley-Terry loss), 2 = 10-class head "
                       "(-log sum_i sum_j p_w[i] p_l[j] [i > j]; reward = expected class).",
                       choices=[1, 2])
    base_model: str = param("outputs/models/base-cpu-seed{seed}", "Model the SFT policy and the reward model "
                            "start from (path or Hub id).")
    preference_data: str = param("", "Preference jsonl (chosen/rejected, HH-RLHF format too) or "
                                 "Hub id; empty: the offline world with its known gold reward.",
                                 path=True)
    preference_subset: str = preference_subset()
    n_train: int = param(3000, "Preference pairs for SFT (chosen replies) and reward-model training.",
                         min=8)
    n_test: int = param(400, "Held-out pairs (reward-model accuracy) and evaluation prompts.", min=8)
    n_eval_prompts: int = param(128, "Prompts sampled at each policy evaluation.", min=4)
    label_noise: float = param(0.1, "Share of offline pairs whose label is flipped (rater noise).",
                               min=0.0, max=0.5)
    context_turns: int = param(0, "Keep only the last this many prompt messages of each dialogue "
                               "(1: the user turn the reply answers); 0 = the whole dialogue.",
                               min=0)
    skip_malformed: bool = param(False, "Skip preference rows that do not parse (HH-RLHF has a "
                                 "few whose chosen and rejected dialogues differ); counted in the "
                                 "report. Off: such a row is an error.")
    # SFT policy.
    sft_epochs: float = param(4.0, "SFT epochs on the chosen replies; 0 = no SFT, the base model "
                              "is the SFT policy (an instruct model already is one).", min=0.0)
    sft_learning_rate: float = param(2e-3, "SFT learning rate.", min=0.0)
    reward_model_path: str = param("", "A kept reward model to use instead of training one (a "
                                   "reinforce_rm run id, <run id>/reward_model or its folder; its "
                                   "level must equal `level`). Empty: train it here.")
    rm_init: str = param("sft", "What the reward model's backbone starts from: the SFT policy (as "
                         "in InstructGPT and the paper) or the base model.",
                         choices=["sft", "base"])
    # Reward model.
    rm_epochs: float = param(2.0, "Reward-model epochs.", min=0.0)
    rm_learning_rate: float = param(5e-4, "Reward-model learning rate.", min=0.0)
    rm_trainable_layers: int = param(-1, "Reward-model transformer blocks trained, counted from "
                                     "the top (with the final norm and the head); -1 = all, 0 = "
                                     "the head only. Frozen blocks cost no backward pass.", min=-1)
    batch_size: int = param(32, "SFT and reward-model batch size.", min=1)
    micro_batch_size: int = micro_batch_size()
    gradient_checkpointing: bool = gradient_checkpointing()
    max_length: int = param(256, "Longest training sequence (tokens).", min=16)
    # Policy gradient.
    methods: list[str] = param(["reinforce", "reinforce_rep_penalty", "rloo_kl"],
                               "Methods trained, each from the SFT policy; reinforce_kl is vanilla "
                               "REINFORCE with the KL penalty to the SFT policy (the study's proposed "
                               "fix for its repetition collapse).",
                               choices=["reinforce", "reinforce_rep_penalty", "rloo_kl", "reinforce_kl"])
    method_overrides: dict = param({}, "Per-method settings over the shared ones, as the study ran "
                                   "them, e.g. {reinforce_rep_penalty: {steps: 50, prompts_per_step: "
                                   "64, repetition_penalty: 1.2}}; keys: " + ", ".join(METHOD_KEYS) + ".")
    level_overrides: dict = param({}, "Settings by reward-model level over the shared ones "
                                  "(method_overrides apply on top), as the study ran its levels, "
                                  "e.g. {2: {steps: 150, prompts_per_step: 16}}; keys as for "
                                  "method_overrides.")
    steps: int = param(60, "Policy-gradient steps per method.", min=1)
    prompts_per_step: int = param(16, "Prompts per step.", min=1)
    k: int = param(4, "Samples per prompt (RLOO's leave-one-out group; the other methods draw as "
                   "many, so every method sees the same number of samples).", min=2)
    pg_learning_rate: float = param(3e-5, "Policy-gradient learning rate.", min=0.0)
    baseline: str = param("moving_average", "Vanilla REINFORCE's baseline.",
                          choices=["none", "moving_average"])
    repetition_penalty: float = param(1.3, "Generation repetition penalty of "
                                      "reinforce_rep_penalty (1.0 = none).", min=1.0)
    kl_coef: float = param(0.1, "KL coefficient of rloo_kl (per sequence, nats).", min=0.0)
    temperature: float = param(1.0, "Sampling temperature in training and evaluation.", min=0.01)
    seeded_samples: bool = param(False, "Draw each training sample from its own seed (Gumbel-max, "
                                 "generate.SeededSampling): the same samples whatever the batch, "
                                 "micro-batch or process count (NPROC), so a run on N processes "
                                 "repeats the one-process run. Off: torch's generator, one seed "
                                 "per step (how the committed results were made).")
    max_new_tokens: int = param(64, "Longest reply (tokens).", min=4)
    eval_every: int = param(10, "Steps between evaluations (the over-optimisation curves).", min=1)
    eval_batch_size: int = param(64, "Generation batch size at evaluation.", min=1)
    lora: bool = param(False, "Train LoRA adapters (SFT, reward model and policy).")
    lora_r: int = param(16, "LoRA rank.", min=1)
    device: str = device()
    dtype: str = dtype()
    report_to: list[str] = report_to()

    def check(self) -> None:
        """`method_overrides` names methods of `methods`, `level_overrides` levels 1 and 2; both
        set keys of METHOD_KEYS, with numbers."""
        for method, values in self.method_overrides.items():
            if method not in self.methods:
                raise ParamError(f"key 'method_overrides' (value {method!r}): not one of the "
                                 f"methods run ({', '.join(self.methods)})")
            _check_overrides("method_overrides", values, method)
        for level, values in self.level_overrides.items():
            if level not in (1, 2):
                raise ParamError(f"key 'level_overrides' (value {level!r}): levels are 1 and 2")
            _check_overrides("level_overrides", values, str(level))
        check_batch_fits(self.batch_size, self.n_train, "n_train preference pairs")
        for method in self.methods:  # what each method will run with, overrides applied
            own = method_values(self, method)
            if own["prompts_per_step"] > self.n_train:
                raise ParamError(f"method {method!r}: prompts_per_step {own['prompts_per_step']} "
                                 f"is more than the n_train {self.n_train} training prompts")


@dataclass
class EvaluateParams:
    """Notebook 06: score any model (a run's, a folder, a Hub id) on the project's benchmarks, with
    the experiments' prompts, extraction and intervals; optionally paired against a baseline.
    The item-set sizes default to the base model's (notebook 00), so the same profile scores the
    same items."""

    seed: int = param(0, "Seed of sampling (temperature > 0).", min=0)
    data_seed: int = data_seed()
    model: str = param("", "What to score: a run id (every model it kept), <run id>/<name>, "
                       "<experiment>/latest[/<name>], a model folder or a Hub id.")
    baseline: str = param("", "A second model scored on the same items; each table then shows "
                          "the paired change (gained / lost items). Empty: none.")
    benches: list[str] = param(["gsm8k_format", "paraphrase", "mc_english", "mc_yoruba"],
                               "Benches to score (reason_lib.benches.BENCHES).",
                               choices=["gsm8k_format", "paraphrase", "mc_english", "mc_yoruba",
                                        "gsm8k", "mmlu", "mmmlu", "hh", "run"])
    max_steps: int = param(3, "Most steps of a procedural GSM8K-format problem.", min=1, max=8)
    max_operand: int = param(10, "Largest procedural operand.", min=2)
    n_eval: int = param(400, "Procedural GSM8K-format problems (test and paraphrase).", min=1)
    n_eval_mc: int = param(1500, "Offline multiple-choice items per language.", min=1)
    real_gsm8k_test: str = param("", "Real GSM8K test file (jsonl) or Hub id, for bench gsm8k.",
                                 path=True)
    n_real_gsm8k: int = param(200, "Real GSM8K questions (the first ones of the file).", min=1)
    real_mmlu: str = param("", "Real MMLU CSV or Hub id, for bench mmlu.", path=True)
    n_real_mmlu: int = param(1140, "MMLU / MMMLU questions, spread evenly over the subjects.", min=1)
    mmmlu: str = param("", "MMMLU CSV or Hub id (openai/MMMLU), for bench mmmlu.", path=True)
    mmmlu_language: str = param("YO_NG", "MMMLU language config (e.g. YO_NG, FR_FR).")
    mmlu_max_new_tokens: int = param(64, "Generation budget of a multiple-choice 'Answer: X' reply.",
                                     min=1)
    reward_model: str = param("", "For bench hh: a kept reward model (<run id>, <run id>/reward_model "
                              "or its folder); level 1 or 2 is read from it.")
    preference_data: str = param("", "For bench hh: HH-RLHF pairs (jsonl[.gz] or Anthropic/hh-rlhf); "
                                 "empty: the offline preference world, whose gold reward is known.",
                                 path=True)
    preference_subset: str = preference_subset()
    n_prompts: int = param(64, "Bench hh: held-out prompts, one reply each (the first of the file "
                           "shuffled by seed: a reinforce_rm run's own evaluation prompts).", min=1)
    context_turns: int = param(0, "Bench hh: keep the last this many prompt turns (0: all).", min=0)
    skip_malformed: bool = param(False, "Bench hh: skip rows whose dialogues cannot be paired.")
    reply_max_new_tokens: int = param(48, "Bench hh: generation budget of a reply.", min=1)
    temperature: float = param(0.0, "Sampling temperature; 0 is greedy (the experiments' tables).",
                               min=0.0)
    max_new_tokens: int = param(160, "Generation budget of a GSM8K reply.", min=1)
    eval_batch_size: int = param(64, "Generation batch size.", min=1)
    n_samples: int = param(20, "Replies per model and item set shown in the report.", min=0)
    device: str = device()
    dtype: str = dtype()
    report_to: list[str] = report_to()
    trust_remote_code: bool = param(False, "Let a Hub model run its own code (off: never by default).")


@dataclass
class SummaryParams:
    """Notebook 99: every experiment's table and headline figure from the runs under outputs/."""

    seed: int = param(0, "Unused (every run folder has one; the summary draws nothing at random).",
                      min=0)
    profiles: list[str] = param([], "Summarise only runs of these profiles; empty: all.")


@dataclass(frozen=True)
class Experiment:
    notebook: str
    params: type
    # parameters a resumed run may raise (`--resume RUN_ID -p outer_loops 20`: more STaR outer
    # loops on a finished run, continuing after its last loop); any other changes nothing on resume
    extendable: tuple[str, ...] = ()
    # the parameter naming the pretrained model a run starts from: the one the bfloat16 check
    # (`reason_lib.precision`) compares with float32 before the run starts
    model_field: str = ""


EXPERIMENTS: dict[str, Experiment] = {
    "base_model": Experiment("00_base_model.ipynb", BaseModelParams, model_field="init_model"),
    "pause_warmup": Experiment("01_pause_warmup.ipynb", PauseWarmupParams, model_field="model"),
    "pause_star": Experiment("02_pause_star.ipynb", PauseStarParams, ("outer_loops",), "model"),
    "star_mmlu": Experiment("03_star_mmlu.ipynb", StarMMLUParams, ("outer_loops",), "model"),
    "perplexity_grpo": Experiment("04_perplexity_grpo.ipynb", PerplexityGRPOParams,
                                  model_field="policy_model"),
    "reinforce_rm": Experiment("05_reinforce_rm.ipynb", ReinforceRMParams, model_field="base_model"),
    "evaluate": Experiment("06_evaluate.ipynb", EvaluateParams),
    "summary": Experiment("99_summary.ipynb", SummaryParams),
}


def _type_ok(value, tp) -> bool:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, a) for a in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is list:
        (item,) = typing.get_args(tp)
        return isinstance(value, list) and all(_type_ok(v, item) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    return isinstance(value, tp)


def check_batch_fits(batch: int, rows: int, what: str) -> None:
    """A training batch no larger than the rows it is drawn from (`what` says which)."""
    if batch > rows:
        raise ParamError(f"key 'batch_size' (value {batch!r}): larger than the data ({what}: "
                         f"{rows}): not one full batch to train on")


def check_field(cls: type, key: str, value, where: str) -> None:
    """One value of `cls`'s field `key`: known, of its type, within its range and choices."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if key not in fields:
        raise ParamError(f"{where}: unknown parameter for {cls.__name__}; "
                         f"known: {', '.join(sorted(fields))}")
    tp, meta = typing.get_type_hints(cls)[key], fields[key].metadata
    if not _type_ok(value, tp):
        raise ParamError(f"{where}: expected {getattr(tp, '__name__', tp)}, "
                         f"got {type(value).__name__}")
    if meta.get("min") is not None and value < meta["min"]:
        raise ParamError(f"{where}: must be >= {meta['min']}")
    if meta.get("max") is not None and value > meta["max"]:
        raise ParamError(f"{where}: must be <= {meta['max']}")
    items = value if isinstance(value, list) else [value]
    if meta.get("choices") and any(v not in meta["choices"] for v in items):
        raise ParamError(f"{where}: must be one of {meta['choices']}")


def validate(cls: type, values: dict, source: str):
    """Build `cls(**values)`, checking every key, type, range, choice and path; errors name `source`."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in values.items():
        check_field(cls, key, value, f"{source}: key {key!r} (value {value!r})")
    params = cls(**values)
    if hasattr(params, "check"):  # a class's own rules across fields
        try:
            params.check()
        except ParamError as e:
            raise ParamError(f"{source}: {e}") from None
    micro, batch = getattr(params, "micro_batch_size", 0), getattr(params, "batch_size", 0)
    if micro and batch % micro:
        raise ParamError(f"{source}: key 'micro_batch_size' (value {micro!r}): must divide "
                         f"batch_size ({batch})")
    for name, f in fields.items():
        value = getattr(params, name)
        if f.metadata.get("path") and value:
            if is_local(value) and not resolve_path(value).exists():
                raise ParamError(f"{source}: key {name!r} (value {value!r}): file not found "
                                 f"({resolve_path(value)})")
    return params


class _Loader(yaml.SafeLoader):
    """YAML as a researcher writes it: `3e-4` is a float (plain YAML 1.1 reads it as a string),
    and a key given twice in one mapping is an error (plain YAML keeps the last, silently)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice (line {seen[key] + 1} and line "
                    f"{key_node.start_mark.line + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                   |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                   |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                   |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))


def read_yaml(text: str):
    """Parse a params / grid / run file (or a command-line value) with the float-friendly loader."""
    return yaml.load(text, Loader=_Loader)


def parse_override(text: str):
    """A command-line value as YAML would read it: '3' -> 3, 'true' -> True, '3e-4' -> 0.0003,
    'a' -> 'a'."""
    return read_yaml(text) if text.strip() else ""


def params_file(experiment: str, profile: str) -> Path:
    return PARAMS_DIR / experiment / f"{profile}.yaml"


def load_params(experiment: str, profile: str = "cpu", overrides: dict | None = None):
    """The experiment's parameters: dataclass defaults <- the profile's YAML <- overrides."""
    if experiment not in EXPERIMENTS:
        raise ParamError(f"unknown experiment {experiment!r}; known: {', '.join(EXPERIMENTS)}")
    path = params_file(experiment, profile)
    if not path.is_file():
        raise ParamError(f"{path.relative_to(PROJ_ROOT)}: parameter file not found "
                         f"(profile {profile!r} of {experiment!r})")
    try:
        values = read_yaml(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ParamError(f"{path.relative_to(PROJ_ROOT)}: not valid YAML: {e}") from None
    if not isinstance(values, dict):
        raise ParamError(f"{path.relative_to(PROJ_ROOT)}: expected a mapping of key: value")
    cls = EXPERIMENTS[experiment].params
    validate(cls, values, str(path.relative_to(PROJ_ROOT)))  # names the file for its own errors
    return with_seed(validate(cls, {**values, **(overrides or {})},
                              f"{path.relative_to(PROJ_ROOT)} + overrides {sorted(overrides or {})}"))


SEED_FIELD = "{seed}"


def with_seed(params):
    """`params` with every '{seed}' in a string field replaced by its seed: a path per seed,
    e.g. `outputs/models/base-cpu-seed{seed}`, so seeds side by side never share a written model
    and seed k of an experiment starts from base model seed k."""
    seed = getattr(params, "seed", 0)
    changed = {f.name: getattr(params, f.name).replace(SEED_FIELD, str(seed))
               for f in dataclasses.fields(params)
               if isinstance(getattr(params, f.name), str) and SEED_FIELD in getattr(params, f.name)}
    return dataclasses.replace(params, **changed) if changed else params


def seed_free(params: dict) -> dict:
    """A run's parameters without its seed: the seed field dropped and the seed's number put back
    as '{seed}' where a path carries it (`with_seed`), so the seeds of one configuration compare
    equal (the summary's seed groups)."""
    seed = params.get("seed")
    pattern = re.compile(rf"seed{seed}(?!\d)")
    return {k: pattern.sub("seed" + SEED_FIELD, v) if isinstance(v, str) else v
            for k, v in params.items() if k != "seed"}


def to_dict(params) -> dict:
    return dataclasses.asdict(params)
