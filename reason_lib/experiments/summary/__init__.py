"""Notebook 99, the summary of every run: `params` (its parameter dataclass and vocabulary)."""
