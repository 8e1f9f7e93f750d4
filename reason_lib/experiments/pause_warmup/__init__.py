"""Notebook 01, the pause warm-up and its ablation grid: `params` (its parameter dataclass and
vocabulary)."""
