"""Procedural GSM8K-format word problems: multi-step integer arithmetic with exact results.

Each problem starts from a quantity and applies 1..max_steps operations (+, -, *, /). The rationale
uses GSM8K's exact conventions (`a+b=<<a+b=c>>c` per step, last line `#### N`), so every loader,
extractor and evaluation written for the real data runs unchanged on this one.
"""

from __future__ import annotations

import hashlib
import random

NAMES = ["Ada", "Bola", "Chen", "Dana", "Emeka", "Fatima", "Goran", "Hana", "Ivan", "Jade",
         "Kofi", "Lena", "Musa", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tunde"]
OBJECTS = ["apples", "marbles", "books", "coins", "pencils", "stickers", "cookies", "shells",
           "cards", "eggs", "flowers", "stamps", "balloons", "candies", "toys", "beads"]

# (question sentence, rationale sentence) per operation; {n} name, {o} object, {x} operand.
TEMPLATES = {
    "+": [("Then {n} buys {x} more {o}.", "After buying {x} more, {n} has"),
          ("A friend gives {n} {x} more {o}.", "With {x} more from a friend, {n} has"),
          ("{n} finds {x} more {o}.", "After finding {x} more, {n} has")],
    "-": [("Then {n} gives away {x} {o}.", "After giving away {x}, {n} has"),
          ("{n} loses {x} {o}.", "After losing {x}, {n} has"),
          ("{n} sells {x} {o}.", "After selling {x}, {n} has")],
    "*": [("Then the number of {o} grows to {x} times as many.", "Growing {x} times, {n} has"),
          ("{n} collects {x} times as many {o} as before.", "With {x} times as many, {n} has")],
    "/": [("Then {n} splits the {o} into {x} equal groups and keeps one group.",
           "Keeping one of {x} equal groups, {n} has"),
          ("{n} shares the {o} equally with {y} friends and keeps one share.",
           "Sharing among {x} people, {n} has")],
}
STARTS = ["{n} has {a} {o}.", "{n} starts with {a} {o}.", "There are {a} {o} in {n}'s bag."]
QUESTIONS = ["How many {o} does {n} have now?", "How many {o} are left with {n} at the end?"]

SPLIT_SHARES = {"train": 0.8, "validation": 0.1, "test": 0.1}


def split_of(text: str, shares: dict[str, float] = SPLIT_SHARES) -> str:
    """The split a text belongs to, fixed by its hash so splits are disjoint by construction."""
    u = int(hashlib.sha1(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    edge = 0.0
    for name, share in shares.items():
        edge += share
        if u < edge:
            return name
    return name


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


def make_problem(rng: random.Random, n_steps: int, max_operand: int = 20) -> dict:
    """One problem as a GSM8K row: `question`, `answer` (rationale ending `#### N`), plus `n_steps`."""
    name, obj = rng.choice(NAMES), rng.choice(OBJECTS)
    value = rng.randint(2, max_operand)
    question = [rng.choice(STARTS).format(n=name, a=value, o=obj)]
    rationale = [f"{name} starts with {value} {obj}."]
    for _ in range(n_steps):
        op, x = _operation(rng, value, max_operand)
        result = {"+": value + x, "-": value - x, "*": value * x, "/": value // x}[op]
        q_tmpl, r_tmpl = rng.choice(TEMPLATES[op])
        question.append(q_tmpl.format(n=name, o=obj, x=x, y=x - 1))
        expr = f"{value}{op}{x}"
        rationale.append(f"{r_tmpl.format(n=name, x=x)} {expr}=<<{expr}={result}>>{result} {obj}.")
        value = result
    question.append(rng.choice(QUESTIONS).format(n=name, o=obj))
    return {"question": " ".join(question), "answer": "\n".join(rationale) + f"\n#### {value}",
            "n_steps": n_steps}


def gsm8k_splits(n_train: int, n_validation: int, n_test: int, max_steps: int = 3,
                 max_operand: int = 20, seed: int = 0, min_steps: int = 1) -> dict[str, list[dict]]:
    """Disjoint train/validation/test lists of GSM8K-format rows, step counts uniform in [min, max]."""
    wanted = {"train": n_train, "validation": n_validation, "test": n_test}
    out: dict[str, list[dict]] = {k: [] for k in wanted}
    seen: set[str] = set()
    rng = random.Random(seed)
    for _ in range(100 * sum(wanted.values()) + 1000):
        if all(len(out[k]) >= wanted[k] for k in wanted):
            return out
        row = make_problem(rng, rng.randint(min_steps, max_steps), max_operand)
        split = split_of(row["question"])
        if row["question"] not in seen and len(out[split]) < wanted[split]:
            seen.add(row["question"])
            out[split].append(row)
    raise ValueError(f"could not generate {wanted} distinct problems with max_steps={max_steps}, "
                     f"max_operand={max_operand}: raise max_operand or lower the counts")
