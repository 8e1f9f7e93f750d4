"""The parameter framework's fields: `param` (a documented, checked dataclass field), the fields
every experiment shares (seed, device, dtype, memory knobs, trackers), the checks of one value
(`check_field`) and the registry entry of an experiment (`Experiment`). Each experiment's own
dataclass lives in `reason_lib/experiments/<name>/params.py`; `reason_lib.config` loads them."""

from __future__ import annotations

import dataclasses
import difflib
import textwrap
import types
import typing
from dataclasses import dataclass, field


class ParamError(ValueError):
    """A parameter file or override is invalid; the message names the file, key and value."""


def param(default, help: str, *, min=None, max=None, choices=None, path: bool = False):
    """A documented dataclass field; `path=True` marks a file that must exist when non-empty."""
    meta = {"help": help, "min": min, "max": max, "choices": choices, "path": path}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def micro_batch_size():
    """The memory knob every training experiment has (a field factory, one help text)."""
    return param(0, "Examples (sequences) per forward/backward pass; a step's batch goes through "
                 "in parts of this size, the gradients accumulated (0: the whole batch at once). "
                 "Must divide batch_size. Lower it when a step runs out of memory.", min=0)


def tested_best():
    """How many STaR loops are tested (a field factory, one help text for both STaR experiments)."""
    return param(3, "STaR loops tested besides the last: the best by validation accuracy (the "
                 "pause study tests its 3 best; the best is the selected loop). `--claims` sets 1: "
                 "the claims read the selected loop and the last alone, and the loops no test "
                 "needs keep no model.", min=1)


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


def gsm8k_file(split: str):
    """The GSM8K train or test file of the experiments that train on GSM8K-format problems."""
    fallback = {"train": "procedural problems", "test": "procedural held-out problems"}[split]
    return param("", f"GSM8K {split} jsonl or Hub id; empty: {fallback}.", path=True)


def procedural_steps():
    """How long a procedural problem may be, as the base model was trained on."""
    return param(3, "Most steps of a procedural problem (match the base model's).", min=1, max=8)


def procedural_operand():
    return param(10, "Largest procedural operand (match the base model's).", min=2)


def lora_rank():
    return param(16, "LoRA rank.", min=1)


def eval_batch_size(when: str = ""):
    """The generation knob every scoring experiment has; `when` says when it generates."""
    return param(64, f"Generation batch size{when}.", min=1)


def warmup_batch_fits(params) -> None:
    """The pause experiments' warm-up batch no larger than its rows (each problem copied
    n_generated_samples_per_datapoint times); their params classes' `check`."""
    check_batch_fits(params.batch_size, params.n_train * params.n_generated_samples_per_datapoint,
                     "n_train x n_generated_samples_per_datapoint warm-up rows")


def memory(params) -> dict:
    """The memory knobs of a training experiment's params, as every trainer takes them."""
    return {"micro_batch_size": params.micro_batch_size,
            "gradient_checkpointing": params.gradient_checkpointing}


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
        close = difflib.get_close_matches(key, fields, n=3)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        raise ParamError(f"{where}: unknown parameter for {cls.__name__}; {hint}"
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


# The fields every experiment shares (`training_seed`, `data_seed`, `device`, ...): listed apart
# in `parameters_help`.
SHARED = ("seed", "data_seed", "device", "dtype", "micro_batch_size", "gradient_checkpointing",
          "report_to", "trust_remote_code")


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def parameters_help(cls: type, values=None, profile: str = "") -> str:
    """Every parameter of `cls` (an experiment's dataclass) with its type, default, range or
    choices and help, and the value of `profile` (`values`, its parameters) where it differs: the
    experiment's own first, then the ones every experiment shares
    (`python -m reason_lib.cli <experiment> --help`)."""
    hints = typing.get_type_hints(cls)
    own, shared = [], []
    for f in dataclasses.fields(cls):
        meta = f.metadata
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        facts = [_type_name(hints[f.name]), f"default {default!r}"]
        if values is not None and getattr(values, f.name) != default:
            facts.append(f"{profile} {getattr(values, f.name)!r}")
        low, high = meta.get("min"), meta.get("max")
        if low is not None or high is not None:
            facts.append(f"range [{low}, {high}]" if low is not None and high is not None
                         else f">= {low}" if low is not None else f"<= {high}")
        if meta.get("choices"):
            facts.append("one of " + ", ".join(map(str, meta["choices"])))
        text = textwrap.fill(meta.get("help", ""), 96, initial_indent="      ",
                             subsequent_indent="      ")
        (shared if f.name in SHARED else own).append(f"  {f.name} ({'; '.join(facts)})\n{text}")
    return (f"parameters of {cls.__name__} (-p KEY VALUE):\n" + "\n".join(own)
            + "\n\nshared by every experiment:\n" + "\n".join(shared) + "\n")
