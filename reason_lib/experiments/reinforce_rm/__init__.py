"""Notebook 05, REINFORCE with reward models ("Back to Basics"): `params` (its parameter dataclass
and vocabulary) and `pipeline` (what its notebook calls: training per configuration, metrics,
tables)."""
