"""Procedural GSM8K-format word problems: multi-step integer arithmetic with exact results.

Each problem starts from a quantity and applies 1..max_steps operations (+, -, *, /). The rationale
uses GSM8K's exact conventions (`a+b=<<a+b=c>>c` per step, last line `#### N`), so every loader,
extractor and evaluation written for the real data runs unchanged on this one.

Every sentence of a question is a frame (where the sentence puts the person, e.g. "After that,
{n} {p}.") combined with a phrase (what happens, e.g. "sells {x} {o}"). A fixed quarter of the
frames and a fixed quarter of the phrases of every sentence kind (chosen by hash) are held out
whole: no train, validation or test problem contains them, and `gsm8k_paraphrase` builds its
problems from held-out frames with held-out phrases only, so every sentence of a paraphrase
problem is worded in a way the model never read. Distractor sentences (another person's quantity)
make the problems have to be read rather than recalled.

No leaks: a problem's split is fixed by the hash of its *chain* (the person, the starting quantity
and the sequence of operations and operands), not of its wording, so a reworded training problem
can never be a test or validation problem; the paraphrase set is drawn from a random stream of
its own and keeps only chains of the test side.
"""

from __future__ import annotations

import hashlib
import random
import re

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
          ("receives {x} extra {o}", "After receiving {x} extra"),
          ("is given {x} more {o}", "After being given {x} more"),
          ("earns {x} more {o}", "After earning {x} more"),
          ("gathers another {x} {o}", "After gathering another {x}"),
          ("brings home {x} more {o}", "After bringing home {x} more"),
          ("adds {x} {o} to the pile", "After adding {x}"),
          ("is handed {x} more {o} by a teacher", "With {x} more from a teacher")],
    "-": [("gives away {x} {o}", "After giving away {x}"),
          ("loses {x} {o}", "After losing {x}"),
          ("sells {x} {o}", "After selling {x}"),
          ("uses up {x} {o}", "After using up {x}"),
          ("drops {x} {o}", "After dropping {x}"),
          ("hands {x} {o} to a neighbour", "After handing {x} to a neighbour"),
          ("throws away {x} {o}", "After throwing away {x}"),
          ("donates {x} {o}", "After donating {x}"),
          ("trades away {x} {o}", "After trading away {x}"),
          ("lends {x} {o} to a cousin", "After lending {x} to a cousin"),
          ("breaks {x} {o}", "After breaking {x}"),
          ("leaves {x} {o} on the bus", "After leaving {x} on the bus")],
    "*": [("collects {x} times as many {o} as before", "With {x} times as many"),
          ("ends up with {x} times as many {o}", "Ending up with {x} times as many"),
          ("makes the pile of {o} {x} times bigger", "Making the pile {x} times bigger"),
          ("multiplies the {o} by {x}", "Multiplying by {x}"),
          ("gets {x} times the {o} it had", "Getting {x} times as many"),
          ("turns each of the {o} into {x}", "Turning each into {x}"),
          ("grows the stack of {o} to {x} times its size", "Growing the stack {x} times"),
          ("copies the {o} until there are {x} times as many", "Copying to {x} times as many")],
    "/": [("splits the {o} into {x} equal groups and keeps one group",
           "Keeping one of {x} equal groups"),
          ("shares the {o} equally with {y} friends and keeps one share",
           "Sharing among {x} people"),
          ("divides the {o} into {x} equal piles and keeps one pile",
           "Keeping one of {x} equal piles"),
          ("keeps only one of every {x} {o}", "Keeping one of every {x}"),
          ("puts the {o} into {x} equal bags and keeps one bag", "Keeping one of {x} equal bags"),
          ("cuts the stack of {o} into {x} equal parts and keeps one part",
           "Keeping one of {x} equal parts"),
          ("sorts the {o} into {x} equal rows and keeps one row", "Keeping one of {x} equal rows")],
}
STEP_FRAMES = ["Then {n} {p}.", "After that, {n} {p}.", "Next, {n} {p}.", "Later, {n} {p}.",
               "On Monday {n} {p}.", "In the afternoon {n} {p}.", "The next day {n} {p}.",
               "Soon {n} {p}.", "Afterwards, {n} {p}.", "On Tuesday {n} {p}.",
               "In the evening {n} {p}.", "A week later {n} {p}.", "Right after, {n} {p}.",
               "By noon {n} {p}.", "At lunch {n} {p}.", "Before dinner {n} {p}."]
# Start: frame x verb phrase ({a} the starting quantity).
START_PHRASES = ["has {a} {o}", "starts with {a} {o}", "owns {a} {o}", "keeps {a} {o} in a box",
                 "holds {a} {o}", "counts {a} {o}", "is given {a} {o}", "collects {a} {o}",
                 "saves {a} {o}", "brings {a} {o}"]
START_FRAMES = ["{n} {p}.", "At first {n} {p}.", "In the morning {n} {p}.", "On Sunday {n} {p}.",
                "To begin with, {n} {p}.", "Early on, {n} {p}.", "On Saturday {n} {p}.",
                "Last week {n} {p}.", "At the start, {n} {p}."]
QUESTION_PHRASES = ["have now", "have at the end", "end up with", "have left", "hold now",
                    "own now", "keep in the end", "have after all that"]
QUESTION_FRAMES = ["How many {o} does {n} {p}?", "In total, how many {o} does {n} {p}?",
                   "So how many {o} does {n} {p}?", "Tell me: how many {o} does {n} {p}?",
                   "Finally, how many {o} does {n} {p}?", "Count them: how many {o} does {n} {p}?",
                   "Work it out: how many {o} does {n} {p}?", "Now, how many {o} does {n} {p}?"]
# Another person's quantity, irrelevant to the answer ({m} other name, {k} number, {q} object).
DISTRACTOR_PHRASES = ["has {k} {q}", "owns {k} {q}", "keeps {k} {q} in a box", "holds {k} {q}",
                      "carries {k} {q}", "collects {k} {q}", "saves {k} {q}"]
DISTRACTOR_FRAMES = ["{m} {p}.", "Meanwhile, {m} {p}.", "{n}'s friend {m} {p}.",
                     "Next door, {m} {p}.", "Across the street, {m} {p}.", "At school, {m} {p}.",
                     "Elsewhere, {m} {p}."]
DISTRACTOR_RATE = 0.3

SPLIT_SHARES = {"train": 0.8, "validation": 0.1, "test": 0.1}
HELD_SHARE = 0.25  # of the frames, and of the phrases, of every sentence kind


def _unit(text: str) -> float:
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def split_of(text: str, shares: dict[str, float] = SPLIT_SHARES) -> str:
    """The split a text belongs to, fixed by its hash so splits are disjoint by construction."""
    u, edge = _unit(text), 0.0
    for name, share in shares.items():
        edge += share
        if u < edge:
            return name
    return name


def _shape(template: str) -> str:
    """A template with its fields blanked: "has {a} {o}" and "has {k} {q}" are one wording."""
    return re.sub(r"\{\w\}", "{}", template)


def held_out(items: list) -> set[str]:
    """The held-out frames or phrases of a list: those whose wording (`_shape`) hashes below
    HELD_SHARE, so a wording two sentence kinds share (a start and a distractor "has {} {}") is
    held out, or seen, in both."""
    return {_wording(i) for i in items if _unit("held:" + _shape(_wording(i))) < HELD_SHARE}


def _wording(item) -> str:
    """A frame or phrase as text (an operation's phrase by its question side)."""
    return item[0] if isinstance(item, tuple) else item


def _templates(frames: list[str], phrases: list, paraphrase: bool) -> list[tuple[str, object]]:
    """One side's (frame, phrase) combinations: held-out frames with held-out phrases for the
    paraphrase set, seen frames with seen phrases for everything else."""
    held_frames, held_phrases = held_out(frames), held_out(phrases)
    return [(f, p) for f in frames for p in phrases
            if (f in held_frames) == paraphrase and (_wording(p) in held_phrases) == paraphrase]


def template_sets(paraphrase: bool) -> dict[str, list]:
    """Every sentence kind's templates on one side of the paraphrase split."""
    out = {op: _templates(STEP_FRAMES, phrases, paraphrase) for op, phrases in PHRASES.items()}
    out["start"] = _templates(START_FRAMES, START_PHRASES, paraphrase)
    out["question"] = _templates(QUESTION_FRAMES, QUESTION_PHRASES, paraphrase)
    out["distractor"] = _templates(DISTRACTOR_FRAMES, DISTRACTOR_PHRASES, paraphrase)
    return out


def chain(row: dict) -> str:
    """A problem's identity whatever its wording: the person, the starting quantity and every
    step's operation and operand, read off its rationale (`Ada|12|12+3|15*2`)."""
    lines = row["answer"].splitlines()
    person, start = lines[0].split()[0], lines[0].split()[3]
    steps = [s.split("=<<")[0].rsplit(" ", 1)[-1] for s in lines[1:-1]]
    return "|".join([person, start, *steps])


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
    every sentence from the seen side of the templates; a problem's split is its chain's."""
    wanted = {"train": n_train, "validation": n_validation, "test": n_test}
    return _generate(wanted, lambda row: split_of(chain(row)), template_sets(False),
                     max_steps, max_operand, random.Random(seed), min_steps)


def gsm8k_paraphrase(n: int, max_steps: int = 3, max_operand: int = 20, seed: int = 0,
                     min_steps: int = 1) -> list[dict]:
    """A test set whose every sentence pairs a held-out frame with a held-out phrase (none of
    either occurs in a `gsm8k_splits` problem); same names, objects, numbers and rationale
    format; drawn from its own random stream, and only chains of the test side (never a
    training or validation problem reworded)."""
    def split(row):
        return "paraphrase" if split_of(chain(row)) == "test" else "other"

    return _generate({"paraphrase": n}, split, template_sets(True), max_steps, max_operand,
                     random.Random(f"paraphrase:{seed}"), min_steps)["paraphrase"]


def _generate(wanted: dict[str, int], split, templates: dict, max_steps: int, max_operand: int,
              rng: random.Random, min_steps: int) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {k: [] for k in wanted}
    seen: set[str] = set()
    for _ in range(200 * sum(wanted.values()) + 1000):
        if all(len(out[k]) >= wanted[k] for k in wanted):
            return out
        row = make_problem(rng, rng.randint(min_steps, max_steps), max_operand, templates)
        name = split(row)
        if name in out and row["question"] not in seen and len(out[name]) < wanted[name]:
            seen.add(row["question"])
            out[name].append(row)
    raise ValueError(f"could not generate {wanted} distinct problems with max_steps={max_steps}, "
                     f"max_operand={max_operand}: raise max_operand or lower the counts")
