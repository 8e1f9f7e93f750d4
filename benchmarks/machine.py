"""What this machine can do at most: matmul throughput in float32 and bfloat16, and from it the
decoding bound of a model (2 FLOP per parameter per token: a forward pass is one multiply-add
per weight).

    python benchmarks/machine.py [--model PATH] [--size 2048] [--repeats 5]

Prints GFLOPS per dtype, the model's parameter count and its bound in tokens/s per dtype. The
bound is what a decoder could reach if every token were one large matmul; the rollout benchmark's
tokens/s over it is the share `make bench PROFILE=smol` reports.
"""

from __future__ import annotations

import argparse

import torch

from benchmarks_common import device_and_model, timed


def gflops(dtype: torch.dtype, size: int, repeats: int, device: str) -> float:
    """Best-of-`repeats` throughput of a `size` x `size` matmul (2 size^3 FLOP)."""
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    torch.mm(a, b)  # warm-up (and the backend's kernel choice)
    return 2 * size ** 3 / timed(lambda: torch.mm(a, b), repeats) / 1e9


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    device, model, _ = device_and_model(args.model)
    n = sum(p.numel() for p in model.parameters())
    result = {"device": device, "threads": torch.get_num_threads(), "parameters": n,
              "cpu_capability": torch.backends.cpu.get_cpu_capability(), "gflops": {},
              "bound_tokens_per_s": {}}
    for name in ("float32", "bfloat16"):
        g = gflops(getattr(torch, name), args.size, args.repeats, device)
        result["gflops"][name] = g
        result["bound_tokens_per_s"][name] = g * 1e9 / (2 * n)
        print(f"{name:>9}: {g:8.1f} GFLOPS ({args.size}^2 matmul); bound "
              f"{result['bound_tokens_per_s'][name]:8.1f} tokens/s at {n / 1e6:.1f} M parameters")
    print(f"device {device}, {result['threads']} threads, {result['cpu_capability']}; "
          f"bfloat16 / float32 {result['gflops']['bfloat16'] / result['gflops']['float32']:.2f}")
    return result


if __name__ == "__main__":
    main()
