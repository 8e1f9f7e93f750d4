"""Procedural GSM8K-format word problems: multi-step integer arithmetic with exact results.

Each problem starts from a quantity and applies 1..max_steps operations (+, -, *, /). The rationale
uses GSM8K's exact conventions (`a+b=<<a+b=c>>c` per step, last line `#### N`), so every loader,
extractor and evaluation written for the real data runs unchanged on this one.

Every sentence of a question is a *template*: a frame (where the sentence puts the person, e.g.
"After that, {n} {p}.") combined with a phrase (what happens, e.g. "sells {x} {o}"). A fixed quarter
of the frame x phrase combinations (chosen by hash) never occurs in the train / validation / test
splits: `gsm8k_paraphrase` builds a test set from those alone, so a model that only completes the
templates it was trained on shows it there. Every frame and every phrase on its own is seen in
training; only their combinations are new. Distractor sentences (another person's quantity)
make the problems have to be read rather than recalled.
"""

from __future__ import annotations

import hashlib
import random

NAMES = ["Ada", "Bola", "Chen", "Dana", "Emeka", "Fatima", "Goran", "Hana", "Ivan", "Jade",
         "Kofi", "Lena", "Musa", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tunde",
         "Uma", "Victor", "Wen", "Xavi", "Yusuf", "Zara", "Amir", "Bea", "Carlos", "Dev",
         "Eli", "Femi", "Gita", "Hugo", "Ines", "Jon", "Kemi", "Luis", "Maya", "Nico",
         "Olu", "Pia", "Raj", "Sara", "Tom", "Ugo", "Vera", "Will", "Yara", "Zoe"]
OBJECTS = ["apples", "marbles", "books", "coins", "pencils", "stickers", "cookies", "shells",
           "cards", "eggs", "flowers", "stamps", "balloons", "candies", "toys", "beads",
           "oranges", "crayons", "buttons", "rocks", "tickets", "cupcakes", "leaves", "blocks",
           "ribbons", "plums", "nuts", "boxes", "hats", "cups", "bottles", "lemons"]

# (question phrase, rationale phrase) per operation; {o} object, {x} operand, {y} operand - 1.
PHRASES = {
    "+": [("buys {x} more {o}", "After buying {x} more"),
          ("finds {x} more {o}", "After finding {x} more"),
          ("gets {x} more {o} from a friend", "With {x} more from a friend"),
          ("wins {x} more {o}", "After winning {x} more"),
          ("picks up {x} more {o}", "After picking up {x} more"),
          ("receives {x} extra {o}", "After receiving {x} extra")],
    "-": [("gives away {x} {o}", "After giving away {x}"),
          ("loses {x} {o}", "After losing {x}"),
          ("sells {x} {o}", "After selling {x}"),
          ("uses up {x} {o}", "After using up {x}"),
          ("drops {x} {o}", "After dropping {x}"),
          ("hands {x} {o} to a neighbour", "After handing {x} to a neighbour")],
    "*": [("collects {x} times as many {o} as before", "With {x} times as many"),
          ("ends up with {x} times as many {o}", "Ending up with {x} times as many"),
          ("makes the pile of {o} {x} times bigger", "Making the pile {x} times bigger"),
          ("multiplies the {o} by {x}", "Multiplying by {x}")],
    "/": [("splits the {o} into {x} equal groups and keeps one group",
           "Keeping one of {x} equal groups"),
          ("shares the {o} equally with {y} friends and keeps one share",
           "Sharing among {x} people"),
          ("divides the {o} into {x} equal piles and keeps one pile",
           "Keeping one of {x} equal piles"),
          ("keeps only one of every {x} {o}", "Keeping one of every {x}")],
}
STEP_FRAMES = ["Then {n} {p}.", "After that, {n} {p}.", "Next, {n} {p}.", "Later, {n} {p}.",
               "On Monday {n} {p}.", "In the afternoon {n} {p}.", "The next day {n} {p}.",
               "Soon {n} {p}."]
# Start: frame x verb phrase ({a} the starting quantity).
START_PHRASES = ["has {a} {o}", "starts with {a} {o}", "owns {a} {o}", "keeps {a} {o} in a box",
                 "holds {a} {o}", "counts {a} {o}"]
START_FRAMES = ["{n} {p}.", "At first {n} {p}.", "In the morning {n} {p}.", "On Sunday {n} {p}.",
                "To begin with, {n} {p}."]
QUESTION_PHRASES = ["have now", "have at the end", "end up with", "have left", "hold now"]
QUESTION_FRAMES = ["How many {o} does {n} {p}?", "In total, how many {o} does {n} {p}?",
                   "So how many {o} does {n} {p}?", "Tell me: how many {o} does {n} {p}?"]
# Another person's quantity, irrelevant to the answer ({m} other name, {k} number, {q} object).
DISTRACTOR_PHRASES = ["has {k} {q}", "owns {k} {q}", "keeps {k} {q} in a box", "holds {k} {q}"]
DISTRACTOR_FRAMES = ["{m} {p}.", "Meanwhile, {m} {p}.", "{n}'s friend {m} {p}.",
                     "Next door, {m} {p}."]
DISTRACTOR_RATE = 0.3

SPLIT_SHARES = {"train": 0.8, "validation": 0.1, "test": 0.1}
PARAPHRASE_SHARE = 0.25


def split_of(text: str, shares: dict[str, float] = SPLIT_SHARES) -> str:
    """The split a text belongs to, fixed by its hash so splits are disjoint by construction."""
    u = int(hashlib.sha1(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    edge = 0.0
    for name, share in shares.items():
        edge += share
        if u < edge:
            return name
    return name


def _templates(frames: list[str], phrases: list, paraphrase: bool) -> list[tuple[str, object]]:
    """The (frame, phrase) combinations of one side: the held-out quarter or the rest."""
    held = {"held": PARAPHRASE_SHARE, "seen": 1.0 - PARAPHRASE_SHARE}
    return [(f, p) for f in frames for p in phrases
            if (split_of(f + "|" + str(p), held) == "held") == paraphrase]


def template_sets(paraphrase: bool) -> dict[str, list]:
    """Every sentence kind's templates on one side of the paraphrase split."""
    out = {op: _templates(STEP_FRAMES, phrases, paraphrase) for op, phrases in PHRASES.items()}
    out["start"] = _templates(START_FRAMES, START_PHRASES, paraphrase)
    out["question"] = _templates(QUESTION_FRAMES, QUESTION_PHRASES, paraphrase)
    out["distractor"] = _templates(DISTRACTOR_FRAMES, DISTRACTOR_PHRASES, paraphrase)
    return out


def _operation(rng: random.Random, value: int, max_operand: int) -> tuple[str, int]:
    """Pick an operation and operand that keep the running value a small non-negative integer."""
    choices = ["+", "+", "-", "-", "*", "/"]
    while True:
        op = rng.choice(choices)
        if op == "+":
            return op, rng.randint(2, max_operand)
        if op == "-" and value > 2:
            return op, rng.randint(1, min(value - 1, max_operand))
        if op == "*" and value <= max_operand * 2:
            return op, rng.randint(2, 4)
        if op == "/":
            divisors = [d for d in range(2, 6) if value % d == 0 and value > d]
            if divisors:
                return op, rng.choice(divisors)


def make_problem(rng: random.Random, n_steps: int, max_operand: int = 20,
                 templates: dict[str, list] | None = None) -> dict:
    """One problem as a GSM8K row: `question`, `answer` (rationale ending `#### N`), plus `n_steps`.
    `templates` (from `template_sets`) defaults to the training side."""
    templates = templates or template_sets(paraphrase=False)
    name, other = rng.sample(NAMES, 2)
    obj, other_obj = rng.sample(OBJECTS, 2)
    value = rng.randint(2, 2 * max_operand)
    frame, phrase = rng.choice(templates["start"])
    question = [frame.format(n=name, p=phrase.format(a=value, o=obj))]
    rationale = [f"{name} starts with {value} {obj}."]
    distract_at = rng.randint(0, n_steps) if rng.random() < DISTRACTOR_RATE else -1
    for step in range(n_steps):
        if step == distract_at:
            question.append(_distractor(rng, templates, name, other, other_obj, max_operand))
        op, x = _operation(rng, value, max_operand)
        result = {"+": value + x, "-": value - x, "*": value * x, "/": value // x}[op]
        frame, (q_phrase, r_phrase) = rng.choice(templates[op])
        question.append(frame.format(n=name, p=q_phrase.format(o=obj, x=x, y=x - 1)))
        expr = f"{value}{op}{x}"
        rationale.append(f"{r_phrase.format(x=x)}, {name} has {expr}=<<{expr}={result}>>{result} {obj}.")
        value = result
    if distract_at == n_steps:
        question.append(_distractor(rng, templates, name, other, other_obj, max_operand))
    frame, phrase = rng.choice(templates["question"])
    question.append(frame.format(n=name, o=obj, p=phrase))
    return {"question": " ".join(question), "answer": "\n".join(rationale) + f"\n#### {value}",
            "n_steps": n_steps}


def _distractor(rng, templates, name, other, other_obj, max_operand) -> str:
    frame, phrase = rng.choice(templates["distractor"])
    return frame.format(n=name, m=other, p=phrase.format(k=rng.randint(2, 2 * max_operand), q=other_obj))


def gsm8k_splits(n_train: int, n_validation: int, n_test: int, max_steps: int = 3,
                 max_operand: int = 20, seed: int = 0, min_steps: int = 1) -> dict[str, list[dict]]:
    """Disjoint train/validation/test lists of GSM8K-format rows, step counts uniform in [min, max];
    every sentence from the training side of the templates."""
    wanted = {"train": n_train, "validation": n_validation, "test": n_test}
    return _generate(wanted, lambda row: split_of(row["question"]), template_sets(False),
                     max_steps, max_operand, seed, min_steps)


def gsm8k_paraphrase(n: int, max_steps: int = 3, max_operand: int = 20, seed: int = 0,
                     min_steps: int = 1) -> list[dict]:
    """A test set whose every sentence uses a held-out template (a frame x phrase combination that
    no `gsm8k_splits` problem contains); same names, objects, numbers and rationale format."""
    return _generate({"paraphrase": n}, lambda row: "paraphrase", template_sets(True), max_steps,
                     max_operand, seed, min_steps)["paraphrase"]


def _generate(wanted: dict[str, int], split, templates: dict, max_steps: int, max_operand: int,
              seed: int, min_steps: int) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {k: [] for k in wanted}
    seen: set[str] = set()
    rng = random.Random(seed)
    for _ in range(100 * sum(wanted.values()) + 1000):
        if all(len(out[k]) >= wanted[k] for k in wanted):
            return out
        row = make_problem(rng, rng.randint(min_steps, max_steps), max_operand, templates)
        name = split(row)
        if row["question"] not in seen and len(out[name]) < wanted[name]:
            seen.add(row["question"])
            out[name].append(row)
    raise ValueError(f"could not generate {wanted} distinct problems with max_steps={max_steps}, "
                     f"max_operand={max_operand}: raise max_operand or lower the counts")
