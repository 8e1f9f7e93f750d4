"""What a reply says: its text, its final number (GSM8K's `#### N`), its chosen letter.

Model output is only ever matched with regular expressions; it is never evaluated as code.
"""

from __future__ import annotations

import re
import unicodedata

NUMBER = re.compile(r"-?[$]?\d[\d,]*(?:\.\d+)?")


FINAL = re.compile(r"####\s*(-?[$]?\d[\d,]*(?:\.\d+)?)")


# English (simple-evals `Answer: X`, lm-eval `The answer is (X)`) and Yoruba (`Ìdáhùn: X`).
# The prefix ignores case, the letter does not ("answer a question" is not an answer).
CHOICE = re.compile(r"(?i:answer\s*(?:is)?\s*[:：]?|ìdáhùn\s*[:：])\s*\(?\$?([ABCD])\b")


def normalize_number(text: str) -> str:
    """'1,234' -> '1234', '$5' -> '5', '12.0' -> '12', '-3.50' -> '-3.5'."""
    text = text.replace(",", "").replace("$", "").rstrip(".")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def extract_gsm8k(text: str) -> str | None:
    """The final answer of a GSM8K-style reply: the `#### N` value, else the last number, else None."""
    final = FINAL.findall(text)
    if final:
        return normalize_number(final[-1])
    numbers = NUMBER.findall(text)
    return normalize_number(numbers[-1]) if numbers else None


def extract_choice(text: str) -> str | None:
    """The letter of the last `Answer: X` / `The answer is (X)` / `Ìdáhùn: X` in a reply, or None."""
    found = CHOICE.findall(unicodedata.normalize("NFC", text))
    return found[-1].upper() if found else None


def completion_text(completion) -> str:
    """A TRL completion as text: a plain string, or the content of a list of chat messages."""
    if isinstance(completion, str):
        return completion
    return "".join(m["content"] for m in completion)
