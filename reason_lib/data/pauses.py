"""The pause injector: `<|pause|>` tokens inserted into GSM8K-format answers.

Random pauses go at word boundaries (before a word, or at the very end), 0 to `n_random_pauses`
per copy, several possibly at one place; pattern pauses follow every occurrence of a pattern
(`n_pauses_per_patterns = {"=": 1, "\\n": 2}`). Each example yields
`n_generated_samples_per_datapoint` augmented copies; everything is seeded.
"""

from __future__ import annotations

import random
import re

PAUSE = "<|pause|>"
BOUNDARY = re.compile(r"(?<=\s)(?=\S)")  # just before a word that follows whitespace


def strip_pauses(text: str) -> str:
    """The text with every pause token removed."""
    return text.replace(PAUSE, "")


def count_pauses(text: str) -> int:
    return text.count(PAUSE)


def inject_pauses(text: str, rng: random.Random, n_random_pauses: int = 3,
                  n_pauses_per_patterns: dict[str, int] | None = None) -> str:
    """`text` with 0..n_random_pauses pauses at random word boundaries, plus the pattern pauses."""
    if n_pauses_per_patterns:
        for pattern, n in n_pauses_per_patterns.items():
            text = text.replace(pattern, pattern + PAUSE * n)
    positions = [0] + [m.start() for m in BOUNDARY.finditer(text)] + [len(text)]
    chosen = sorted(rng.choice(positions) for _ in range(rng.randint(0, n_random_pauses)))
    # insert from the right so earlier offsets stay valid
    for pos in reversed(chosen):
        text = text[:pos] + PAUSE + text[pos:]
    return text


def pause_augment(rows: list[dict], n_random_pauses: int = 3,
                  n_generated_samples_per_datapoint: int = 1,
                  n_pauses_per_patterns: dict[str, int] | None = None, seed: int = 0,
                  field: str = "answer") -> list[dict]:
    """`n_generated_samples_per_datapoint` copies of each GSM8K-format row, `field` with pauses."""
    rng = random.Random(seed)
    return [{**row, field: inject_pauses(row[field], rng, n_random_pauses, n_pauses_per_patterns)}
            for row in rows for _ in range(n_generated_samples_per_datapoint)]
