"""Notebook 03's metrics as the summary and the reference results read them (`reason_lib.summary`;
`pipeline` writes them): one row per STaR run, and the index's headline."""

from __future__ import annotations

from reason_lib.experiments.pause_star.report import ROLLOUT_COLUMNS, last_loop, rollout_loops

# The parameter listing this experiment's configurations, each seeded alone (`make claims`), under
# the names the claims use for them (`reason_lib.reports.CONFIGURATIONS`).
CONFIGURATIONS = "runs"
# `--claims` tests a run's selected loop and its last alone (every claim reads those two and the
# start; the study's other best loops are a full run's, `tested_best`).
CLAIMS_CUT = {"tested_best": 1}


def _run(v: dict, before: dict) -> dict:
    """A run with the start model's test result in its evaluation language (`before`, which loop
    0 of `tested_loops` repeats when loop 0 is tested) and its last loop's, and its rollouts'
    accuracy in the first and last loop (`rollout_loops`)."""
    start = before.get(v.get("eval_lang")) or (v.get("tested_loops") or {}).get("0")
    return {**v, "start": start, "last_loop": last_loop(v), **rollout_loops(v)}


# Per run: the selected loop's test accuracy and paired change against the start model, the
# last loop's accuracy beside the start model's, and the rollouts' accuracy on the training
# questions in the first and the last loop (B-control-mechanism).
TABLES = {"star_mmlu": {
    "columns": {"test accuracy (eval language)": "test_eval.accuracy",
                "Δ vs start": "difference", "English": "test.en.accuracy",
                "Yoruba": "test.yo.accuracy", "start (eval language)": "start.accuracy",
                "last loop (eval language)": "last_loop.accuracy", **ROLLOUT_COLUMNS},
    "items": lambda m: {k: _run(v, m.get("before") or {}) for k, v in m.get("runs", {}).items()}}}


def headline(m: dict) -> str:
    return ", ".join(f"{k} {v['test_eval']['accuracy']['value']:.3f}" for k, v in m["runs"].items())
