"""Notebook 06's metrics as the index reads them: its headline (each model's accuracy per item
set; the evaluation has no summary table, its report is the table)."""

from __future__ import annotations

TABLES: dict = {}


def headline(m: dict) -> str:
    return "; ".join(f"{label}: " + ", ".join(f"{name} {v['accuracy']['value']:.3f}"
                                              for name, v in by_set.items())
                     for label, by_set in m["models"].items())
