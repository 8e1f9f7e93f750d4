"""Preference pairs: a procedural world with a known gold reward, and jsonl / HH-RLHF / Hub loaders.

The hidden gold reward of a response (a list of sentences) to "Tell me about <topic>":
    +1.0 per distinct on-topic fact
    +0.5 once, if the response ends with a polite closing sentence
    -1.0 per off-topic fact (a fact about another topic)
    -0.5 per filler sentence
    -1.0 per repeated sentence (each occurrence after the first)
    -0.5 per sentence beyond the fifth
A reward model trained on pairs ranked by this rule sees "facts are good" far more often than
"repeating a fact is bad", so a policy that repeats its best fact can raise the proxy score while
the gold score falls: over-optimisation, measurable against the truth.
"""

from __future__ import annotations

import random
import re

from reason_lib.data.files import DataError, convert_rows, is_file, load_hub, read_rows
from reason_lib.data.synthetic import split_of

FACTS = {
    "tea": ["Tea is made from the leaves of a plant.", "Green tea is not fermented.",
            "Black tea has more caffeine than green tea.", "Tea was first drunk in China."],
    "rain": ["Rain falls from clouds.", "Rain forms when water vapour cools.",
             "Heavy rain can cause floods.", "Plants need rain to grow."],
    "bikes": ["A bike has two wheels.", "Riding a bike is good exercise.",
              "A helmet protects your head on a bike.", "Bike chains need oil."],
    "bread": ["Bread is baked in an oven.", "Yeast makes bread rise.",
              "Flour and water make dough.", "Fresh bread smells good."],
    "stars": ["Stars are hot balls of gas.", "The sun is a star.",
              "Stars look small because they are far away.", "Some stars are bigger than the sun."],
    "rivers": ["Rivers flow to the sea.", "Fish live in rivers.",
               "The Nile is a long river.", "Rivers carry fresh water."],
    "bees": ["Bees make honey.", "Bees help flowers make seeds.",
             "A bee can sting.", "Bees live in hives."],
    "music": ["Music is made of sound and rhythm.", "A piano has black and white keys.",
              "Songs often have a chorus.", "Drums keep the beat."],
}
POLITE = ["I hope this helps.", "Thanks for asking.", "Let me know if you want more."]
FILLER = ["That is a good question.", "Well, let me think.", "I am not sure about that.",
          "There is a lot to say."]
PROMPTS = ["Tell me about {t}.", "What do you know about {t}?", "Can you explain {t} to me?",
           "I want to learn about {t}.", "Say something about {t}.", "What can you tell me about {t}?",
           "Give me some facts about {t}.", "Teach me about {t}.", "Talk to me about {t}.",
           "Describe {t} for me.", "What should I know about {t}?", "Explain {t}, please."]


def gold_reward(topic: str, sentences: list[str]) -> float:
    """The hidden gold reward of a response to a prompt about `topic` (see the module docstring)."""
    own, others = set(FACTS[topic]), {s for t, fs in FACTS.items() if t != topic for s in fs}
    seen: set[str] = set()
    score = 0.0
    for s in sentences:
        if s in seen:
            score -= 1.0
            continue
        seen.add(s)
        score += 1.0 if s in own else -1.0 if s in others else -0.5 if s in FILLER else 0.0
    if sentences and sentences[-1] in POLITE:
        score += 0.5
    return score - 0.5 * max(0, len(sentences) - 5)


def split_sentences(text: str) -> list[str]:
    """Sentences of a response, each ending with its punctuation."""
    return [s.strip() for s in re.findall(r"[^.!?]+[.!?]", text) if s.strip()]


def gold_scores(rows: list[dict], completions: list[str]) -> list[float]:
    """The hidden gold reward of each completion to its row's prompt (rows carry `topic`)."""
    return [gold_reward(r["topic"], split_sentences(c)) for r, c in zip(rows, completions)]


def _response(rng: random.Random, topic: str) -> list[str]:
    others = [s for t, fs in FACTS.items() if t != topic for s in fs]
    pools = [FACTS[topic]] * 3 + [others, FILLER, POLITE]
    out = [rng.choice(rng.choice(pools)) for _ in range(rng.randint(1, 7))]
    if rng.random() < 0.3 and out:  # repetition of an earlier sentence
        out.insert(rng.randrange(len(out) + 1), rng.choice(out))
    return out


def preference_splits(n_train: int, n_validation: int, n_test: int, seed: int = 0,
                      label_noise: float = 0.0) -> dict[str, list[dict]]:
    """Disjoint splits of pairs: `prompt` (messages), `chosen`, `rejected`, their gold rewards, `topic`.

    The higher-gold response is chosen (ties are dropped); with `label_noise` the labels of that
    share of pairs are flipped, as human raters disagree. A pair's split is its prompt's (by
    hash), so the prompts a policy trains on are never the prompts it is evaluated on.
    """
    wanted = {"train": n_train, "validation": n_validation, "test": n_test}
    out: dict[str, list[dict]] = {k: [] for k in wanted}
    rng = random.Random(seed)
    for _ in range(100 * sum(wanted.values()) + 1000):
        if all(len(out[k]) >= wanted[k] for k in wanted):
            return out
        topic = rng.choice(sorted(FACTS))
        prompt = rng.choice(PROMPTS).format(t=topic)
        a, b = _response(rng, topic), _response(rng, topic)
        ga, gb = gold_reward(topic, a), gold_reward(topic, b)
        if ga == gb:
            continue
        if (ga < gb) != (rng.random() < label_noise):
            (a, ga), (b, gb) = (b, gb), (a, ga)
        row = {"prompt": [{"role": "user", "content": prompt}], "chosen": " ".join(a),
               "rejected": " ".join(b), "gold_chosen": ga, "gold_rejected": gb, "topic": topic}
        split = split_of(prompt)
        if len(out[split]) < wanted[split]:
            out[split].append(row)
    raise ValueError(f"could not generate {wanted} preference pairs: lower the counts")


HH_TURN = re.compile(r"\n\n(Human|Assistant): ")


def parse_hh(dialogue: str) -> tuple[list[dict], str]:
    """An HH-RLHF dialogue ("\\n\\nHuman: ... \\n\\nAssistant: ...") as (prompt messages, last reply)."""
    parts = HH_TURN.split(dialogue)
    if len(parts) < 3 or parts[-2] != "Assistant":
        raise ValueError("dialogue does not end with an Assistant turn")
    roles = {"Human": "user", "Assistant": "assistant"}
    turns = [{"role": roles[r], "content": c.strip()} for r, c in zip(parts[1::2], parts[2::2])]
    return turns[:-1], turns[-1]["content"]


def load_preferences(path_or_id: str, split: str = "test", limit: int | None = None,
                     skip_malformed: bool = False, stats: dict | None = None,
                     subset: str = "") -> list[dict]:
    """Pairs as `prompt` (messages), `chosen`, `rejected` from jsonl (HH-RLHF or explicit prompt) or Hub."""
    def convert(row):
        if row.get("prompt"):
            prompt = row["prompt"]
            return {**row, "prompt": [{"role": "user", "content": prompt}]
                    if isinstance(prompt, str) else prompt}
        try:
            prompt, chosen = parse_hh(row["chosen"])
            prompt_r, rejected = parse_hh(row["rejected"])
        except ValueError as e:
            raise ValueError(f"field 'chosen'/'rejected': {e}") from None
        if prompt != prompt_r:
            raise ValueError("field 'chosen'/'rejected': chosen and rejected dialogues have "
                             "different prompts")
        return {"prompt": prompt, "chosen": chosen, "rejected": rejected}

    if is_file(path_or_id):
        out = read_rows(path_or_id, ("chosen", "rejected"), skip_malformed, stats, convert)
    else:
        out = convert_rows(load_hub(path_or_id, split, data_dir=subset), convert,
                           f"{path_or_id}{'/' + subset if subset else ''} ({split} split)",
                           skip_malformed, stats)
    return out[:limit] if limit else out


def preference_data(source: str, n_train: int, n_test: int, seed: int = 0,
                    label_noise: float = 0.0, context_turns: int = 0, skip_malformed: bool = False,
                    stats: dict | None = None, subset: str = "") -> tuple[list[dict], list[dict], object]:
    """(train pairs, test pairs, gold_fn): the offline world when `source` is empty (gold_fn =
    `gold_scores`, the hidden truth), else a file or Hub id shuffled by `seed` and cut into
    disjoint train and test pairs (gold_fn = None: real data has no known gold reward).

    `context_turns > 0` keeps only the last that many prompt messages of each dialogue (the turns
    the final reply answers); `skip_malformed` drops unparsable rows, counted in `stats["skipped"]`;
    `subset` names one subset folder of a Hub dataset (HH-RLHF: `harmless-base`).
    """
    if not source:
        splits = preference_splits(n_train, 1, n_test, seed=seed, label_noise=label_noise)
        return splits["train"], splits["test"], gold_scores
    rows = load_preferences(source, "train", skip_malformed=skip_malformed, stats=stats,
                            subset=subset)
    if len(rows) < n_train + n_test:
        raise DataError(f"{source}: {len(rows)} pairs, fewer than n_train + n_test = "
                        f"{n_train + n_test}")
    if context_turns:
        rows = [{**r, "prompt": r["prompt"][-context_turns:]} for r in rows]
    random.Random(seed).shuffle(rows)
    return rows[n_test:n_test + n_train], rows[:n_test], None


def prompt_rows(rows: list[dict]) -> list[dict]:
    """The prompts of preference pairs, as a policy is rolled out on them (with the offline
    world's topic, which its gold reward reads)."""
    return [{"prompt": r["prompt"], **({"topic": r["topic"]} if "topic" in r else {})} for r in rows]
