"""Notebook 04, GRPO with a perplexity reward: `params` (its parameter dataclass and vocabulary)
and `pipeline` (what its notebook calls: training per configuration, metrics, tables)."""
