"""reason_lib: data, models, rewards, training loops and evaluation for the reasoning experiments."""

__version__ = "0.1.0"
