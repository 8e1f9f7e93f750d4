"""Notebook 02, STaR and textual reward conditioning of pause LMs: `params` (its parameter
dataclass and vocabulary) and `pipeline` (what its notebook calls: training per configuration,
metrics, tables)."""
