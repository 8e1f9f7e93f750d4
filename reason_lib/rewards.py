"""Rewards, as plain TRL-style callables `(prompts, completions, **columns)`; what a reply says is
read by `reason_lib.answers` (regular expressions only: model output is never evaluated as code)."""

from __future__ import annotations

import re

from reason_lib.answers import NUMBER, completion_text, extract_choice, extract_gsm8k
from reason_lib.generate import render_prompts


def gsm8k_correctness(prompts, completions, answer, **_) -> list[float]:
    """1.0 where the completion's extracted answer equals the gold one (gold: GSM8K `answer` text)."""
    return [float(extract_gsm8k(completion_text(c)) == extract_gsm8k(a))
            for c, a in zip(completions, answer)]


def choice_correctness(prompts, completions, Answer, **_) -> list[float]:
    """1.0 where the completion's extracted letter equals the gold letter (no answer scores 0)."""
    return [float(extract_choice(completion_text(c)) == a) for c, a in zip(completions, Answer)]


# --- Perplexity reward: a frozen LM scores the gold answer given the policy's reasoning ----------

FINAL_LINE = re.compile(r"\n?[^\n]*####.*", re.DOTALL)
# a stated final answer ("So the answer is 42", "Final answer: 42", "\boxed{42}"): the scorer
# must not be handed it, whether or not a `####` line follows
ANSWER_STATEMENT = re.compile(r"(?i)\b(?:so\s+)?(?:the\s+)?(?:final\s+)?answer\s*(?:is\b|[:=])"
                              r"|\\boxed\s*\{")


def strip_final_answer(completion: str) -> str:
    """The reasoning of a GSM8K-style reply with every form of its own final answer that
    `extract_gsm8k` reads removed, so a scorer is never handed the answer it scores: the first
    line holding `####` and all after it; then the first stated answer ("the answer is", "Answer:",
    "\\boxed{") and all after it; and when the reply has neither, its last number onward (the
    extractor's fallback answer)."""
    final = FINAL_LINE.search(completion)
    text = completion[:final.start()] if final else completion
    stated = ANSWER_STATEMENT.search(text)
    if stated:
        text = text[:stated.start()]
    elif not final and (numbers := list(NUMBER.finditer(text))):
        text = text[:numbers[-1].start()]
    return text.rstrip()


def gold_target(answer: str, target: str = "final_line") -> str:
    """What the scorer must predict: the gold `#### N` line, or (`answer_text`) the number alone."""
    n = extract_gsm8k(answer)
    return f"#### {n}" if target == "final_line" else f"{n}"


class PerplexityReward:
    """Mean log-probability, under a frozen scorer LM, of the gold answer given the question and
    the policy's reasoning (its own final answer removed); a TRL reward function.

    `form`: `prob` = exp(mean log-prob) in (0, 1]; `neg_perplexity` = -exp(-mean log-prob);
    `logprob` = mean log-prob (nats per token). Scored in batches, without gradients.
    """

    FORMS = ("prob", "neg_perplexity", "logprob")

    def __init__(self, model, tokenizer, form: str = "prob", target: str = "final_line",
                 batch_size: int = 16, strip_answer: bool = True):
        if form not in self.FORMS:
            raise ValueError(f"perplexity reward form {form!r}: expected one of {self.FORMS}")
        self.model, self.tokenizer = model.eval().requires_grad_(False), tokenizer
        self.form, self.target, self.batch_size = form, target, batch_size
        self.strip_answer = strip_answer
        self.__name__ = "perplexity"  # TRL logs each reward function under its name

    def visible(self) -> "PerplexityReward":
        """The same scorer reading the policy's whole reply, its own stated answer included: the
        leak ablation (does the reward drop the gold answer's perplexity because the scorer is
        handed an answer?). Evaluation always scores with the answer removed."""
        import copy

        leaky = copy.copy(self)
        leaky.strip_answer = False
        return leaky

    def _context(self, prompt, reasoning: str) -> list[int]:
        text = render_prompts(self.tokenizer, [prompt])[0] + reasoning + "\n"
        return self.tokenizer(text, add_special_tokens=False).input_ids

    def mean_logprobs(self, prompts, reasonings: list[str], targets: list[str]) -> list[float]:
        """Mean log-probability (nats per token) of each target given prompt + reasoning."""
        import torch

        pairs = [(self._context(p, r), self.tokenizer(t, add_special_tokens=False).input_ids)
                 for p, r, t in zip(prompts, reasonings, targets)]
        device = next(self.model.parameters()).device
        out: list[float] = []
        for start in range(0, len(pairs), self.batch_size):
            batch = pairs[start:start + self.batch_size]
            width = max(len(c) + len(t) for c, t in batch)
            ids = torch.full((len(batch), width), self.tokenizer.pad_token_id, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for i, (c, t) in enumerate(batch):  # right padding: real tokens keep positions 0..n-1
                ids[i, :len(c) + len(t)] = torch.tensor(c + t)
                mask[i, :len(c) + len(t)] = 1
            # the LM head only over the positions that predict a target token (the span from
            # the shortest context to the longest context + target), not the whole context
            lo = min(len(c) for c, _ in batch) - 1
            hi = max(len(c) + len(t) for c, t in batch) - 1
            with torch.inference_mode():
                logits = self.model(input_ids=ids.to(device), attention_mask=mask.to(device),
                                    logits_to_keep=torch.arange(lo, hi, device=device)).logits
                for i, (c, t) in enumerate(batch):  # normalise only the target positions
                    logp = logits[i, len(c) - 1 - lo:len(c) + len(t) - 1 - lo].float().log_softmax(-1)
                    out.append(logp[torch.arange(len(t), device=device),
                                    torch.tensor(t, device=device)].mean().item())
        return out

    def __call__(self, prompts, completions, answer, **_) -> list[float]:
        import math

        texts = [completion_text(c) for c in completions]
        reasonings = [strip_final_answer(t) for t in texts] if self.strip_answer else texts
        lp = self.mean_logprobs(prompts, reasonings, [gold_target(a, self.target) for a in answer])
        if self.form == "logprob":
            return lp
        if self.form == "prob":
            return [math.exp(x) for x in lp]
        return [-math.exp(-x) for x in lp]
