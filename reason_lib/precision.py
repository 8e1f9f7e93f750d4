"""Is bfloat16 good enough for this model? The agreement check every bfloat16 run on a CPU passes
before it starts.

bfloat16 keeps 8 bits of mantissa: a matmul in it is 2-4x faster on CPUs with bf16 units (AMX,
AVX512-BF16) and half the memory, but a logit near a tie can flip the greedy token, and a reply
then goes elsewhere. So before a run uses it, the same model is loaded in float32 and in
bfloat16; the float32 model decodes a fixed prompt set greedily (`CHECK_TOKENS` tokens) and both
models score those replies token by token (teacher-forced, the same contexts):

- `token_agreement`: the share of reply tokens where bfloat16's greedy choice is float32's; it
  must reach `MIN_TOKEN_AGREEMENT`;
- `logprob_mean_abs_diff`: the mean over those tokens of |log p_fp32 - log p_bf16|; it must stay
  under `LOGPROB_TOLERANCE` (the largest difference is reported beside it).

Beside them, for the reader, the bfloat16 model's own greedy replies: the share `identical` to
float32's, and the mean number of tokens before the first difference (one near-tie flip sends a
whole reply elsewhere, so this share falls with the reply length and is not a criterion).

The result goes into the run's manifest (`precision_check`); a model that fails stops the run with
an error naming the numbers, before any training (`-p dtype float32` runs it in full precision).
On a GPU the check is skipped (recorded as such): bfloat16 is the GPUs' native training dtype.
"""

from __future__ import annotations

import torch

from reason_lib.data import gsm8k_prompt, gsm8k_splits
from reason_lib.generate import completion_logits, rollout, token_logprobs
from reason_lib.models import load_model, load_tokenizer
from reason_lib.models.load import resolve_device

CHECK_PROMPTS = 16      # procedural GSM8K-format questions (seed 0), the same for every model
CHECK_TOKENS = 32       # greedy tokens per reply
MIN_TOKEN_AGREEMENT = 0.95  # share of reply tokens where both dtypes choose the same greedy token
LOGPROB_TOLERANCE = 0.05  # mean |Δ log p| per reply token, in nats


def check_prompts(n: int = CHECK_PROMPTS) -> list:
    """The fixed prompt set: `n` offline GSM8K-format test questions as chat messages."""
    return [gsm8k_prompt(r) for r in gsm8k_splits(1, 1, n, seed=0)["test"]]


@torch.inference_mode()
def agreement(reference, candidate, tokenizer, prompts, max_new_tokens: int = CHECK_TOKENS,
              min_agreement: float | None = None, tolerance: float | None = None) -> dict:
    """How far `candidate` (e.g. the model in bfloat16) decodes and scores like `reference` (the
    same model in float32) on `prompts`: the numbers the module describes and `passed` (against
    `MIN_TOKEN_AGREEMENT` and `LOGPROB_TOLERANCE` unless given)."""
    min_agreement = MIN_TOKEN_AGREEMENT if min_agreement is None else min_agreement
    tolerance = LOGPROB_TOLERANCE if tolerance is None else tolerance
    ref = rollout(reference, tokenizer, prompts, max_new_tokens=max_new_tokens, greedy=True)
    mask = ref.completion_mask
    logits_ref, logits_cand = completion_logits(reference, ref), completion_logits(candidate, ref)
    same_choice = (logits_ref.argmax(-1) == logits_cand.argmax(-1))[mask].float()
    diff = (token_logprobs(reference, ref, logits_ref)
            - token_logprobs(candidate, ref, logits_cand)).abs()[mask]
    # the candidate's own greedy replies, token by token against the reference's
    cand = rollout(candidate, tokenizer, prompts, max_new_tokens=max_new_tokens, greedy=True)
    a, b = ref.ids[:, ref.prompt_len:], cand.ids[:, cand.prompt_len:]
    width = max(a.shape[1], b.shape[1])
    a = torch.nn.functional.pad(a.masked_fill(~mask, -1), (0, width - a.shape[1]), value=-1)
    b = torch.nn.functional.pad(b.masked_fill(~cand.completion_mask, -1), (0, width - b.shape[1]),
                                value=-1)
    same = (a == b).cumprod(-1)
    result = {"prompts": len(prompts), "tokens": max_new_tokens,
              "token_agreement": round(same_choice.mean().item(), 4) if mask.any() else 1.0,
              "logprob_mean_abs_diff": round(diff.mean().item(), 5) if mask.any() else 0.0,
              "logprob_max_abs_diff": round(diff.max().item(), 5) if mask.any() else 0.0,
              "identical": round(same.all(-1).float().mean().item(), 4),
              "mean_tokens_before_divergence": round(same.sum(-1).float().mean().item(), 2),
              "min_token_agreement": min_agreement, "tolerance": tolerance}
    result["passed"] = (result["token_agreement"] >= min_agreement
                        and result["logprob_mean_abs_diff"] <= tolerance)
    return result


def check_dtype(model_path: str, dtype: str, device: str = "auto", run=None) -> dict | None:
    """The agreement check of `model_path` in `dtype` against float32 on the CPU (None for float32
    or a GPU run, where nothing is checked); recorded in `run`'s manifest; a failure raises
    before any training, naming the numbers."""
    if dtype == "float32":
        return None
    where = resolve_device(device)
    if where != "cpu":
        if run is not None:
            run.note(precision_check={"dtype": dtype, "skipped": f"device {where}"})
        return None
    tokenizer = load_tokenizer(model_path)
    reference = load_model(model_path, "float32", device="cpu").eval()
    candidate = load_model(model_path, dtype, device="cpu").eval()
    result = {"model": str(model_path), "dtype": dtype,
              "cpu": torch.backends.cpu.get_cpu_capability(),
              **agreement(reference, candidate, tokenizer, check_prompts())}
    del reference, candidate
    if run is not None:
        run.note(precision_check=result)
    verdict = "passed" if result["passed"] else "FAILED"
    summary = (f"greedy token agreement {result['token_agreement']:.1%} (needs "
               f">= {result['min_token_agreement']:.0%}), mean |Δ log p| "
               f"{result['logprob_mean_abs_diff']:.4f} (needs <= {result['tolerance']})")
    print(f"{dtype} check {verdict} on {result['prompts']} prompts x {result['tokens']} tokens: "
          f"{summary}; {result['identical']:.0%} of its own greedy replies identical to float32's")
    if not result["passed"]:
        raise ValueError(f"{model_path} in {dtype} does not decode like float32 on this CPU: "
                         f"{summary}; run with -p dtype float32")
    return result
