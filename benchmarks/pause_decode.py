"""Pause-LM decoding (reason_lib's own loop: pause head + LM head, KV cache) against
`transformers` `generate` on the same underlying model, batch 64, the same number of new tokens.

    python benchmarks/pause_decode.py [--model PATH] [--n 64] [--new-tokens 64] [--repeats 3]

Both sides decode greedily for exactly --new-tokens steps (no early stop), pauses disallowed so the
work per step is the same. Prints tokens per second for each side, then the ratio
(pause decoding / generate) on the last line.
"""

from __future__ import annotations

import argparse

import torch

from benchmarks_common import device_and_model, prompts_for, timed
from reason_lib.generate import encode_prompts, render_prompts
from reason_lib.models.pause_lm import PauseLM, add_pause_token


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None)
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    device, model, tok = device_and_model(args.model)
    pause_id = add_pause_token(tok)
    pause_lm = PauseLM(model, pause_id).to(device).eval()
    enc = encode_prompts(tok, render_prompts(tok, prompts_for(args.n)), device)

    @torch.inference_mode()
    def ours():
        pause_lm.generate_ids(enc["input_ids"], enc["attention_mask"], eos_token_id=-1,
                              pad_token_id=tok.pad_token_id, max_new_tokens=args.new_tokens,
                              allow_pauses=False)

    @torch.inference_mode()
    def reference():
        model.generate(**enc, max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens,
                       do_sample=False, pad_token_id=tok.pad_token_id)

    ours()
    reference()  # warm-up both
    t_ours, t_ref = timed(ours, args.repeats), timed(reference, args.repeats)
    tokens = args.n * args.new_tokens
    result = {"device": device, "pause_decode_tokens_per_s": tokens / t_ours,
              "generate_tokens_per_s": tokens / t_ref, "ratio": t_ref / t_ours}
    print(f"device {device}; batch {args.n} x {args.new_tokens} new tokens")
    print(f"pause decoding: {tokens / t_ours:9.1f} tokens/s")
    print(f"      generate: {tokens / t_ref:9.1f} tokens/s")
    print(f"ratio (pause decoding / generate, tokens per second) {result['ratio']:.3f}")
    return result


if __name__ == "__main__":
    main()
