"""The offline world assembled for training: the base-model mixture and the tokenizer corpus."""

from __future__ import annotations

import random

from reason_lib.data.gsm8k import gsm8k_prompt
from reason_lib.data.mmlu import mc_prompt, mc_target
from reason_lib.data.preferences import FACTS, FILLER, POLITE, PROMPTS


def base_mixture(gsm_rows: list[dict], mc_rows: dict[str, list[dict]], yoruba_share: float,
                 seed: int = 0) -> list[dict]:
    """Conversational prompt-completion rows: every GSM8K-format problem, every English
    multiple-choice item, and Yoruba items making up `yoruba_share` of the multiple-choice part."""
    rng = random.Random(seed)
    rows = [{"prompt": gsm8k_prompt(r), "completion": r["answer"]} for r in gsm_rows]
    rows += [{"prompt": mc_prompt(r, "en"), "completion": mc_target(r, "en")} for r in mc_rows["en"]]
    n_yo = round(len(mc_rows["en"]) * yoruba_share / max(1e-9, 1 - yoruba_share))
    yo = rng.sample(mc_rows["yo"], min(n_yo, len(mc_rows["yo"])))
    rows += [{"prompt": mc_prompt(r, "yo"), "completion": mc_target(r, "yo")} for r in yo]
    rng.shuffle(rows)
    return [{"prompt": r["prompt"], "completion": [{"role": "assistant", "content": r["completion"]}]}
            for r in rows]


def corpus(rows: list[dict], mc_rows: dict[str, list[dict]]) -> list[str]:
    """Texts to train the tokenizer on: the mixture, all Yoruba items (so Yoruba words get tokens
    even when few are trained on) and the preference world's sentences."""
    texts = [m["content"] for r in rows for m in r["prompt"] + r["completion"]]
    texts += [mc_prompt(r, "yo")[1]["content"] + "\n" + mc_target(r, "yo") for r in mc_rows["yo"]]
    texts += [s for fs in FACTS.values() for s in fs] + FILLER + POLITE
    texts += [p.format(t=t) for p in PROMPTS for t in FACTS]
    return texts
