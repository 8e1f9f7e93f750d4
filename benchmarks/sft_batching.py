"""Supervised fine-tuning of the cpu profile's tiny model on the base model's real training mixture
(GSM8K-format problems and multiple choice, 132 tokens on average, 236 at most): batches drawn at
random (each padded to its longest row: about 1.5 tokens computed per real one) against batches
grouped by length (transformers' `LengthGroupedSampler`: random groups of 50 batches, each group
sorted by length). Same model, data, batch size and steps through `reason_lib.train.sft`; prints
the padding of each, seconds per step, and on its last line the speed-up (grouped / random)."""

from __future__ import annotations

import argparse
import copy
import tempfile
import time

import torch

from reason_lib.data import gsm8k_splits, mmlu_splits
from reason_lib.data.world import base_mixture, corpus
from reason_lib.models.tiny import build_model, train_tokenizer
from reason_lib.train.sft import length_grouped, sft


def padding(tokenizer, rows, batch_size: int, grouped: bool, seed: int = 0) -> float:
    """Tokens computed per real token over one epoch of batches (random, or length-grouped)."""
    texts = [tokenizer.apply_chat_template(r["prompt"] + r["completion"], tokenize=False)
             for r in rows]
    lengths = [len(ids) for ids in tokenizer(texts).input_ids]
    order = (length_grouped(lengths, batch_size, seed) if grouped
             else torch.randperm(len(rows), generator=torch.Generator().manual_seed(seed)).tolist())
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    return sum(max(lengths[i] for i in b) * len(b) for b in batches) / sum(lengths)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=40, help="optimiser steps timed per side")
    ap.add_argument("--batch-size", type=int, default=16)
    a = ap.parse_args()
    gsm, mc = gsm8k_splits(4000, 1, 1), mmlu_splits(5000, 1, 1)
    rows = base_mixture(gsm["train"], mc["train"], 0.03)
    tok = train_tokenizer(corpus(rows, mc["train"]), 1024)
    start = build_model(tok, 192, 4, 4, 576, max_position=512)
    seconds = {}
    for name, strategy in [("random", "random"), ("grouped", "group_by_length")]:
        pad = padding(tok, rows, a.batch_size, strategy != "random")
        with tempfile.TemporaryDirectory() as out:
            t = time.perf_counter()
            sft(copy.deepcopy(start), tok, rows, out, batch_size=a.batch_size, max_length=256,
                learning_rate=2e-3, max_steps=a.steps, save_strategy="no", disable_tqdm=True,
                train_sampling_strategy=strategy)
            seconds[name] = (time.perf_counter() - t) / a.steps
        print(f"{name:8s} padding {pad:.3f} tokens per real token, {seconds[name]:.3f} s per step "
              f"({torch.get_num_threads()} threads)")
    print(f"speed-up grouped/random: {seconds['random'] / seconds['grouped']:.2f}x")


if __name__ == "__main__":
    main()
