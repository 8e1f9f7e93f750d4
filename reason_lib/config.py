"""Typed, validated parameters: one dataclass per experiment, loaded from `params/<name>/<profile>.yaml`.

All paths derive from PROJ_ROOT (or a parameter / environment variable). A bad key, type, range or
missing file raises one ParamError naming the key, the value and the file, before any heavy work.
"""

from __future__ import annotations

import dataclasses
import os
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


def resolve_source(value: str) -> str:
    """A model or dataset source: the local path when `value` resolves to one, else `value` itself
    (a Hub id such as `HuggingFaceTB/SmolLM2-135M-Instruct`)."""
    path = resolve_path(value)
    return str(path) if path.exists() else value


@dataclass
class BaseModelParams:
    """Notebook 00: train (or load) the base model and measure where it starts."""

    seed: int = param(0, "Seed for data generation, initialisation and sampling.", min=0)
    init_model: str = param("", "Path or Hub id of a pretrained model to start from; empty trains "
                            "the tiny model (and its tokenizer) from scratch.")
    train: bool = param(True, "Train on the offline world; false only evaluates (pretrained models).")
    save_to: str = param("outputs/models/base-cpu", "Where the base model is saved; every "
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
    learning_rate: float = param(2e-3, "Peak learning rate (cosine decay, short warm-up).", min=0.0)
    # Evaluation.
    n_eval: int = param(400, "Held-out GSM8K-format problems.", min=1)
    n_eval_mc: int = param(1500, "Held-out multiple-choice items per language (many: the "
                           "English-Yoruba gap is a few points and its intervals must separate).",
                           min=1)
    eval_batch_size: int = param(64, "Generation batch size.", min=1)
    max_new_tokens: int = param(160, "Generation budget per reply.", min=1)
    real_gsm8k_test: str = param("", "Real GSM8K test file (jsonl) or Hub id; empty skips it. "
                                 "E.g. $REASON_LIB_DATA/gsm8k/test.jsonl.", path=True)
    n_real_gsm8k: int = param(200, "Questions evaluated from the real GSM8K test set.", min=1)
    device: str = param("auto", "auto, cpu or cuda.", choices=["auto", "cpu", "cuda"])
    dtype: str = param("float32", "Model dtype.", choices=["float32", "bfloat16", "float16"])


@dataclass
class PerplexityGRPOParams:
    """Notebook 04: GRPO with correctness, perplexity and hybrid rewards from a frozen scorer LM."""

    seed: int = param(0, "Seed for data, sampling and training.", min=0)
    policy_model: str = param("outputs/models/base-cpu", "Policy to start from (path or Hub id).")
    scorer_model: str = param("", "Frozen scorer LM (path or Hub id); empty: a frozen copy of "
                              "policy_model, as in the study.")
    reward_types: list[str] = param(["correctness", "perplexity", "hybrid"],
                                    "Reward types to train, one GRPO run each.",
                                    choices=["correctness", "perplexity", "hybrid"])
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
    device: str = param("auto", "auto, cpu or cuda.", choices=["auto", "cpu", "cuda"])
    dtype: str = param("float32", "Model dtype.", choices=["float32", "bfloat16", "float16"])


@dataclass(frozen=True)
class Experiment:
    notebook: str
    params: type


EXPERIMENTS: dict[str, Experiment] = {
    "base_model": Experiment("00_base_model.ipynb", BaseModelParams),
    "perplexity_grpo": Experiment("04_perplexity_grpo.ipynb", PerplexityGRPOParams),
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


def validate(cls: type, values: dict, source: str):
    """Build `cls(**values)`, checking every key, type, range, choice and path; errors name `source`."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in values.items():
        where = f"{source}: key {key!r} (value {value!r})"
        if key not in fields:
            raise ParamError(f"{where}: unknown parameter for {cls.__name__}; "
                             f"known: {', '.join(sorted(fields))}")
        tp, meta = hints[key], fields[key].metadata
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
    params = cls(**values)
    for name, f in fields.items():
        value = getattr(params, name)
        if f.metadata.get("path") and value:
            from reason_lib.data.files import is_local

            if is_local(value) and not resolve_path(value).exists():
                raise ParamError(f"{source}: key {name!r} (value {value!r}): file not found "
                                 f"({resolve_path(value)})")
    return params


def parse_override(text: str):
    """A command-line value as YAML would read it: '3' -> 3, 'true' -> True, 'a' -> 'a'."""
    return yaml.safe_load(text) if text.strip() else ""


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
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ParamError(f"{path.relative_to(PROJ_ROOT)}: not valid YAML: {e}") from None
    if not isinstance(values, dict):
        raise ParamError(f"{path.relative_to(PROJ_ROOT)}: expected a mapping of key: value")
    cls = EXPERIMENTS[experiment].params
    validate(cls, values, str(path.relative_to(PROJ_ROOT)))  # names the file for its own errors
    return validate(cls, {**values, **(overrides or {})},
                    f"{path.relative_to(PROJ_ROOT)} + overrides {sorted(overrides or {})}")


def to_dict(params) -> dict:
    return dataclasses.asdict(params)
