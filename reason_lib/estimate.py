"""Peak GPU memory and disk of a run, estimated from its parameters before anything loads.

    python -m reason_lib.estimate <experiment> --profile gpu [--gpu-gib 80]

A gpu run prints this first and stops when the estimate exceeds the device's memory. The model is
described by its architecture (layers, widths, heads, vocabulary): known Hub ids from the table
below (each model's config.json), anything else read with `AutoConfig`. Rules of thumb, stated so
they can be checked against a measured run:
- weights: parameters x bytes of `dtype`; trained weights (LoRA adapters, pause parts) in float32
  with their gradient and AdamW's two moments: 16 bytes each;
- activations kept for backward, per token of a micro-batch and per block: 34 x hidden bytes in
  bfloat16 with a fused (flash / SDPA) attention (Korthikanti et al., 2022, without the attention
  matrix); with gradient checkpointing only each block's input (2 x hidden bytes) plus one block
  recomputed; plus the float32 logits and their gradient at the scored positions;
- generation: the KV cache of every sequence generated together, 2 x layers x kv_heads x head_dim
  x bytes per token, plus a 10 % allowance for the allocator;
- disk: every model the run saves in full (SFT policies, STaR loops without LoRA: the best and
  the last), every delta checkpoint (`models.delta`: LoRA adapters, pause parts and any LM head or
  embeddings trained outright, in float32) and trainer checkpoints (trained weights and optimiser
  state).
- time, on one H100 SXM (`GPU`: NVIDIA's datasheet peak, at the shares of it stated there):
  training and prefill cost 2 x parameters FLOPs per token forward, as much again backward for
  the activations, again for the weights when they train in full, and a forward more with
  gradient checkpointing; a decoding step reads the weights and the batch's KV cache once, or is
  bound by its FLOPs when the batch is large. Phases add up; every STaR rollout is counted as kept
  (an upper bound). Unvalidated until a GPU run records a measured time beside it.
Prompt lengths are not parameters; the estimate assumes PROMPT_TOKENS per task (training
sequences: half of `max_length` on average).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from reason_lib import config
from reason_lib.config import method_values, parse_variant, resolve_source

GIB = 2 ** 30
BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
PROMPT_TOKENS = {"gsm8k": 256, "mmlu": 512, "hh": 512}  # rendered prompt, chat template included
ALLOCATOR = 1.10
# H100 SXM 80 GB: dense bfloat16 FLOP/s and HBM bytes/s, and the shares a run is assumed to reach:
# 35 % of the FLOPs in training; a fifth of the bandwidth when decoding, since transformers' eager
# decoding (and the pause decoder) spends most of a small batch's step launching kernels
GPU = {"flops": 989e12, "bandwidth": 3.35e12, "mfu": 0.35, "bandwidth_share": 0.2}


@dataclass(frozen=True)
class Architecture:
    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    vocab: int
    tied: bool
    qkv_bias: bool = False

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def block_params(self) -> int:
        """Attention (q, k, v, o), gated MLP (gate, up, down) and the two RMS norms."""
        kv = self.kv_heads * self.head_dim
        bias = (self.hidden + 2 * kv) if self.qkv_bias else 0
        return (2 * self.hidden * self.hidden + 2 * self.hidden * kv + bias
                + 3 * self.hidden * self.intermediate + 2 * self.hidden)

    @property
    def params(self) -> int:
        embeddings = self.vocab * self.hidden * (1 if self.tied else 2)
        return embeddings + self.layers * self.block_params + self.hidden  # + the final norm

    def lora_params(self, r: int) -> int:
        """LoRA on every linear layer of the blocks ("all-linear"): r x (in + out) each."""
        kv = self.kv_heads * self.head_dim
        shapes = [(self.hidden, self.hidden), (self.hidden, kv), (self.hidden, kv),
                  (self.hidden, self.hidden), (self.hidden, self.intermediate),
                  (self.hidden, self.intermediate), (self.intermediate, self.hidden)]
        return self.layers * sum(r * (a + b) for a, b in shapes)

    def kv_bytes_per_token(self, dtype_bytes: int) -> int:
        return 2 * self.layers * self.kv_heads * self.head_dim * dtype_bytes


# From each model's config.json on the Hub (num_hidden_layers, hidden_size, intermediate_size,
# num_attention_heads, num_key_value_heads, vocab_size, tie_word_embeddings).
ARCHITECTURES = {
    "mistralai/Mistral-7B-v0.1": Architecture(32, 4096, 14336, 32, 8, 32000, False),
    "meta-llama/Llama-3.1-8B-Instruct": Architecture(32, 4096, 14336, 32, 8, 128256, False),
    "Qwen/Qwen2.5-1.5B-Instruct": Architecture(28, 1536, 8960, 12, 2, 151936, True, qkv_bias=True),
    "HuggingFaceTB/SmolLM2-360M-Instruct": Architecture(32, 960, 2560, 15, 5, 49152, True),
    "HuggingFaceTB/SmolLM2-135M-Instruct": Architecture(30, 576, 1536, 9, 3, 49152, True),
}


def architecture(source: str) -> Architecture:
    """The architecture of a Hub id from the table, else from its config (path or Hub id)."""
    if source in ARCHITECTURES:
        return ARCHITECTURES[source]
    from transformers import AutoConfig


    c = AutoConfig.from_pretrained(resolve_source(source))
    return Architecture(c.num_hidden_layers, c.hidden_size, c.intermediate_size,
                        c.num_attention_heads, getattr(c, "num_key_value_heads", None)
                        or c.num_attention_heads, c.vocab_size,
                        bool(getattr(c, "tie_word_embeddings", False)),
                        qkv_bias=bool(getattr(c, "attention_bias", c.model_type == "qwen2")))


def activations(arch: Architecture, sequences: int, tokens: int, checkpointing: bool,
                scored_tokens: int | None = None) -> float:
    """Bytes kept for backward by `sequences` x `tokens` (bfloat16 blocks, float32 logits)."""
    per_token_block = 34 * arch.hidden
    if checkpointing:
        blocks = sequences * tokens * (2 * arch.hidden * arch.layers + per_token_block)
    else:
        blocks = sequences * tokens * per_token_block * arch.layers
    logits = sequences * (scored_tokens or tokens) * arch.vocab * 4 * 2
    return blocks + logits


def kv_cache(arch: Architecture, sequences: int, tokens: int, dtype_bytes: int) -> float:
    return sequences * tokens * arch.kv_bytes_per_token(dtype_bytes)


@dataclass
class Estimate:
    """Peak GPU memory by component (bytes), the phase it peaks in, and disk (bytes)."""

    experiment: str
    model: str
    components: dict
    phase: str
    disk: float

    @property
    def peak(self) -> float:
        return sum(self.components.values()) * ALLOCATOR

    def text(self) -> str:
        parts = ", ".join(f"{k} {v / GIB:.1f}" for k, v in self.components.items())
        return (f"{self.experiment} ({self.model}): peak GPU memory ~{self.peak / GIB:.1f} GiB "
                f"in {self.phase} ({parts}; x{ALLOCATOR} allocator), disk ~{self.disk / GIB:.1f} GiB")


# the parameter naming the model an experiment trains or evaluates (else `model`)
MODEL_FIELD = {"base_model": "init_model", "perplexity_grpo": "policy_model",
               "reinforce_rm": "base_model"}


def _phases(experiment: str, p) -> tuple[str, dict[str, dict], float]:
    """(model id, {phase: {component: bytes}}, disk bytes) for one experiment's params."""
    model = getattr(p, MODEL_FIELD.get(experiment, "model"))
    arch = architecture(model)
    b = BYTES[p.dtype]
    weights = arch.params * b
    ckpt = getattr(p, "gradient_checkpointing", False)
    micro = getattr(p, "micro_batch_size", 0) or getattr(p, "batch_size", 1)
    lora = arch.lora_params(p.lora_r) if getattr(p, "lora", True) and hasattr(p, "lora_r") else 0
    full = weights  # one saved model, in its dtype

    if experiment == "base_model":
        gen = kv_cache(arch, p.eval_batch_size, PROMPT_TOKENS["gsm8k"] + p.max_new_tokens, b)
        return model, {"evaluation": {"weights": weights, "KV cache": gen}}, \
            full if p.save_to else 0.0
    if experiment in ("pause_warmup", "pause_star"):
        n_trained = lora + 2 * arch.hidden + 1 \
            + arch.vocab * arch.hidden * (getattr(p, "lm_head", False) + getattr(p, "lm_embeddings", False))
        trained, delta = n_trained * 16, n_trained * 4  # in training (AdamW); saved, float32
        train = {"weights": weights, "trained weights + AdamW": trained,
                 "activations": activations(arch, micro, p.max_length, ckpt)}
        sampled = p.eval_batch_size
        gen = {"weights": weights, "KV cache": kv_cache(arch, sampled, PROMPT_TOKENS["gsm8k"] + p.max_new_tokens, b)}
        if experiment == "pause_warmup":
            disk = delta if p.save_model else 0.0
        else:  # two warm-ups, then each variant's best and last loop (`train.star`), as deltas
            disk = delta * (2 + len(p.variants) * min(2, p.outer_loops))
        return model, {"training": train, "rollouts": gen}, disk + trained
    if experiment == "star_mmlu":
        tokens = PROMPT_TOKENS["mmlu"] + p.max_new_tokens
        train = {"weights": weights, "LoRA + AdamW": lora * 16,
                 "activations (DPO: chosen + rejected)": activations(arch, 2 * micro, p.max_length, ckpt)}
        sampled = p.sample_batch_size or p.eval_batch_size * p.samples_per_question
        gen = {"weights": weights, "KV cache": kv_cache(arch, sampled, tokens, b)}
        # with LoRA every loop keeps its adapters (each loop's model builds on the one before; an
        # SFT then a DPO adapter when dpo_sft_first), else the best and the last loop in full
        per_run = lora * 4 * p.outer_loops * (1 + p.dpo_sft_first) if p.lora \
            else full * min(2, p.outer_loops)
        return model, {"training": train, "rollouts": gen}, per_run * len(p.runs) + lora * 16
    if experiment == "perplexity_grpo":
        tokens = PROMPT_TOKENS["gsm8k"] + p.max_completion_length
        scorer = architecture(p.scorer_model) if p.scorer_model else arch
        step = {"policy weights": weights, "scorer weights": scorer.params * b,
                "LoRA + AdamW": lora * 16 if p.lora else arch.params * 16,
                "KV cache (the step's completions)": kv_cache(arch, p.batch_size, tokens, b),
                "activations": activations(arch, micro, tokens, ckpt, p.max_completion_length),
                "scorer logits": p.eval_batch_size * p.max_completion_length * scorer.vocab * 4}
        disk = len(p.reward_types) * (lora * 12 if p.lora else arch.params * 12)
        return model, {"GRPO step": step}, disk
    if experiment == "reinforce_rm":  # the method with the largest step (its own overrides)
        own = [method_values(p, m) for m in p.methods]
        new_tokens = max(int(v["max_new_tokens"]) for v in own)
        tokens = PROMPT_TOKENS["hh"] + new_tokens
        sampled = max(int(v["prompts_per_step"]) * int(v["k"]) for v in own)
        step = {"policy, reference and reward model": 3 * weights,
                "LoRA + AdamW": lora * 16 if p.lora else arch.params * 16,
                "KV cache (the step's samples)": kv_cache(arch, sampled, tokens, b),
                "activations": activations(arch, micro, tokens, ckpt, new_tokens)}
        rm = {"SFT policy and reward model": 2 * weights,
              "LoRA + AdamW": lora * 16 if p.lora else arch.params * 16,
              "activations (chosen + rejected)": activations(arch, 2 * micro, p.max_length, ckpt, 1)}
        disk = 2 * full + len(p.methods) * (lora * 12 if p.lora else arch.params * 12)
        return model, {"REINFORCE step": step, "reward-model training": rm}, disk
    raise ValueError(f"no estimate for experiment {experiment!r}")


# -- run time ------------------------------------------------------------------------------------
def generation_s(arch: Architecture, b: int, sequences: float, batch: int, new_tokens: int,
                 prompt_tokens: int) -> float:
    """Seconds to prefill and decode `sequences` replies of `new_tokens`, `batch` at a time."""
    import math

    weights, flops = arch.params * b, GPU["flops"] * GPU["mfu"]
    batch = max(1, min(batch, int(sequences) or 1))
    kv = kv_cache(arch, batch, prompt_tokens + new_tokens // 2, b)
    step = max((weights + kv) / (GPU["bandwidth"] * GPU["bandwidth_share"]),
               2 * arch.params * batch / flops)
    return math.ceil(sequences / batch) * new_tokens * step \
        + 2 * arch.params * sequences * prompt_tokens / flops


def compute_s(arch: Architecture, tokens: float, trains: str = "", checkpointing: bool = False) -> float:
    """Seconds of forward (`trains` ""), LoRA ("lora") or full ("full") training over `tokens`."""
    passes = 1 + (trains != "") + (trains == "full") + (checkpointing and trains != "")
    return 2 * arch.params * passes * tokens / (GPU["flops"] * GPU["mfu"])


def _seconds(experiment: str, p) -> dict[str, float]:
    """{phase: seconds} of one experiment's params on one `GPU` (see the module docstring)."""
    arch, b = architecture(getattr(p, MODEL_FIELD.get(experiment, "model"))), BYTES[p.dtype]
    ckpt = getattr(p, "gradient_checkpointing", False)
    trains = "lora" if getattr(p, "lora", True) else "full"

    def gen(n, new=None, prompt=PROMPT_TOKENS["gsm8k"], batch=None):
        return generation_s(arch, b, n, batch or p.eval_batch_size, new or p.max_new_tokens, prompt)

    def train(sequences, length=None, how=None):
        return compute_s(arch, sequences * (length or p.max_length / 2), how or trains, ckpt)

    mc = PROMPT_TOKENS["mmlu"]
    if experiment == "base_model":
        t = {"training": train(p.n_gsm8k_train + p.n_mmlu_train, how="full") * p.epochs
             if p.train else 0.0,
             "evaluation": (gen(2 * p.n_eval) + gen(2 * p.n_eval_mc, prompt=mc) if p.offline_eval else 0)
             + (gen(p.n_real_gsm8k) if p.real_gsm8k_test else 0)}
        if p.real_mmlu:
            t["evaluation"] += compute_s(arch, p.n_real_mmlu * mc) \
                + gen(p.n_real_mmlu, p.mmlu_max_new_tokens, mc)
        return t
    if experiment == "pause_warmup":
        return {"training": train(p.n_train * p.n_generated_samples_per_datapoint) * p.epochs,
                "evaluation": 2 * gen(p.n_test) + compute_s(arch, p.n_test * p.max_length / 2)}
    if experiment == "pause_star":
        settings = {parse_variant(v)["pauses"] for v in p.variants}
        loops = p.outer_loops
        per_variant = gen(p.n_validation) * (loops + 1) + 2 * gen(p.n_test) \
            + loops * (gen(p.n_train * p.samples_per_problem)
                       + train(p.n_train * p.samples_per_problem) * p.epochs)
        return {"warm-ups": len(settings) * (train(p.n_train) * p.warmup_epochs + 2 * gen(p.n_test)),
                "STaR loops": len(p.variants) * per_variant}
    if experiment == "star_mmlu":
        langs = 2 if p.mmlu_yoruba else 1
        k, loops = p.samples_per_question, p.outer_loops
        kept = p.n_train * (1 if p.one_per_question else k)
        batch = p.sample_batch_size or p.eval_batch_size * k
        per_run = gen(langs * p.n_validation, prompt=mc) * (loops + 1) + gen(langs * p.n_test, prompt=mc) \
            + loops * (gen(p.n_train * k, prompt=mc, batch=batch) + train(kept) * p.epochs)
        return {"start evaluation": gen(langs * p.n_test, prompt=mc), "STaR runs": len(p.runs) * per_run}
    if experiment == "perplexity_grpo":
        length = PROMPT_TOKENS["gsm8k"] + p.max_completion_length
        step = gen(p.batch_size, p.max_completion_length, batch=p.batch_size) \
            + train(p.batch_size, length) + compute_s(arch, p.batch_size * length)  # + the scorer
        evals = gen(p.n_test) * 2 + gen(p.n_curve) * (p.steps // p.eval_every + 1)
        return {"evaluation": gen(p.n_test) + len(p.reward_types) * evals,
                "GRPO steps": len(p.reward_types) * p.steps * step}
    if experiment == "reinforce_rm":
        hh = PROMPT_TOKENS["hh"]

        def method_s(v):  # one method's training and evaluations, at its own settings
            sampled, new = int(v["prompts_per_step"]) * int(v["k"]), int(v["max_new_tokens"])
            step = gen(sampled, prompt=hh, new=new, batch=sampled) \
                + train(sampled, hh + new) + 2 * compute_s(arch, sampled * (hh + new))
            return int(v["steps"]) * step + gen(p.n_eval_prompts, prompt=hh) * (int(v["steps"]) // p.eval_every + 1)

        return {"SFT and reward model": train(p.n_train) * p.sft_epochs + train(2 * p.n_train) * p.rm_epochs
                + compute_s(arch, 2 * p.n_test * p.max_length / 2),
                "policies": sum(method_s(method_values(p, m)) for m in p.methods)}
    raise ValueError(f"no estimate for experiment {experiment!r}")


def hours(experiment: str, params) -> float:
    """Estimated hours of the whole run on one `GPU`."""
    return sum(_seconds(experiment, params).values()) / 3600


# The training experiments the estimator knows (evaluate and summary load what others trained).
ESTIMATED = ("base_model", "pause_warmup", "pause_star", "star_mmlu", "perplexity_grpo",
             "reinforce_rm")


def estimate(experiment: str, params) -> Estimate:
    """The run's peak GPU memory (its heaviest phase) and disk, from its parameters."""
    model, phases, disk = _phases(experiment, params)
    phase = max(phases, key=lambda k: sum(phases[k].values()))
    return Estimate(experiment, model, phases[phase], phase, disk)


def check_fits(experiment: str, params, device_bytes: float | None = None) -> Estimate | None:
    """Print the estimate of a run on a CUDA device and raise MemoryError, before anything loads,
    when it exceeds the device's memory (`device_bytes`, default: the current CUDA device's)."""
    import torch

    if experiment not in ESTIMATED or params.device not in ("cuda", "auto") or (
            device_bytes is None and not torch.cuda.is_available()):
        return None
    est = estimate(experiment, params)
    total = device_bytes or torch.cuda.get_device_properties(0).total_memory
    print(f"estimate: {est.text()}; device {total / GIB:.0f} GiB", flush=True)
    if est.peak > total:
        raise MemoryError(
            f"{experiment}: estimated peak GPU memory {est.peak / GIB:.1f} GiB exceeds the "
            f"device's {total / GIB:.1f} GiB (in {est.phase}). Lower micro_batch_size or "
            "eval_batch_size, turn on gradient_checkpointing, or use a larger GPU.")
    return est


def table(profile: str = "gpu", gpu_gib: float = 80.0, experiments: list[str] | None = None) -> str:
    """The estimate of every experiment's `profile` as a markdown table (README: `make readme`)."""
    names = experiments or [e for e in config.EXPERIMENTS if e in ESTIMATED]
    lines = [f"| experiment | model | peak GPU memory (GiB) | heaviest phase | fits {gpu_gib:.0f} GiB "
             "| disk (GiB) | time on one H100 (h) |", "|---|---|---|---|---|---|---|"]
    for name in names:
        params = config.load_params(name, profile)
        est = estimate(name, params)
        lines.append(f"| {name} | {est.model} | {est.peak / GIB:.1f} | {est.phase} | "
                     f"{'yes' if est.peak <= gpu_gib * GIB else 'no'} | {est.disk / GIB:.1f} | "
                     f"{_hours_text(hours(name, params))} |")
    return "\n".join(lines) + "\n"


def _hours_text(h: float) -> str:
    return f"{h:.1f}" if h >= 1 else f"{h:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reason_lib.estimate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiments", nargs="*", default=[])
    parser.add_argument("--profile", default="gpu")
    parser.add_argument("--gpu-gib", type=float, default=80.0)
    args = parser.parse_args(argv)
    print(table(args.profile, args.gpu_gib, args.experiments), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
