"""Batched generation with the KV cache: greedy or sampled, prompts as chat messages or text."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm
from transformers import LogitsProcessor, LogitsProcessorList, TopPLogitsWarper

from reason_lib import distributed
from reason_lib.models.load import PLAIN_CHAT_TEMPLATE
from reason_lib.sampling import draw


def render_prompts(tokenizer, prompts) -> list[str]:
    """Chat-message prompts through the tokenizer's chat template (with the assistant header);
    plain strings pass through unchanged."""
    return [p if isinstance(p, str) else
            tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True)
            for p in prompts]


def encode_prompts(tokenizer, texts: list[str], device=None):
    """Rendered prompts as one left-padded batch (generation continues on the right)."""
    enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False,
                    padding_side="left")
    return enc.to(device) if device is not None else enc


def length_sorted_batches(tokenizer, texts: list[str], batch_size: int, device, desc: str,
                          progress: bool = True):
    """(indices, encoded batch) over `texts` sorted by length, so each batch pads little; the
    caller puts results back at `indices` (and, with several processes, merges every rank's with
    `distributed.gather_filled`: each rank decodes its share of these very batches). A progress
    bar when there is more than one batch (the main process's).

    With several processes each rank samples from its own stream (`rank_stream`): ranks share
    torch's seed, so their first batches once drew the same noise (correlated samples across
    the shards). One process samples as before."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    batches = distributed.batches(range(0, len(order), batch_size))
    with rank_stream():
        for start in tqdm(batches, desc=desc,
                          disable=not progress or len(batches) < 2 or not distributed.is_main()):
            idx = order[start:start + batch_size]
            yield idx, encode_prompts(tokenizer, [texts[i] for i in idx], device)


@contextlib.contextmanager
def rank_stream():
    """Under several processes, every rank but the first samples the block from its own stream:
    torch's generators forked and seeded by (a draw from its generator, rank). Rank 0 draws
    from the global generator, as one process does, so its share (all of a batch that fits one
    rank) is what a one-process run samples; one process is unchanged."""
    if distributed.world_size() == 1 or distributed.rank() == 0:
        yield
        return
    base = int(torch.randint(0, 2 ** 62, (1,)).item())
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(base + distributed.rank())
        yield


def decode_kwargs(tokenizer, max_new_tokens: int, repetition_penalty: float = 1.0,
                  sampler: LogitsProcessor | None = None, **generate_kwargs) -> dict:
    """`model.generate` keyword arguments of the project's decoding: greedy search with the KV
    cache, over the drawn token when `sampler` (`InverseCDFSampling`, `SeededSampling`) is given
    (it runs after generate's own processors)."""
    kwargs = dict(max_new_tokens=max_new_tokens, do_sample=False,
                  repetition_penalty=repetition_penalty, pad_token_id=tokenizer.pad_token_id,
                  eos_token_id=tokenizer.eos_token_id, use_cache=True, **generate_kwargs)
    if sampler is not None:
        kwargs["logits_processor"] = LogitsProcessorList([sampler])
    if plain_format(tokenizer):  # a base model's reply ends where it starts the next question
        kwargs.update(stop_strings=list(PLAIN_STOPS), tokenizer=tokenizer)
    return kwargs


# A base model prompted in the plain format (models.load.PLAIN_CHAT_TEMPLATE) does not end its
# reply with eos: it goes on with an invented "Question: ... #### M" block, whose final line the
# answer extraction would score. Its replies stop at the next question instead.
PLAIN_STOPS = ("\nQuestion:",)


def plain_format(tokenizer) -> bool:
    return getattr(tokenizer, "chat_template", None) == PLAIN_CHAT_TEMPLATE


def cut_at_stops(text: str) -> str:
    """A plain-format reply up to the first stop string (generation stops after emitting it)."""
    for stop in PLAIN_STOPS:
        text = text.split(stop, 1)[0]
    return text


@torch.inference_mode()
def generate(model, tokenizer, prompts, max_new_tokens: int = 128, temperature: float = 0.0,
             top_p: float = 1.0, batch_size: int = 32, repetition_penalty: float = 1.0,
             num_return_sequences: int = 1, desc: str = "generating", progress: bool = True,
             **generate_kwargs) -> list[str]:
    """Completions for `prompts` (temperature 0 is greedy), in prompt order.

    With `num_return_sequences=k`, returns k completions per prompt, grouped by prompt.
    Prompts are sorted by length so each batch pads little; the result is put back in order.
    """
    texts = render_prompts(tokenizer, prompts)
    out: list[list[str] | None] = [None] * len(texts)
    device = next(model.parameters()).device
    kwargs = decode_kwargs(tokenizer, max_new_tokens, repetition_penalty,
                           InverseCDFSampling(temperature, top_p) if temperature > 0 else None,
                           **generate_kwargs)
    was_training = model.training
    model.eval()
    for idx, enc in length_sorted_batches(tokenizer, texts, batch_size, device, desc, progress):
        # k replies per prompt: the prompt k times (greedy search returns one sequence per row)
        enc = {key: v.repeat_interleave(num_return_sequences, 0) for key, v in enc.items()}
        ids = model.generate(**enc, **kwargs)[:, enc["input_ids"].shape[1]:]
        decoded = tokenizer.batch_decode(ids, skip_special_tokens=True)
        if plain_format(tokenizer):
            decoded = [cut_at_stops(d) for d in decoded]
        for j, i in enumerate(idx):
            out[i] = decoded[j * num_return_sequences:(j + 1) * num_return_sequences]
    model.train(was_training)
    out = distributed.gather_filled(out)
    if num_return_sequences == 1:
        return [o[0] for o in out]
    return [c for o in out for c in o]


@dataclass
class Rollout:
    """Sampled completions with their token ids, for policy-gradient training.

    `ids` (n, prompt_len + new) left-padded prompts followed by completions; `attention_mask` the
    same shape; `completion_mask` (n, new) marks completion tokens up to and including the first
    eos. Row i is sample i % k of prompt i // k.
    """

    ids: torch.Tensor
    attention_mask: torch.Tensor
    completion_mask: torch.Tensor
    prompt_len: int
    texts: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def rows(self, part: slice) -> "Rollout":
        """The samples in `part` (a micro-batch), as a Rollout of their own."""
        if part.indices(len(self)) == (0, len(self), 1):
            return self
        return Rollout(self.ids[part], self.attention_mask[part], self.completion_mask[part],
                       self.prompt_len, self.texts[part])

    def parts(self, size: int) -> list[slice]:
        """Consecutive micro-batches of at most `size` samples (0: one, of all)."""
        size = size or len(self)
        return [slice(i, i + size) for i in range(0, len(self), size)]


class InverseCDFSampling(LogitsProcessor):
    """Sampling at `temperature` (nucleus `top_p`) by `draw`, for `generate` under greedy
    decoding: the scores it returns are 0 at the drawn token and -inf elsewhere, so the argmax is
    the draw. It runs after `generate`'s own processors (repetition penalty, minimum length)."""

    def __init__(self, temperature: float, top_p: float = 1.0):
        if temperature <= 0:
            raise ValueError(f"sampling needs a temperature > 0, got {temperature}")
        self.temperature = temperature
        self.top_p = TopPLogitsWarper(top_p) if top_p < 1 else None

    def __call__(self, input_ids, scores):
        scores = scores.float()
        if self.temperature != 1:
            scores = scores / self.temperature
        if self.top_p is not None:
            scores = self.top_p(input_ids, scores)
        # softmax's numerator is enough: `draw` scales its uniform number by the row's total
        token = draw((scores - scores.amax(-1, keepdim=True)).exp_())
        return scores.fill_(-float("inf")).scatter_(1, token[:, None], 0.0)


class SeededSampling(LogitsProcessor):
    """Sampling at `temperature` by the Gumbel-max trick, each sequence with its own generator:
    argmax(logits / T + Gumbel noise) is a draw from softmax(logits / T), and the noise of row i
    comes from `seeds[i]` alone. So a sample depends only on its seed and its context, not on
    which batch, micro-batch or process drew it. Used under greedy decoding (the argmax)."""

    def __init__(self, seeds: list[int], temperature: float = 1.0):
        if temperature <= 0:
            raise ValueError(f"seeded sampling needs a temperature > 0, got {temperature}")
        self.generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        self.temperature = temperature

    def __call__(self, input_ids, scores):
        if scores.shape[0] != len(self.generators):
            raise ValueError(f"{scores.shape[0]} sequences but {len(self.generators)} seeds")
        u = torch.stack([torch.rand(scores.shape[-1], generator=g) for g in self.generators])
        gumbel = -torch.log(-torch.log(u.clamp_min(1e-20)))
        return scores.float() / self.temperature + gumbel.to(scores.device)


def sample_seed(seed: int, step: int, index: int) -> int:
    """The seed of sample `index` (prompt * k + j over the whole step) of a step: the same in
    any batch, micro-batch or process (`SeededSampling`)."""
    return (seed * 1_000_003 + step) * 1_000_033 + index


@torch.no_grad()  # not inference_mode: the ids feed a forward pass that is differentiated
def rollout(model, tokenizer, prompts, k: int = 1, max_new_tokens: int = 64,
            temperature: float = 1.0, top_p: float = 1.0, repetition_penalty: float = 1.0,
            greedy: bool = False, seeds: list[int] | None = None) -> Rollout:
    """k sampled completions per prompt in one batched `generate` call (KV cache), with ids.
    `seeds` (one per completion, prompt-major): each completion drawn from its own seed
    (`SeededSampling`; top_p must be 1), else from torch's global generator."""
    enc = encode_prompts(tokenizer, render_prompts(tokenizer, prompts),
                         next(model.parameters()).device)
    # the prompts repeated k times: greedy search (over drawn tokens when sampling) returns one
    # sequence per row
    enc = {key: v.repeat_interleave(k, 0) for key, v in enc.items()}
    sampler = None
    if seeds is not None and not greedy:
        if top_p < 1:
            raise ValueError("seeded sampling draws from the whole distribution: top_p must be 1")
        if len(seeds) != len(prompts) * k:
            raise ValueError(f"{len(seeds)} seeds for {len(prompts)} prompts x {k} samples")
        sampler = SeededSampling(seeds, temperature)
    elif not greedy:
        sampler = InverseCDFSampling(temperature, top_p)
    kwargs = decode_kwargs(tokenizer, max_new_tokens, repetition_penalty, sampler)
    was_training = model.training
    model.eval()
    with rank_stream():  # each rank's share of a step's prompts sampled with its own noise
        ids = model.generate(**enc, **kwargs)
    model.train(was_training)
    prompt_len = enc["input_ids"].shape[1]
    new = ids[:, prompt_len:]
    is_eos = new == tokenizer.eos_token_id
    # tokens up to and including the first eos (an eos-padded tail, when pad == eos, is masked)
    completion_mask = (is_eos.cumsum(-1) - is_eos.long()) == 0
    attention_mask = torch.cat([enc["attention_mask"], completion_mask.long()], dim=1)
    return Rollout(ids, attention_mask, completion_mask, prompt_len,
                   tokenizer.batch_decode(new, skip_special_tokens=True))


def sequence_logprobs(model, r: Rollout) -> torch.Tensor:
    """Sum of log pi(token | context) over each completion's tokens: (n,). Carries gradients
    when called outside inference mode; positions follow the left padding, as in `generate`."""
    return token_logprobs(model, r).sum(-1)


def completion_logits(model, r: Rollout) -> torch.Tensor:
    """The logits that predict each completion token: (n, new, vocab), float32."""
    position_ids = (r.attention_mask.cumsum(-1) - 1).clamp(min=0)
    # the LM head only where a completion token is predicted (not over the prompt): at a
    # 150k-token vocabulary the logits are the largest tensor of the step
    keep = r.ids.shape[1] - r.prompt_len + 1
    return model(input_ids=r.ids, attention_mask=r.attention_mask, position_ids=position_ids,
                 logits_to_keep=keep).logits[:, :-1].float()


def token_logprobs(model, r: Rollout, logits: torch.Tensor | None = None) -> torch.Tensor:
    """log pi(token | context) of each completion token, 0 past its end: (n, new), float32
    (from `logits` when the caller has them: `completion_logits`)."""
    logits = completion_logits(model, r) if logits is None else logits
    targets = r.ids[:, r.prompt_len:]
    # gather minus logsumexp: one vocabulary-sized tensor instead of a full log_softmax copy
    logp = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - logits.logsumexp(-1)
    return logp * r.completion_mask


def grouped(flat: list, k: int) -> list[list]:
    """Consecutive runs of k items (the k completions of each prompt) as one list per prompt."""
    return [flat[i:i + k] for i in range(0, len(flat), k)]


def sample_groups(model, tokenizer, prompts, k: int, **kwargs) -> list[list[str]]:
    """k sampled completions per prompt, as one list per prompt (see `generate` for kwargs)."""
    return grouped(generate(model, tokenizer, prompts, num_return_sequences=k, **kwargs), k)


def pause_generate(model, tokenizer, prompts, max_new_tokens: int = 128, temperature: float = 0.0,
                   batch_size: int = 32, max_consecutive_pauses: int = 8,
                   allow_pauses: bool = True, desc: str = "pause decoding",
                   progress: bool = True, **kwargs) -> list[str]:
    """Replies of a `PauseLM` (pauses kept visible as `<|pause|>`), batched with the KV cache, in
    prompt order; `prompts` are chat messages or already-rendered text."""
    texts = render_prompts(tokenizer, prompts)
    out: list[str | None] = [None] * len(texts)
    drop = {tokenizer.eos_token_id, tokenizer.pad_token_id}
    for idx, enc in length_sorted_batches(tokenizer, texts, batch_size, model.device, desc,
                                          progress):
        ids = model.generate_ids(enc["input_ids"], enc["attention_mask"], tokenizer.eos_token_id,
                                 tokenizer.pad_token_id, max_new_tokens, temperature,
                                 max_consecutive_pauses, allow_pauses, **kwargs)
        for j, i in enumerate(idx):
            out[i] = tokenizer.decode([t for t in ids[j].tolist() if t not in drop],
                                      skip_special_tokens=False)
    return distributed.gather_filled(out)
