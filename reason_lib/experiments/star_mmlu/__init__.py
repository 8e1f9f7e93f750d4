"""Notebook 03, STaR on multiple choice in English and Yoruba: `params` (its parameter dataclass
and vocabulary) and `pipeline` (what its notebook calls: training per configuration, metrics,
tables)."""
