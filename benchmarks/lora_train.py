"""LoRA training throughput: forward + backward + AdamW step of LoRA adapters (rank 16, every
linear layer, as the smol profiles train) on the model in float32 and in bfloat16 (frozen weights
in bfloat16, the adapters and their optimiser state in float32: peft keeps adapters in float32).

    python benchmarks/lora_train.py [--model PATH] [--batch 8] [--length 256] [--steps 3]

Prints training tokens/s per dtype and the ratio (bfloat16 / float32) on the last line.
"""

from __future__ import annotations

import argparse

import torch

from benchmarks_common import device_and_model, timed
from reason_lib.models.load import lora_config


def tokens_per_s(model, vocab: int, batch: int, length: int, steps: int) -> float:
    from peft import get_peft_model

    model = get_peft_model(model, lora_config(r=16, alpha=32)).train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    ids = torch.randint(0, vocab, (batch, length), generator=torch.Generator().manual_seed(0))
    ids = ids.to(next(model.parameters()).device)

    def step():
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad()

    step()  # warm-up
    return batch * length / timed(step, steps)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--length", type=int, default=256)
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args(argv)
    result = {"batch": args.batch, "length": args.length, "tokens_per_s": {}}
    for dtype in ("float32", "bfloat16"):
        device, model, tok = device_and_model(args.model, dtype)
        result["device"] = device
        result["tokens_per_s"][dtype] = tokens_per_s(model, len(tok), args.batch, args.length,
                                                     args.steps)
        print(f"{dtype:>9}: {result['tokens_per_s'][dtype]:8.1f} training tokens/s "
              f"(LoRA r 16, batch {args.batch} x {args.length})")
    result["ratio"] = result["tokens_per_s"]["bfloat16"] / result["tokens_per_s"]["float32"]
    print(f"ratio (bfloat16 / float32, training tokens per second) {result['ratio']:.2f}")
    return result


if __name__ == "__main__":
    main()
