"""Loading a model or tokenizer by Hub id or local path, with dtype, device, LoRA and freezing."""

from __future__ import annotations

import re

import torch

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_device(device: str = "auto") -> str:
    """'auto' -> 'cuda' when a GPU is present, else 'cpu'."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but no CUDA device is available")
    return device


def load_tokenizer(name_or_path: str, trust_remote_code: bool = False, **kwargs):
    """The tokenizer, padding on the left (for batched generation) and with a pad token."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(name_or_path), trust_remote_code=trust_remote_code,
                                        **kwargs)
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def freeze(model, patterns: list[str]) -> int:
    """Stop gradients to every parameter whose name matches one of the regex `patterns`.

    Returns the number of parameters frozen.
    """
    frozen = 0
    for name, p in model.named_parameters():
        if any(re.search(pat, name) for pat in patterns):
            p.requires_grad_(False)
            frozen += p.numel()
    return frozen


def lora_config(r: int = 8, alpha: int = 16, dropout: float = 0.0,
                target_modules: list[str] | str = "all-linear"):
    """A peft LoRA config for a causal LM (adapters on the transformer blocks)."""
    from peft import LoraConfig

    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, task_type="CAUSAL_LM",
                      target_modules=target_modules)


def load_model(name_or_path: str, dtype: str = "float32", device: str = "auto",
               lora: dict | None = None, freeze_patterns: list[str] | None = None,
               trust_remote_code: bool = False, **kwargs):
    """A causal LM from a Hub id or a `save_pretrained` folder (safetensors only).

    `lora`: keyword arguments for `lora_config` to wrap the model with peft adapters.
    `freeze_patterns`: regexes of parameter names to freeze (applied before LoRA).
    """
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(
        str(name_or_path), dtype=DTYPES[dtype], use_safetensors=True,
        trust_remote_code=trust_remote_code, **kwargs)
    model.to(resolve_device(device))
    if freeze_patterns:
        freeze(model, freeze_patterns)
    if lora is not None:
        from peft import get_peft_model

        model = get_peft_model(model, lora_config(**lora))
    return model


def count_parameters(model) -> dict:
    """Total and trainable parameter counts."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"total": total, "trainable": trainable}
