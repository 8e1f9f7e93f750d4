"""Rollout generation: reason_lib.generate (batched, KV cache — what STaR's rollouts call)
against `model.generate` called directly on the same batches, and against a
one-question-at-a-time loop.

    python benchmarks/rollouts.py [--model PATH] [--n 64] [--new-tokens 64] [--repeats 3]

Prints tokens per second for each side, then the two ratios (reason_lib / direct,
reason_lib / one-at-a-time) on the last line.
"""

from __future__ import annotations

import argparse

import torch

from benchmarks_common import device_and_model, prompts_for, timed
from reason_lib.generate import encode_prompts, generate, render_prompts


@torch.inference_mode()
def direct(model, tok, prompts, new_tokens, batch_size):
    """The reference: tokenizer + model.generate on the same batches, nothing else."""
    texts = render_prompts(tok, prompts)
    for start in range(0, len(texts), batch_size):
        enc = encode_prompts(tok, texts[start:start + batch_size], model.device)
        model.generate(**enc, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                       do_sample=False, pad_token_id=tok.pad_token_id)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None)
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    device, model, tok = device_and_model(args.model)
    prompts = prompts_for(args.n)
    # fixed length on both sides (min_new_tokens), so tokens/s compare like with like
    common = dict(max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens, progress=False)
    tokens = args.n * args.new_tokens
    generate(model, tok, prompts[:4], **common)  # warm-up
    t_lib = timed(lambda: generate(model, tok, prompts, batch_size=args.n, **common), args.repeats)
    t_direct = timed(lambda: direct(model, tok, prompts, args.new_tokens, args.n), args.repeats)
    t_loop = timed(lambda: [generate(model, tok, [p], **common) for p in prompts], 1)
    print(f"device {device}; {args.n} prompts x {args.new_tokens} new tokens")
    for name, t in [("reason_lib.generate", t_lib), ("model.generate", t_direct),
                    ("one at a time", t_loop)]:
        print(f"{name:>20}: {tokens / t:9.1f} tokens/s")
    result = {"device": device, "tokens_per_s": {"reason_lib": tokens / t_lib,
                                                 "direct": tokens / t_direct,
                                                 "one_at_a_time": tokens / t_loop},
              "ratio_vs_direct": t_direct / t_lib, "ratio_vs_one_at_a_time": t_loop / t_lib}
    print(f"ratio vs direct {result['ratio_vs_direct']:.3f}; "
          f"ratio vs one-at-a-time {result['ratio_vs_one_at_a_time']:.1f}")
    return result


if __name__ == "__main__":
    main()
