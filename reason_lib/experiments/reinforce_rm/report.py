"""Notebook 05's metrics as the summary and the reference results read them (`reason_lib.summary`;
`pipeline` writes them): one table per reward-model level, one row per policy (SFT and each
method), and the index's headline."""

from __future__ import annotations

from reason_lib.experiments.reinforce_rm.params import method_values

# The parameter listing this experiment's configurations, each seeded alone (`make claims`), under
# the names the claims use for them (`reason_lib.reports.CONFIGURATIONS`).
CONFIGURATIONS = "methods"


def claims_cut(params) -> dict:
    """`--claims`: each policy evaluated once, at its last step, not every `eval_every` steps (the
    over-optimisation curves, which no claim reads; every claim compares final policies). The
    training draws each step's samples from (seed, step), so it does not change."""
    return {"eval_every": max(int(method_values(params, m)["steps"]) for m in params.methods)}


CLAIMS_CUT = claims_cut


def _level(level: int) -> dict:
    return {"select": lambda run: run["params"].get("level") == level,
            "columns": {"RM score": "reward", "gold score": "gold", "KL to SFT": "kl",
                        "repeated 3-grams": "repeated_ngrams"},
            "items": lambda m: m.get("policies", {}),
            "run_columns": {"RM accuracy": "reward_model.accuracy"}}


TABLES = {"reinforce_rm_level1": _level(1), "reinforce_rm_level2": _level(2)}


def table_of(params) -> str:
    """The table a run fills: one per reward-model level."""
    return f"reinforce_rm_level{params.level}"


def headline(m: dict) -> str:
    return f"level {m['level']}: " + ", ".join(
        f"{k} RM {v['reward']['value']:.2f}" for k, v in m["policies"].items())
