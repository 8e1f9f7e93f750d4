"""Task scoring: GSM8K, multiple choice (generated and by letter log-prob), pause decoding, gold
perplexity and policies, with degeneration metrics; intervals from `reason_lib.stats`."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from reason_lib import distributed
from reason_lib.answers import extract_choice, extract_gsm8k
from reason_lib.data.gsm8k import gsm8k_prompt
from reason_lib.data.mmlu import mc_prompt
from reason_lib.data.multichoice import LETTERS, TEXT
from reason_lib.data.pauses import count_pauses, strip_pauses
from reason_lib.generate import (generate, length_sorted_batches, pause_generate, render_prompts,
                                 rollout, sequence_logprobs)
from reason_lib.rewards import gold_target, strip_final_answer
from reason_lib.stats import mean_interval, proportion


@dataclass
class ItemSet:
    """Items scored one way: `kind` gsm8k (generate, extract `#### N`), choice (generate, extract
    `Answer: X`), logprob (the most likely letter, no generation) or policy (one sampled reply per
    prompt under a reward model, with KL to a reference and the gold reward where known); the
    generation budget and batch of the experiment that defined them. `needs`: the frozen models it
    scores with, {role: {"model": path, ...}}: `perplexity` (a scorer LM's gold-answer
    perplexity after the model's reasoning), `reward` (a reward model), `reference` (the KL's
    reference policy); `benches.load_resources` loads each once."""

    name: str
    kind: str
    rows: list[dict]
    lang: str = "en"
    max_new_tokens: int = 160
    batch_size: int = 64
    needs: dict = field(default_factory=dict)
    temperature: float | None = None  # the run's own (its sampled evaluation); None: the caller's
    options: dict = field(default_factory=dict)  # more decoding settings (a pause LM's)
    only: str = ""  # scored for this model alone (its label's last part), e.g. one pause-STaR variant
    seed: int | None = None  # the run's own seed (its sampled evaluation); None: the caller's


def degeneration(tokens: list, n: int = 3) -> dict:
    """Repetition in one reply (a list of tokens or words).

    repeated_ngrams: share of the reply's n-grams that already occurred earlier in it;
    longest_run: longest run of one token repeated back to back.
    """
    grams = [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    repeated = sum(c - 1 for c in Counter(grams).values())
    run = best = 0
    for i, t in enumerate(tokens):
        run = run + 1 if i and t == tokens[i - 1] else 1
        best = max(best, run)
    return {"repeated_ngrams": repeated / len(grams) if grams else 0.0, "longest_run": best}


def summarize(records: list[dict]) -> dict:
    """Accuracy (with interval), no-answer rate (with interval) and mean degeneration of records."""
    n = len(records)
    return {"accuracy": proportion(r["correct"] for r in records),
            "no_answer": proportion(r["predicted"] is None for r in records),
            "repeated_ngrams": sum(r["repeated_ngrams"] for r in records) / max(n, 1),
            "longest_run": sum(r["longest_run"] for r in records) / max(n, 1)}


def _records(rows, prompts, replies, predicted, gold, tokenizer) -> list[dict]:
    out = []
    for row, prompt, reply, p, g in zip(rows, prompts, replies, predicted, gold):
        tokens = tokenizer.tokenize(reply) if tokenizer is not None else reply.split()
        out.append({"question": row.get("question", row.get("Question")), "reply": reply,
                    "predicted": p, "gold": g, "correct": p is not None and p == g,
                    **degeneration(tokens)})
    return out


def evaluate_gsm8k(model, tokenizer, rows: list[dict], **gen_kwargs) -> tuple[dict, list[dict]]:
    """Generate a reply per GSM8K row; (summary, per-example records)."""
    prompts = [gsm8k_prompt(r) for r in rows]
    replies = generate(model, tokenizer, prompts, **{"desc": "GSM8K eval", **gen_kwargs})
    records = _records(rows, prompts, replies, [extract_gsm8k(r) for r in replies],
                       [extract_gsm8k(r["answer"]) for r in rows], tokenizer)
    return summarize(records), records


def evaluate_choice(model, tokenizer, rows: list[dict], lang: str = "en",
                    **gen_kwargs) -> tuple[dict, list[dict]]:
    """Generate a reply per multiple-choice row (prompt in `lang`); (summary, records)."""
    prompts = [mc_prompt(r, lang) for r in rows]
    replies = generate(model, tokenizer, prompts, **{"desc": f"MC eval ({lang})", **gen_kwargs})
    records = _records(rows, prompts, replies, [extract_choice(r) for r in replies],
                       [r["Answer"] for r in rows], tokenizer)
    return summarize(records), records


def letter_token_ids(tokenizer, lead: str) -> list[int]:
    """The token each of ' A' .. ' D' adds after `lead` (e.g. 'Answer:'), one token per letter;
    an error when a letter does not take exactly one new, distinct token."""
    base = tokenizer(lead, add_special_tokens=False)["input_ids"]
    ids = []
    for letter in LETTERS:
        full = tokenizer(f"{lead} {letter}", add_special_tokens=False)["input_ids"]
        if full[:len(base)] != base or len(full) != len(base) + 1:
            raise ValueError(f"letter scoring needs ' {letter}' after {lead!r} to be one new token; "
                             f"the tokenizer gives {full[len(base) - 1:]} after {base[:-1][-3:]}")
        ids.append(full[-1])
    if len(set(ids)) != len(LETTERS):
        raise ValueError(f"letter scoring: the letters share tokens {ids}")
    return ids


@torch.inference_mode()
def evaluate_choice_logprob(model, tokenizer, rows: list[dict], lang: str = "en",
                            batch_size: int = 32, desc: str = "MC letter log-prob",
                            progress: bool = True) -> tuple[dict, list[dict]]:
    """Multiple choice scored without generation, MMLU's usual way: after the prompt and the
    assistant's answer lead (`Answer:`), the letter whose token is most likely is the answer.
    One forward pass per item. Returns (summary, records); a record holds the four letters'
    log-probabilities."""
    lead = TEXT[lang]["answer"].split("{letter}")[0].rstrip()
    letter_ids = letter_token_ids(tokenizer, lead)
    texts = [t + lead for t in render_prompts(tokenizer, [mc_prompt(r, lang) for r in rows])]
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    scores: list = [None] * len(rows)
    for idx, enc in length_sorted_batches(tokenizer, texts, batch_size, device, desc, progress):
        # left-padded: the last position is real; only its logits are computed (a 49k-token
        # vocabulary over every position of a long MMLU batch would not fit in memory)
        logits = model(**enc, logits_to_keep=1).logits[:, -1, :].float()
        logp = torch.log_softmax(logits, dim=-1)[:, letter_ids]
        for j, i in enumerate(idx):
            scores[i] = logp[j].tolist()
    model.train(was_training)
    scores = distributed.gather_filled(scores)
    records = []
    for row, lp in zip(rows, scores):
        pred = LETTERS[max(range(len(LETTERS)), key=lambda k: lp[k])]
        records.append({"question": row["Question"], "subject": row.get("Subject", ""),
                        "predicted": pred, "gold": row["Answer"], "correct": pred == row["Answer"],
                        "letter_logprobs": dict(zip(LETTERS, lp))})
    return {"accuracy": proportion(r["correct"] for r in records)}, records


def gold_perplexity(scorer, rows: list[dict], records: list[dict]) -> tuple[dict, list[float]]:
    """The scorer's perplexity of each gold answer given the policy's own reasoning (its reply with
    the final answer removed). Returns (summary, per-question NLL in nats per token); the summary
    is exp(mean NLL) with the interval of the mean NLL carried through exp."""
    lp = scorer.mean_logprobs([gsm8k_prompt(r) for r in rows],
                              [strip_final_answer(rec["reply"]) for rec in records],
                              [gold_target(r["answer"], scorer.target) for r in rows])
    nll = [-x for x in lp]
    m = mean_interval(nll)
    return {"value": math.exp(m["value"]), "low": math.exp(m["low"]), "high": math.exp(m["high"]),
            "nll": m}, nll


def evaluate_reasoning(model, tokenizer, rows: list[dict], scorer, **gen_kwargs) -> dict:
    """GSM8K accuracy and the scorer's gold-answer perplexity given the model's own reasoning:
    {accuracy, gold_perplexity, no_answer, nll (per question), records}."""
    summary, records = evaluate_gsm8k(model, tokenizer, rows, **gen_kwargs)
    ppl, nll = gold_perplexity(scorer, rows, records)
    return {"accuracy": summary["accuracy"], "no_answer": summary["no_answer"],
            "gold_perplexity": ppl, "nll": nll, "records": records}


def distinct_n(texts: list[str], n: int = 2) -> float:
    """Distinct-n: unique word n-grams over all n-grams of all texts (low = repetitive, samey)."""
    grams = [tuple(words[i:i + n]) for t in texts for words in [t.split()]
             for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def evaluate_policy(policy, tokenizer, rows: list[dict], scorer, ref_model=None, gold_fn=None,
                    max_new_tokens: int = 64, temperature: float = 1.0, batch_size: int = 64,
                    seed: int = 0, progress: bool = True) -> tuple[dict, list[dict]]:
    """One sampled reply per prompt (greedy at temperature 0), scored by the reward model (`scorer`), the gold reward
    (`gold_fn(rows, texts)`, when known) and the KL to `ref_model` (sum over the reply's tokens of
    log pi - log pi_ref, a sample estimate of KL(pi || pi_ref) in nats); plus repetition and
    distinct-n. Returns (summary, per-reply records)."""
    done = []  # (first row, its batch's records): each batch is drawn from its own seed, so
    # with several processes each rank scores its share of the batches (distributed.batches)
    batches = distributed.batches(range(0, len(rows), batch_size))
    for start in tqdm(batches, desc="policy eval",
                      disable=not progress or len(batches) < 2 or not distributed.is_main()):
        batch = rows[start:start + batch_size]
        torch.manual_seed(seed + start)
        r = rollout(policy, tokenizer, [b["prompt"] for b in batch], 1, max_new_tokens,
                    temperature=temperature, greedy=temperature == 0)
        rm = scorer([b["prompt"] for b in batch], r.texts)
        gold = gold_fn(batch, r.texts) if gold_fn is not None else [None] * len(batch)
        with torch.inference_mode():
            kl = (sequence_logprobs(policy, r) - sequence_logprobs(ref_model, r)).tolist() \
                if ref_model is not None else [None] * len(batch)
        done.append((start, [{"prompt": b["prompt"][-1]["content"], "reply": text, "reward": s,
                              "gold": g, "kl": d, **degeneration(text.split())}
                             for b, text, s, g, d in zip(batch, r.texts, rm, gold, kl)]))
    records = [rec for _, part in sorted(distributed.gather(done)) for rec in part]
    texts = [rec["reply"] for rec in records]
    summary = {"reward": mean_interval(rec["reward"] for rec in records),
               "repeated_ngrams": mean_interval(rec["repeated_ngrams"] for rec in records),
               "longest_run": sum(rec["longest_run"] for rec in records) / len(records),
               "distinct_1": distinct_n(texts, 1), "distinct_2": distinct_n(texts, 2),
               "length_words": sum(len(t.split()) for t in texts) / len(texts)}
    if gold_fn is not None:
        summary["gold"] = mean_interval(rec["gold"] for rec in records)
    if ref_model is not None:
        summary["kl"] = mean_interval(rec["kl"] for rec in records)
    return summary, records


def evaluate_pause_gsm8k(model, tokenizer, rows: list[dict], prefix: str = "",
                         **gen_kwargs) -> tuple[dict, list[dict]]:
    """GSM8K accuracy of a `PauseLM` and its pauses per reply: overall, for correct and for
    incorrect replies. `prefix` is text the reply is conditioned on (e.g. a reward string).
    Returns (summary, records); a record's reply keeps its pauses."""
    prompts = [p + prefix for p in render_prompts(tokenizer, [gsm8k_prompt(r) for r in rows])]
    replies = pause_generate(model, tokenizer, prompts, **{"desc": "GSM8K eval", **gen_kwargs})
    clean = [strip_pauses(r) for r in replies]
    records = _records(rows, prompts, clean, [extract_gsm8k(r) for r in clean],
                       [extract_gsm8k(r["answer"]) for r in rows], tokenizer)
    for rec, reply in zip(records, replies):
        rec.update(reply=reply, pauses=count_pauses(reply))
    summary = summarize(records)
    for name, keep in [("pauses", lambda r: True), ("pauses_correct", lambda r: r["correct"]),
                       ("pauses_incorrect", lambda r: not r["correct"])]:
        values = [r["pauses"] for r in records if keep(r)]
        summary[name] = mean_interval(values) if values else None
    return summary, records
