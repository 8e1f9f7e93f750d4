"""Training a `PauseLM` on prompt-reply rows: its combined LM + pause-head loss, hand-written
(the loss is what the pause experiments study; TRL's trainers assume a plain causal LM)."""

from __future__ import annotations

import math
import random

import torch
from tqdm.auto import tqdm

from reason_lib import distributed
from reason_lib.generate import render_prompts
from reason_lib.train.trainers import rank_batch

def encode(tokenizer, rows: list[dict], max_length: int = 512) -> list[tuple[list[int], list[int]]]:
    """(ids, loss mask) per row: the chat-rendered prompt (mask 0), then the reply and the eos
    token (mask 1). Rows: `prompt` (messages, or rendered text) and `completion` (text, pauses
    as `<|pause|>`).

    Prompt and reply are tokenized as one string, as inference tokenizes a prompt and the text a
    reply is conditioned on (`conditioning_prefix`, e.g. "[reward: 1]"): a SentencePiece
    tokenizer (Llama-2, Mistral) gives a reply tokenized alone an extra leading '▁', so the
    conditioning the model trained on was never the one it saw at test time. The mask starts
    where the prompt's own tokens end (where a token spans the boundary, after the tokens the
    two share). Byte-level tokenizers (cpu, smol) give the same ids either way."""
    prompts = render_prompts(tokenizer, [r["prompt"] for r in rows])
    out = []
    for prompt, row in zip(prompts, rows):
        p = tokenizer(prompt, add_special_tokens=False).input_ids
        ids = tokenizer(prompt + row["completion"], add_special_tokens=False).input_ids
        n = next((i for i, (a, b) in enumerate(zip(p, ids)) if a != b), min(len(p), len(ids)))
        ids = ids + [tokenizer.eos_token_id]
        out.append((ids[:max_length], ([0] * n + [1] * (len(ids) - n))[:max_length]))
    return out


def _batch(items, pad_id: int, device):
    """Right-padded tensors (ids, attention mask, loss mask)."""
    width = max(len(ids) for ids, _ in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    attn = torch.zeros_like(ids)
    loss = torch.zeros_like(ids)
    for i, (x, m) in enumerate(items):
        ids[i, :len(x)], attn[i, :len(x)], loss[i, :len(x)] = torch.tensor(x), 1, torch.tensor(m)
    return ids.to(device), attn.to(device), loss.to(device)


def _backward(trained, accelerator, batch: list, micro: int, pad_id: int, device) -> dict:
    """Forward and backward of this process's share of one step's rows, `micro` at a time, the
    gradients accumulated; {loss, lm_loss, pause_loss} of the whole step (over processes).

    A step short of batch_size rows (a few STaR rows) is split over the processes as evenly as it
    goes, and a process left with none still takes its part in DDP's gradient average, with
    weight 0. Each part is weighted by its share of the step's rows, times the process count (DDP
    averages): one process taking the step in the same parts computes the same."""
    n_proc = distributed.world_size()
    per = -(-len(batch) // n_proc)
    mine = batch[distributed.rank() * per:(distributed.rank() + 1) * per]
    parts = [mine[i:i + micro] for i in range(0, len(mine), micro)] or [batch[:1]]
    totals = {}
    for part in distributed.micro_steps(parts, trained, accelerator):
        share = len(part) / len(batch) if mine else 0.0
        weight = share * n_proc
        out = trained(*_batch(part, pad_id, device))
        accelerator.backward(out["loss"] if weight == 1.0 else out["loss"] * weight)
        for k, v in out.items():
            totals[k] = totals.get(k, 0.0) + v.item() * share
    if n_proc > 1:
        totals = {k: sum(distributed.gather([v])) for k, v in totals.items()}
    return totals


def train_pause_lm(model, tokenizer, rows: list[dict], epochs: float = 1.0, batch_size: int = 16,
                   learning_rate: float = 1e-4, max_length: int = 512, warmup: float = 0.05,
                   max_grad_norm: float = 1.0, seed: int = 0, run=None, log_prefix: str = "",
                   logging_steps: int = 10, progress: bool = True, micro_batch_size: int = 0,
                   gradient_checkpointing: bool = False) -> list[dict]:
    """AdamW with warm-up and cosine decay on the trainable parameters; returns the log history
    (loss, lm_loss, pause_loss every `logging_steps` steps), also written to `run`.

    Each step's `batch_size` rows go through forward and backward `micro_batch_size` at a time
    (0: all at once), each part's loss weighted by its share of the rows, the gradients summed;
    `gradient_checkpointing` recomputes the decoder's activations in the backward pass. Through
    accelerate's `Accelerator`: with several processes each takes its equal slice of every
    step's rows, DDP averaging the gradients, the logged losses averaged over processes."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("nothing to train: every part of the pause LM is frozen")
    _, micro = rank_batch(batch_size, micro_batch_size or batch_size)
    if gradient_checkpointing:
        model.causal.gradient_checkpointing_enable({"use_reentrant": False})
    data = encode(tokenizer, rows, max_length)
    rng = random.Random(seed)
    steps_per_epoch = math.ceil(len(data) / batch_size)
    total = max(1, round(epochs * steps_per_epoch))
    optimizer = torch.optim.AdamW(params, lr=learning_rate, weight_decay=0.0)
    accelerator = distributed.accelerator()
    trained, optimizer = accelerator.prepare(model, optimizer)  # DDP-wrapped with several
    warm = max(1, round(warmup * total))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(
        (s + 1) / warm, 0.5 * (1 + math.cos(math.pi * min(1.0, (s - warm) / max(1, total - warm))))))
    model.train()
    history, window = [], []
    order: list[int] = []
    for step in tqdm(range(total), desc=f"{log_prefix}pause LM training",
                     disable=not progress or not distributed.is_main()):
        if len(order) < batch_size:
            order += rng.sample(range(len(data)), len(data))
        batch, order = [data[i] for i in order[:batch_size]], order[batch_size:]
        optimizer.zero_grad(set_to_none=True)
        totals = _backward(trained, accelerator, batch, micro, tokenizer.pad_token_id, model.device)
        accelerator.clip_grad_norm_(params, max_grad_norm)
        optimizer.step()
        schedule.step()
        window.append(totals)
        if (step + 1) % logging_steps == 0 or step + 1 == total:
            entry = {k: sum(w[k] for w in window) / len(window) for k in window[0]}
            entry["learning_rate"] = schedule.get_last_lr()[0]
            history.append({"step": step + 1, **entry})
            if run is not None:
                run.log(step + 1, **{f"{log_prefix}{k}": v for k, v in entry.items()})
            window = []
    model.eval()
    return history


@torch.no_grad()
def eval_loss(model, tokenizer, rows: list[dict], batch_size: int = 32,
              max_length: int = 512) -> dict:
    """Mean loss, LM loss and pause loss over `rows` (batch means averaged by batch size)."""
    data = encode(tokenizer, rows, max_length)
    model.eval()
    sums, n = {}, 0
    for start in range(0, len(data), batch_size):
        items = data[start:start + batch_size]
        out = model.losses(*_batch(items, tokenizer.pad_token_id, model.device))
        for k, v in out.items():
            sums[k] = sums.get(k, 0.0) + v.item() * len(items)
        n += len(items)
    return {k: v / n for k, v in sums.items()}
