"""A paper-scale parameter set rehearsed on CPU before it is sent to a GPU (or a queue).

`python -m reason_lib.cli <experiment> --profile gpu --rehearse` runs the notebook with every
value of the profile kept (model and dataset ids, dtype, LoRA, batch and micro-batch sizes,
checkpointing, checkpoint policy) except the ones `shrink` cuts, by the one rule below, and the
device (cpu). With tiny stand-ins behind the Hub ids (`make test` places them; a user can point
`REASON_LIB_HUB_MIRROR` and the Hub cache at real copies) it runs in seconds and meets every code
path the real run meets.
"""

from __future__ import annotations

import dataclasses

ROWS = 8  # every count of problems, items, pairs or prompts (`n_*`)
TOKENS = 24  # every generation budget
LENGTH = 256  # the longest training sequence
STEPS = 2  # optimisation steps of step-counted trainers, and STaR outer loops
TOKEN_BUDGETS = ("max_new_tokens", "max_completion_length", "mmlu_max_new_tokens")


def shrink(params) -> dict:
    """The overrides that make `params` a CPU rehearsal: counts to ROWS, generation budgets to
    TOKENS, sequence length to LENGTH, steps and STaR outer loops to STEPS and evaluation to every
    step, device cpu;
    never below a field's own minimum, never above its value."""
    cuts = {}
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        if isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()):
            nested = {k: _cut_nested(v) for k, v in value.items()}  # per-method settings
            if nested != value:
                cuts[f.name] = nested
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            continue
        if f.name.startswith("n_"):
            cut = ROWS
        elif f.name in TOKEN_BUDGETS:
            cut = TOKENS
        elif f.name == "max_length":
            cut = LENGTH
        elif f.name in ("steps", "outer_loops"):
            cut = STEPS
        elif f.name == "prompts_per_step":  # no more prompts a step than there are
            cut = ROWS
        elif f.name == "batch_size":  # nor a larger batch (GRPO's counts completions)
            cut = ROWS * getattr(params, "num_generations", 1)
        elif f.name == "eval_every":
            cut = 1
        else:
            continue
        cuts[f.name] = min(value, max(cut, f.metadata.get("min") or 0))
    micro = getattr(params, "micro_batch_size", 0)
    if micro and cuts.get("batch_size", params.batch_size) % micro:
        cuts["micro_batch_size"] = 0  # the cut batch in one pass
    cuts = {k: v for k, v in cuts.items() if v != getattr(params, k)}
    if getattr(params, "device", "cpu") != "cpu":
        cuts["device"] = "cpu"
    return cuts


def _cut_nested(values: dict) -> dict:
    """A mapping of one method's settings cut by the same rule: steps and generation budgets."""
    out = dict(values)
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int):
            continue
        if key == "steps":
            out[key] = min(value, STEPS)
        elif key == "prompts_per_step":
            out[key] = min(value, ROWS)
        elif key in TOKEN_BUDGETS:
            out[key] = min(value, TOKENS)
    return out
