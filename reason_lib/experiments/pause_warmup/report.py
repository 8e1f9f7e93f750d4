"""Notebook 01's metrics as the summary and the reference results read them (`reason_lib.summary`):
the warm-up grid's table, with the study's own numbers beside each configuration, and the index's
headline."""

from __future__ import annotations

from reason_lib import studies

# The study's published numbers shown beside ours (reason_lib/studies/pause_warmup_grid.csv).
STUDY_COLUMNS = {"study: test accuracy": "test_accuracy", "study: eval loss": "eval_loss",
                 "study: pauses / reply": "pauses", "study: pauses (correct)": "pauses_correct",
                 "study: pauses (incorrect)": "pauses_incorrect"}


def with_study(rows: list[dict], raw: bool) -> list[dict]:
    """The study's own numbers for the configuration of the same name (Mistral-7B on real GSM8K:
    a different scale, shown for the pattern across rows, not to be matched)."""
    study = studies.table("pause_warmup_grid")
    for row in rows:
        published = study.get(row["configuration"], {})
        for column, key in STUDY_COLUMNS.items():
            value = published.get(key)
            row[column] = value if raw or value is not None else "-"
    return rows


# `--claims` (`make claims`, the grid params/pause_warmup/grids/claims.yaml): test accuracy and
# pauses alone, what the claims compare across configurations (each seeded alone before it trains).
CLAIMS_CUT = {"before_eval": False, "eval_loss": False}

# Accuracy before and after the warm-up and its paired change, pauses per reply (all / correct /
# incorrect), eval loss; one row per configuration of the grid.
TABLES = {"pause_warmup": {
    "columns": {"before warm-up": "before", "test accuracy": "accuracy",
                "Δ vs before": "difference", "pauses / reply": "pauses",
                "pauses (correct)": "pauses_correct", "pauses (incorrect)": "pauses_incorrect",
                "eval loss": "eval_loss.loss"},
    "label": lambda run, _: run["params"].get("config_name", "?"),
    "finish": with_study}}


def headline(m: dict) -> str:
    return f"{m['config_name']}: accuracy {m['accuracy']['value']:.3f}"
