"""Notebook 99, the summary of every run: its parameters and vocabulary. No heavy imports: the
command line reads them before anything runs."""

from __future__ import annotations

from dataclasses import dataclass

from reason_lib.fields import Experiment, param


@dataclass
class SummaryParams:
    """Notebook 99: every experiment's table and headline figure from the runs under outputs/."""

    seed: int = param(0, "Unused (every run folder has one; the summary draws nothing at random).",
                      min=0)
    profiles: list[str] = param([], "Summarise only runs of these profiles; empty: all.")


EXPERIMENT = Experiment("99_summary.ipynb", SummaryParams)
