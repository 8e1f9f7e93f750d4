"""Loading a model or tokenizer by Hub id or local path, with dtype, device, LoRA and freezing."""

from __future__ import annotations

import contextlib
import re

import torch

from reason_lib.distributed import local_rank, world_size
from reason_lib.models.delta import apply_link, lineage

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_device(device: str = "auto") -> str:
    """'auto' -> 'cuda' when a GPU is present, else 'cpu'; under a launcher with several
    processes (`reason_lib.distributed`) each rank's own GPU, `cuda:<local rank>`."""
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but no CUDA device is available")
    if device in ("auto", "cuda") and torch.cuda.is_available():
        return f"cuda:{local_rank()}" if world_size() > 1 else "cuda"
    return "cpu" if device == "auto" else device


def placement(device: str = "auto") -> dict:
    """`from_pretrained`'s device argument: on a GPU the weights load straight onto this rank's
    device (eight ranks on a node would otherwise each hold the whole model in host memory
    before `.to`, 8 x 15 GB at once for a 7B model); on the CPU nothing (loaded where it is)."""
    where = resolve_device(device)
    return {"device_map": {"": where}} if where.startswith("cuda") else {}


def float32_masters(model):
    """Trainable parameters of a bfloat16 (float16) model as float32: an update smaller than 2^-8
    of a weight is rounded away in bfloat16, so what trains keeps full precision while the frozen
    rest stays in the low dtype. Forward passes then mix dtypes: run them in `mixed_precision`
    (a Trainer's bf16 autocast does in training). Returns the model."""
    for p in model.parameters():
        if p.requires_grad and p.is_floating_point() and p.dtype != torch.float32:
            p.data = p.data.float()
    return model


def mixed_precision(model):
    """An autocast context to the model's low dtype when its parameters mix float32 with bfloat16
    or float16 (`float32_masters`), so every matmul sees one dtype; else no context at all."""
    dtypes = {p.dtype for p in model.parameters() if p.is_floating_point()}
    low = next((d for d in (torch.bfloat16, torch.float16) if d in dtypes), None)
    if low is None or torch.float32 not in dtypes:
        return contextlib.nullcontext()
    return torch.autocast(next(model.parameters()).device.type, dtype=low)


# A base model (e.g. Mistral-7B-v0.1) has no chat template: prompts take the plain GSM8K-paper
# format, the system text (the instruction) first, then "Question: ...", the reply after "Answer:".
PLAIN_CHAT_TEMPLATE = (
    "{{- bos_token if bos_token else '' -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}{{ message['content'] ~ '\\n\\n' }}"
    "{%- elif message['role'] == 'user' -%}{{ 'Question: ' ~ message['content'] ~ '\\n' }}"
    "{%- else -%}{{ 'Answer: ' ~ message['content'] ~ eos_token ~ '\\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ 'Answer:' }}{%- endif -%}"
)
# Put before a template that refuses a system turn (Gemma, Mistral-Instruct v0.1-v0.3): a leading
# system message is folded into the first user message, as those models' cards advise.
FOLD_SYSTEM = (
    "{%- if messages and messages[0]['role'] == 'system' -%}"
    "{%- if messages | length > 1 and messages[1]['role'] == 'user' -%}"
    "{%- set messages = [{'role': 'user', 'content': messages[0]['content'] ~ '\n\n' ~ "
    "messages[1]['content']}] + messages[2:] -%}"
    "{%- else -%}"
    "{%- set messages = [{'role': 'user', 'content': messages[0]['content']}] + messages[1:] -%}"
    "{%- endif -%}"
    "{%- endif -%}"
)
_PROBE = [{"role": "system", "content": "<probe: system>"}, {"role": "user", "content": "<probe: user>"}]


def _renders_system(tok) -> bool:
    from jinja2 import TemplateError

    try:
        text = tok.apply_chat_template(_PROBE, tokenize=False, add_generation_prompt=True)
    except TemplateError:  # raise_exception('System role not supported') and the like
        return False
    return _PROBE[0]["content"] in text and _PROBE[1]["content"] in text


def adapt_chat_template(tok, name: str = "tokenizer") -> str:
    """Make every prompt this library builds (a system instruction, then the user turn) render:
    a tokenizer without a chat template gets PLAIN_CHAT_TEMPLATE, one whose template refuses or
    drops a system turn gets FOLD_SYSTEM in front of it. Returns what was done ('' if nothing)."""
    if isinstance(tok.chat_template, dict):
        return ""  # several named templates: the caller picks one
    if not tok.chat_template:
        tok.chat_template = PLAIN_CHAT_TEMPLATE
        return f"{name}: no chat template (a base model): plain 'Question: ... Answer:' prompts"
    if _renders_system(tok):
        return ""
    tok.chat_template = FOLD_SYSTEM + tok.chat_template
    if not _renders_system(tok):
        raise ValueError(f"{name}: its chat template renders neither a system turn nor one folded "
                         "into the first user turn")
    return f"{name}: its chat template refuses a system turn: the system text opens the user turn"


def load_tokenizer(name_or_path: str, trust_remote_code: bool = False, **kwargs):
    """The tokenizer, padding on the left (for batched generation), with a pad token and a chat
    template that renders a system turn (`adapt_chat_template`; what it changed is printed)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(name_or_path), trust_remote_code=trust_remote_code,
                                        **kwargs)
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    note = adapt_chat_template(tok, str(name_or_path))
    if note:
        print(note)
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
               trust_remote_code: bool = False, merge: bool = False, **kwargs):
    """A causal LM from a Hub id, a `save_pretrained` folder (safetensors only) or a delta
    checkpoint (`reason_lib.models.delta`: its root loaded, then each link applied on the device).

    A run's kept LoRA policy (`reason_lib.models.keep`) comes back as the peft model the run
    evaluated, unless `merge` (plain weights; what `make export` writes).
    `lora`: keyword arguments for `lora_config` to wrap the model with peft adapters.
    `freeze_patterns`: regexes of parameter names to freeze (applied before LoRA).
    """
    from transformers import AutoModelForCausalLM

    root, links = lineage(name_or_path)
    model = AutoModelForCausalLM.from_pretrained(
        root, dtype=DTYPES[dtype], use_safetensors=True,
        trust_remote_code=trust_remote_code, **{**placement(device), **kwargs})
    model.to(resolve_device(device))
    for k, link in enumerate(links):
        model = apply_link(model, link, last=k == len(links) - 1 and not merge and lora is None)
    if links:  # what it was loaded from, as for any from_pretrained model (a delta's parent)
        model.name_or_path = str(name_or_path)
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
