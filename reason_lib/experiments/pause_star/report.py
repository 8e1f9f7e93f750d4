"""Notebook 02's metrics as the summary and the reference results read them (`reason_lib.summary`;
`pipeline.summarise` writes them): one row per variant, and the index's headline."""

from __future__ import annotations

# The parameter listing this experiment's configurations, each seeded alone (`make claims`), under
# the names the claims use for them (`reason_lib.reports.CONFIGURATIONS`).
CONFIGURATIONS = "variants"


def last_loop(item: dict) -> dict | None:
    """The last STaR loop's greedy test result (`tested_loops` always holds it), or None."""
    tested = item.get("tested_loops") or {}
    return tested[max(tested, key=int)] if tested else None


def _variant(metrics: dict, item: dict) -> dict:
    """A variant with its warm-up's greedy test result and its last loop's beside it: the best
    loop by validation may be loop 0, the warm-up itself (a Δ of 0 by construction), so the last
    loop against the warm-up is reported too."""
    warmup = (metrics.get("start") or {}).get(
        f"{'pause' if item.get('pauses') else 'no_pause'}/{item.get('method')}")
    return {**item, "warmup": warmup, "last_loop": last_loop(item)}


# Per variant: its selected (best by validation) loop's greedy and sampled test accuracy and
# paired change against the warm-up, and its last loop's greedy accuracy beside the warm-up's
# (the claims compare those two over seeds).
TABLES = {"pause_star": {
    "columns": {"test accuracy (greedy)": "test.accuracy", "Δ greedy vs warm-up": "difference",
                "test accuracy (sampled)": "test_sampled.accuracy",
                "Δ sampled vs warm-up": "difference_sampled", "pauses / reply": "test.pauses",
                "warm-up (greedy)": "warmup.accuracy", "last loop (greedy)": "last_loop.accuracy"},
    "items": lambda m: {k: _variant(m, v) for k, v in m.get("variants", {}).items()}}}


def headline(m: dict) -> str:
    best = max(m["variants"].items(), key=lambda kv: kv[1]["test"]["accuracy"]["value"])
    return f"best {best[0]}: {best[1]['test']['accuracy']['value']:.3f}"
