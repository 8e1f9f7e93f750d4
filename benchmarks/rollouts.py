"""Rollout generation: reason_lib.generate (batched, KV cache) against `model.generate` called
directly on the same batches, and against a one-question-at-a-time loop.

    python benchmarks/rollouts.py [--model PATH] [--n 64] [--new-tokens 64] [--repeats 3]

Without --model, a tiny model is built in memory. Prints tokens per second for each side, then the
two ratios (reason_lib / direct, reason_lib / one-at-a-time) on the last line.
"""

from __future__ import annotations

import argparse
import time

import torch

from reason_lib.data import gsm8k_prompt, gsm8k_splits
from reason_lib.generate import generate, render_prompts


def _model(path: str | None):
    if path:
        from reason_lib.models import load_model, load_tokenizer

        return load_model(path), load_tokenizer(path)
    from reason_lib.data import mmlu_splits
    from reason_lib.data.world import base_mixture, corpus
    from reason_lib.models.tiny import build_model, train_tokenizer

    gsm, mc = gsm8k_splits(256, 1, 1), mmlu_splits(64, 1, 1)
    tok = train_tokenizer(corpus(base_mixture(gsm["train"], mc["train"], 0.1), mc["train"]), 1024)
    return build_model(tok, 192, 4, 4, 576), tok


@torch.inference_mode()
def direct(model, tok, prompts, new_tokens, batch_size):
    """The reference: tokenizer + model.generate on the same batches, nothing else."""
    texts = render_prompts(tok, prompts)
    for start in range(0, len(texts), batch_size):
        enc = tok(texts[start:start + batch_size], return_tensors="pt", padding=True,
                  add_special_tokens=False, padding_side="left")
        model.generate(**enc, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                       do_sample=False, pad_token_id=tok.pad_token_id)


def timed(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None)
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    model, tok = _model(args.model)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device).eval()
    prompts = [gsm8k_prompt(r) for r in gsm8k_splits(1, 1, args.n, seed=1)["test"]]
    # fixed length on both sides (min_new_tokens), so tokens/s compare like with like
    common = dict(max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens, progress=False)
    tokens = args.n * args.new_tokens
    t_lib = timed(lambda: generate(model, tok, prompts, batch_size=args.n, **common), args.repeats)
    t_direct = timed(lambda: direct(model, tok, prompts, args.new_tokens, args.n), args.repeats)
    t_loop = timed(lambda: [generate(model, tok, [p], **common) for p in prompts], 1)
    print(f"device {device}; {args.n} prompts x {args.new_tokens} new tokens")
    for name, t in [("reason_lib.generate", t_lib), ("model.generate", t_direct),
                    ("one at a time", t_loop)]:
        print(f"{name:>20}: {tokens / t:9.1f} tokens/s")
    print(f"ratio vs direct {t_direct / t_lib:.3f}; ratio vs one-at-a-time {t_loop / t_lib:.1f}")


if __name__ == "__main__":
    main()
