"""Rollout generation: reason_lib.generate (batched, KV cache — what STaR's rollouts call)
against `model.generate` called directly on the same batches, and against a
one-question-at-a-time loop, all in one dtype.

    python benchmarks/rollouts.py [--model PATH] [--dtype float32] [--n 64] [--new-tokens 64]
                                  [--temperature 0] [--repeats 3] [--one-at-a-time N]

Prints tokens per second for each side, then the two ratios (reason_lib / direct,
reason_lib / one-at-a-time) on the last line. Sampled (`--temperature` > 0) or greedy, every side
decodes exactly --new-tokens tokens per reply. The one-at-a-time loop runs the first N prompts
(default all): on a real model one reply at a time is slow, and its tokens/s do not depend on N.
"""

from __future__ import annotations

import argparse

import torch

from benchmarks_common import device_and_model, prompts_for, timed
from reason_lib.generate import encode_prompts, generate, render_prompts


def sampling(temperature: float) -> dict:
    """`generate` keyword arguments of reason_lib's sampling (whole distribution) or greedy."""
    return dict(do_sample=True, temperature=temperature, top_k=0) if temperature > 0 else \
        dict(do_sample=False)


@torch.inference_mode()
def direct(model, tok, prompts, new_tokens, batch_size, temperature=0.0):
    """The reference: tokenizer + model.generate on the same batches, nothing else."""
    texts = render_prompts(tok, prompts)
    for start in range(0, len(texts), batch_size):
        enc = encode_prompts(tok, texts[start:start + batch_size], model.device)
        model.generate(**enc, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                       pad_token_id=tok.pad_token_id, **sampling(temperature))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--temperature", type=float, default=0.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--one-at-a-time", type=int, default=0, help="prompts of the one-at-a-time "
                    "loop (0: all)")
    args = ap.parse_args(argv)
    device, model, tok = device_and_model(args.model, args.dtype)
    prompts = prompts_for(args.n)
    single = prompts[:args.one_at_a_time or args.n]
    # fixed length on every side (min_new_tokens), so tokens/s compare like with like
    common = dict(max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens, progress=False,
                  temperature=args.temperature)
    torch.manual_seed(0)
    generate(model, tok, prompts[:4], **common)  # warm-up
    t_lib = timed(lambda: generate(model, tok, prompts, batch_size=args.n, **common), args.repeats)
    t_direct = timed(lambda: direct(model, tok, prompts, args.new_tokens, args.n, args.temperature),
                     args.repeats)
    t_loop = timed(lambda: [generate(model, tok, [p], **common) for p in single], 1)
    per_s = {"reason_lib": args.n * args.new_tokens / t_lib,
             "direct": args.n * args.new_tokens / t_direct,
             "one_at_a_time": len(single) * args.new_tokens / t_loop}
    mode = f"sampled at T {args.temperature}" if args.temperature > 0 else "greedy"
    print(f"device {device}; {args.dtype}; {args.n} prompts x {args.new_tokens} new tokens, {mode}")
    for name, v in [("reason_lib.generate", per_s["reason_lib"]), ("model.generate", per_s["direct"]),
                    ("one at a time", per_s["one_at_a_time"])]:
        print(f"{name:>20}: {v:9.1f} tokens/s")
    result = {"device": device, "dtype": args.dtype, "temperature": args.temperature,
              "batch": args.n, "new_tokens": args.new_tokens, "tokens_per_s": per_s,
              "ratio_vs_direct": per_s["reason_lib"] / per_s["direct"],
              "ratio_vs_one_at_a_time": per_s["reason_lib"] / per_s["one_at_a_time"]}
    print(f"ratio vs direct {result['ratio_vs_direct']:.3f}; "
          f"ratio vs one-at-a-time {result['ratio_vs_one_at_a_time']:.1f}")
    return result


if __name__ == "__main__":
    main()
