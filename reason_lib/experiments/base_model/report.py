"""Notebook 00's metrics as the summary and the reference results read them (`reason_lib.summary`):
its table (one row per base model, each set's accuracy; metrics.json holds `<set name>.accuracy`)
and the index's headline."""

from __future__ import annotations

# `--claims` scores the GSM8K-format sets alone (the reading claim compares them; no claim reads
# the multiple-choice columns, and STaR on multiple choice scores its start model itself).
CLAIMS_CUT = {"offline_sets": ["gsm8k_format", "paraphrase"]}

TABLES = {"base_model": {
    "columns": {"GSM8K-format": "GSM8K-format.accuracy",
                "GSM8K-format paraphrase": "GSM8K-format paraphrase.accuracy",
                "MC English": "MC English.accuracy", "MC Yoruba": "MC Yoruba.accuracy",
                "GSM8K (real)": "GSM8K (real).accuracy",
                "MMLU (letter log-prob)": "MMLU (real, letter log-prob).accuracy",
                "MMLU (generated)": "MMLU (real, generated).accuracy"},
    "label": lambda run, _: run["params"].get("init_model") or "tiny (offline)"}}


def headline(m: dict) -> str:
    return f"GSM8K-format {m['GSM8K-format']['accuracy']['value']:.3f}"
