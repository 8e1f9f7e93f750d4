"""Notebook 04's metrics as the summary and the reference results read them (`reason_lib.summary`;
`pipeline` writes them): one row per reward type (the starting policy's row has no differences),
and the index's headline."""

from __future__ import annotations

# The parameter listing this experiment's configurations, each seeded alone (`make claims`), under
# the names the claims use for them (`reason_lib.reports.CONFIGURATIONS`).
CONFIGURATIONS = "reward_types"


def claims_cut(params) -> dict:
    """`--claims`: the curve subset scored at the start and the last step alone, not every
    `eval_every` steps (no claim reads the curves; the greedy scoring draws nothing, so training
    does not change)."""
    return {"eval_every": params.steps}


CLAIMS_CUT = claims_cut


def policies(m: dict) -> dict:
    """{name: metrics} of the starting policy and each reward type's trained policy."""
    return {k: v for k, v in m.items() if isinstance(v, dict) and "gold_perplexity" in v}


TABLES = {"perplexity_grpo": {
    "columns": {"accuracy": "accuracy", "gold-answer perplexity": "gold_perplexity",
                "Δ accuracy": "accuracy_difference", "Δ gold NLL": "gold_nll_difference"},
    "items": policies}}


def headline(m: dict) -> str:
    return ", ".join(f"{k} acc {v['accuracy']['value']:.3f}" for k, v in policies(m).items())
