"""What every benchmark shares: the model (a path, or the tiny architecture built in memory), the
prompts and a best-of-n timer."""

from __future__ import annotations

import time

import torch

from reason_lib.data import gsm8k_prompt, gsm8k_splits


def device_and_model(path: str | None, dtype: str = "float32"):
    """(device, model, tokenizer): the model at `path` in `dtype`, or the cpu profile's tiny
    architecture (random weights: speed does not depend on them)."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if path:
        from reason_lib.models import load_model, load_tokenizer

        return device, load_model(path, dtype, device=device).eval(), load_tokenizer(path)
    from reason_lib.data import mmlu_splits
    from reason_lib.data.world import base_mixture, corpus
    from reason_lib.models.tiny import build_model, train_tokenizer

    gsm, mc = gsm8k_splits(256, 1, 1), mmlu_splits(64, 1, 1)
    tok = train_tokenizer(corpus(base_mixture(gsm["train"], mc["train"], 0.1), mc["train"]), 1024)
    model = build_model(tok, 192, 4, 4, 576).to(device, getattr(torch, dtype)).eval()
    return device, model, tok


def prompts_for(n: int, seed: int = 1) -> list:
    return [gsm8k_prompt(r) for r in gsm8k_splits(1, 1, n, seed=seed)["test"]]


def timed(fn, repeats: int) -> float:
    """Best wall time of `repeats` calls (seconds), synchronising CUDA."""
    best = float("inf")
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return best
