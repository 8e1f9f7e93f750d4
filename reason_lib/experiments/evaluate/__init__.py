"""Notebook 06, scoring any model on the benches: `params` (its parameter dataclass and
vocabulary)."""
