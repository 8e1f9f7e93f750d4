"""Notebook 00, the base model every experiment starts from: `params` (its parameter dataclass and
vocabulary)."""
