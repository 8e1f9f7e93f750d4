"""Procedural MMLU-format multiple choice, each item rendered in English and in Yoruba.

The same underlying item (subject, correct letter, distractors) is written in both languages, so an
English-vs-Yoruba accuracy gap measures the language, not the questions. An item's split is fixed
by the hash of its identity (`identity`): an arithmetic question by its text alone (a test sum is
never a training sum: the model must compute it), any other by its text with its set of option
values, so no test question occurs in training with the same options in another order. Rows follow the MMLU CSV
schema (`Question, A, B, C, D, Answer, Subject`) plus `Rationale` (the reference reply's reasoning,
used for SFT) and `Language`.
"""

from __future__ import annotations

import random

from reason_lib.data.synthetic import split_of

LETTERS = "ABCD"

# Yoruba numerals (the counting names, with tone marks), 0..20.
YORUBA_NUMBERS = ["òdo", "ọ̀kan", "èjì", "ẹ̀ta", "ẹ̀rin", "àrún", "ẹ̀fà", "èje", "ẹ̀jọ", "ẹ̀sán",
                  "ẹ̀wá", "ọ̀kanlá", "èjìlá", "ẹ̀tàlá", "ẹ̀rìnlá", "ẹ̀ẹ́dógún", "ẹ̀rìndínlógún",
                  "ẹ̀tàdínlógún", "èjìdínlógún", "ọ̀kàndínlógún", "ogún"]
DAYS = {"en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
        "yo": ["Ọjọ́ Ajé", "Ọjọ́ Ìṣẹ́gun", "Ọjọ́rú", "Ọjọ́bọ̀", "Ọjọ́ Ẹtì", "Ọjọ́ Àbámẹ́ta",
               "Ọjọ́ Àìkú"]}
# animal: (English, Yoruba, number of legs)
ANIMALS = [("chicken", "adìẹ", 2), ("dog", "ajá", 4), ("goat", "ewúrẹ́", 4),
           ("spider", "aláǹtakùn", 8), ("ant", "èèrà", 6), ("bird", "ẹyẹ", 2), ("cow", "màlúù", 4),
           ("cat", "ológbò", 4), ("duck", "pẹ́pẹ́yẹ", 2), ("bee", "oyin", 6), ("horse", "ẹṣin", 4)]

# Per language: question, rationale and answer-line templates per subject.
TEXT = {
    "en": {
        "add_q": "What is {a} plus {b}?", "add_r": "{a} plus {b} equals {c}.",
        "sub_q": "What is {a} minus {b}?", "sub_r": "{a} minus {b} equals {c}.",
        "max_q": "Which number is the largest?", "max_r": "The largest number is {c}.",
        "day_q": "Which day comes after {d}?", "day_r": "The day after {d} is {c}.",
        "legs_q": "How many legs does a {x} have?", "legs_r": "A {x} has {c} legs.",
        "find_q": "Which option says {c}?", "find_r": "We look for {c}.",
        "answer": "Answer: {letter}", "so": "so",
        "system": "Think step by step, then end your reply with 'Answer: X' where X is A, B, C or D.",
    },
    "yo": {
        "add_q": "Kí ni àròpọ̀ {a} àti {b}?", "add_r": "Àròpọ̀ {a} àti {b} jẹ́ {c}.",
        "sub_q": "Kí ni {a} dín {b}?", "sub_r": "{a} dín {b} jẹ́ {c}.",
        "max_q": "Èwo ni nọ́mbà tó tóbi jùlọ?", "max_r": "Nọ́mbà tó tóbi jùlọ ni {c}.",
        "day_q": "Ọjọ́ wo ló tẹ̀lé {d}?", "day_r": "Ọjọ́ tó tẹ̀lé {d} ni {c}.",
        "legs_q": "Ẹsẹ̀ mélòó ni {x} ní?", "legs_r": "{x} ní ẹsẹ̀ {c}.",
        "find_q": "Èwo ni {c}?", "find_r": "A ń wá {c}.",
        "answer": "Ìdáhùn: {letter}", "so": "nítorí náà",
        "system": "Ronú ní ìgbésẹ̀ ìgbésẹ̀, kí o sì parí ìdáhùn rẹ pẹ̀lú 'Ìdáhùn: X' níbi tí X jẹ́ A, B, C tàbí D.",
    },
}
# option_lookup ("Which option says 6?") is reading, not knowledge: it trains the value -> letter
# lookup every other subject ends with.
SUBJECTS = ["elementary_arithmetic", "number_comparison", "calendar", "animal_biology",
            "option_lookup"]


def _num(n: int, lang: str) -> str:
    return YORUBA_NUMBERS[n] if lang == "yo" else str(n)


def _distinct(rng: random.Random, correct: int, lo: int, hi: int) -> list[int]:
    """Three distractors in [lo, hi], distinct from each other and from the correct value."""
    pool = [v for v in range(lo, hi + 1) if v != correct]
    return rng.sample(pool, 3)


def _item(rng: random.Random, subject: str) -> dict:
    """A language-neutral item: option values, the correct index and the template fields."""
    if subject == "elementary_arithmetic":
        op = rng.choice(["add", "sub"])
        a, b = rng.randint(1, 10), rng.randint(1, 10)
        if op == "sub" and b > a:
            a, b = b, a
        c = a + b if op == "add" else a - b
        options = [c] + _distinct(rng, c, max(0, c - 4), min(20, c + 4))
        return {"kind": op, "a": a, "b": b, "options": options, "numeric": True}
    if subject == "number_comparison":
        options = rng.sample(range(0, 21), 4)
        options.sort(reverse=True)  # correct (largest) first; shuffled below
        return {"kind": "max", "options": options, "numeric": True}
    if subject == "calendar":
        d = rng.randrange(7)
        others = rng.sample([i for i in range(7) if i != (d + 1) % 7], 3)
        return {"kind": "day", "d": d, "options": [(d + 1) % 7] + others, "numeric": False}
    if subject == "option_lookup":
        c = rng.randint(0, 20)
        return {"kind": "find", "options": [c] + _distinct(rng, c, 0, 20), "numeric": True}
    animal = rng.randrange(len(ANIMALS))
    legs = ANIMALS[animal][2]
    options = [legs] + rng.sample([v for v in (0, 2, 4, 6, 8, 10) if v != legs], 3)
    return {"kind": "legs", "x": animal, "options": options, "numeric": True}


def render(item: dict, order: list[int], lang: str, subject: str) -> dict:
    """The MMLU row for `item` in one language, options permuted by `order`."""
    t = TEXT[lang]
    kind = item["kind"]

    def word(v: int) -> str:
        return _num(v, lang) if item["numeric"] else DAYS[lang][v]

    fields = {"c": word(item["options"][0])}
    if kind in ("add", "sub"):
        fields.update(a=_num(item["a"], lang), b=_num(item["b"], lang))
    elif kind == "day":
        fields["d"] = DAYS[lang][item["d"]]
    elif kind == "legs":
        fields["x"] = ANIMALS[item["x"]][0 if lang == "en" else 1]
    options = [word(item["options"][i]) for i in order]
    letter = LETTERS[order.index(0)]
    row = {"Question": t[f"{kind}_q"].format(**fields), **dict(zip(LETTERS, options)),
           "Answer": letter, "Subject": subject, "Language": lang}
    # Value-first listing ("8 A, 0 B, ..."), the reasoning, then "value letter". The letter token
    # directly follows its value, so finding it is plain induction (after this token, what came
    # next last time?), which a small model learns; in the prompt's MMLU layout the letter comes
    # before its value and the backward lookup stayed at chance in our runs.
    listing = ", ".join(f"{o} {k}" for k, o in zip(LETTERS, options))
    reason = t[f"{kind}_r"].format(**fields).rstrip(".")
    row["Rationale"] = f"{listing}. {reason[0].upper()}{reason[1:]}, {t['so']} {fields['c']} {letter}."
    return row


def identity(item: dict, subject: str) -> str:
    """What makes two items the same question (`mmlu_splits` splits on it): arithmetic by its
    question; the rest by question and option set (knowledge and reading tasks, whose facts
    or lookups are the skill, asked over options never seen together in training)."""
    question = render(item, [0, 1, 2, 3], "en", subject)["Question"]
    if item["kind"] in ("add", "sub"):
        return question
    return question + "|" + ",".join(str(v) for v in sorted(item["options"]))


def mmlu_splits(n_train: int, n_validation: int, n_test: int, seed: int = 0,
                subjects: list[str] | None = None) -> dict[str, list[dict]]:
    """Disjoint splits of items; each split holds `{"en": rows, "yo": rows}` aligned by index."""
    subjects = subjects or SUBJECTS
    wanted = {"train": n_train, "validation": n_validation, "test": n_test}
    out: dict[str, dict[str, list[dict]]] = {k: {"en": [], "yo": []} for k in wanted}
    seen: set[str] = set()
    rng = random.Random(seed)
    for _ in range(100 * sum(wanted.values()) + 1000):
        if all(len(out[k]["en"]) >= wanted[k] for k in wanted):
            return out
        subject = rng.choice(subjects)
        item = _item(rng, subject)
        order = rng.sample(range(4), 4)
        en = render(item, order, "en", subject)
        key = "|".join(en[k] for k in ("Question", *LETTERS))
        split = split_of(identity(item, subject))
        if key in seen or len(out[split]["en"]) >= wanted[split]:
            continue
        seen.add(key)
        out[split]["en"].append(en)
        out[split]["yo"].append(render(item, order, "yo", subject))
    raise ValueError(f"could not generate {wanted} distinct multiple-choice items "
                     f"for subjects {subjects}: lower the counts")
