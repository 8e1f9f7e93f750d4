"""Batched generation with the KV cache: greedy or sampled, prompts as chat messages or text."""

from __future__ import annotations

import torch
from tqdm.auto import tqdm


def render_prompts(tokenizer, prompts) -> list[str]:
    """Chat-message prompts through the tokenizer's chat template (with the assistant header);
    plain strings pass through unchanged."""
    return [p if isinstance(p, str) else
            tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True)
            for p in prompts]


@torch.inference_mode()
def generate(model, tokenizer, prompts, max_new_tokens: int = 128, temperature: float = 0.0,
             top_p: float = 1.0, batch_size: int = 32, repetition_penalty: float = 1.0,
             num_return_sequences: int = 1, desc: str = "generating", progress: bool = True,
             **generate_kwargs) -> list[str]:
    """Completions for `prompts` (temperature 0 is greedy), in prompt order.

    With `num_return_sequences=k`, returns k completions per prompt, grouped by prompt.
    Prompts are sorted by length so each batch pads little; the result is put back in order.
    """
    texts = render_prompts(tokenizer, prompts)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out: list[list[str] | None] = [None] * len(texts)
    device = next(model.parameters()).device
    sampling = temperature > 0
    kwargs = dict(max_new_tokens=max_new_tokens, do_sample=sampling,
                  repetition_penalty=repetition_penalty, num_return_sequences=num_return_sequences,
                  pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                  use_cache=True, **generate_kwargs)
    if sampling:
        kwargs.update(temperature=temperature, top_p=top_p, top_k=0)
    was_training = model.training
    model.eval()
    batches = range(0, len(order), batch_size)
    for start in tqdm(batches, desc=desc, disable=not progress or len(batches) < 2):
        idx = order[start:start + batch_size]
        enc = tokenizer([texts[i] for i in idx], return_tensors="pt", padding=True,
                        add_special_tokens=False, padding_side="left").to(device)
        ids = model.generate(**enc, **kwargs)[:, enc["input_ids"].shape[1]:]
        decoded = tokenizer.batch_decode(ids, skip_special_tokens=True)
        for j, i in enumerate(idx):
            out[i] = decoded[j * num_return_sequences:(j + 1) * num_return_sequences]
    model.train(was_training)
    if num_return_sequences == 1:
        return [o[0] for o in out]
    return [c for o in out for c in o]
