"""Model loading, the tiny offline model, and (later) pause LMs and reward models."""

from reason_lib.models.load import count_parameters, freeze, load_model, load_tokenizer, resolve_device

__all__ = ["count_parameters", "freeze", "load_model", "load_tokenizer", "resolve_device"]
