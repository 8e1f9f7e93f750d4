"""Notebook 02's metrics as the summary and the reference results read them (`reason_lib.summary`;
`pipeline.summarise` writes them): one row per variant, and the index's headline."""

from __future__ import annotations

from reason_lib.stats import counted

# The parameter listing this experiment's configurations, each seeded alone (`make claims`), under
# the names the claims use for them (`reason_lib.reports.CONFIGURATIONS`).
CONFIGURATIONS = "variants"
# `--claims` tests a run's selected loop and its last alone (every claim reads those two and the
# start; the study's other best loops are a full run's, `tested_best`), and greedily alone (every
# claim reads greedy accuracy; each test is seeded alone, `sampled_tests`).
CLAIMS_CUT = {"tested_best": 1, "sampled_tests": False}


def last_loop(item: dict) -> dict | None:
    """The last STaR loop's greedy test result (`tested_loops` always holds it), or None."""
    tested = item.get("tested_loops") or {}
    return tested[max(tested, key=int)] if tested else None


def _rollouts(entry: dict) -> dict | None:
    """A loop's rollout accuracy on its training rows as a proportion {value, low, high, k, n}
    (runs before it was recorded: rebuilt from `kept` and `train_sample_accuracy`)."""
    if "rollouts" in entry:
        return entry["rollouts"]
    share, k = entry.get("train_sample_accuracy"), entry.get("kept")
    if not share or k is None:
        return None
    return counted(k, round(k / share))


def rollout_loops(item: dict) -> dict:
    """The mechanism STaR relies on, on the rows it trains on: the accuracy of the first loop's
    rollouts (drawn from the starting model) and of the last loop's (drawn from the model the loops
    before it fine-tuned on their correct ones). A run of one loop has no last-loop rollouts of
    its own (None), rather than the first loop's again (a difference of 0 by construction)."""
    loops = [h for h in item.get("history") or [] if h.get("loop", 0) >= 1]
    return {"first_rollouts": _rollouts(loops[0]) if loops else None,
            "last_rollouts": _rollouts(loops[-1]) if len(loops) > 1 else None}


def _variant(metrics: dict, item: dict) -> dict:
    """A variant with its warm-up's greedy test result and its last loop's beside it: the best
    loop by validation may be loop 0, the warm-up itself (a Δ of 0 by construction), so the last
    loop against the warm-up is reported too; and its rollouts' accuracy, first and last loop."""
    warmup = (metrics.get("start") or {}).get(
        f"{'pause' if item.get('pauses') else 'no_pause'}/{item.get('method')}")
    return {**item, "warmup": warmup, "last_loop": last_loop(item), **rollout_loops(item)}


# Per variant: its selected (best by validation) loop's greedy and sampled test accuracy and
# paired change against the warm-up, its last loop's greedy accuracy beside the warm-up's (the
# claims compare those two over seeds), and its rollouts' accuracy on the training problems in the
# first and the last loop (the positive control of the mechanism, A-control-mechanism).
ROLLOUT_COLUMNS = {"rollout accuracy (loop 1)": "first_rollouts",
                   "rollout accuracy (last loop)": "last_rollouts"}
TABLES = {"pause_star": {
    "columns": {"test accuracy (greedy)": "test.accuracy", "Δ greedy vs warm-up": "difference",
                "test accuracy (sampled)": "test_sampled.accuracy",
                "Δ sampled vs warm-up": "difference_sampled", "pauses / reply": "test.pauses",
                "warm-up (greedy)": "warmup.accuracy", "last loop (greedy)": "last_loop.accuracy",
                **ROLLOUT_COLUMNS},
    "items": lambda m: {k: _variant(m, v) for k, v in m.get("variants", {}).items()}}}


def headline(m: dict) -> str:
    best = max(m["variants"].items(), key=lambda kv: kv[1]["test"]["accuracy"]["value"])
    return f"best {best[0]}: {best[1]['test']['accuracy']['value']:.3f}"
