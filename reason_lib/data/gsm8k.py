"""GSM8K-format rows (`question`, `answer` ending `#### N`) from a file, the Hub, or the generator."""

from __future__ import annotations

import re

from reason_lib.answers import extract_gsm8k
from reason_lib.config import resolve_source
from reason_lib.data.files import DataError, convert_rows, is_file, load_hub, read_rows
from reason_lib.data.synthetic import gsm8k_splits

SYSTEM = "Solve the problem step by step. End with a line '#### N' giving the final number."


FINAL_NUMBER = re.compile(r"####\s*-?[$]?\d[\d,]*(?:\.\d+)?\s*$")


def check_answer(row: dict) -> dict:
    """The row, whose answer must end with `#### N`, N a number: `#### twelve` or a bare `####`
    would otherwise be scored against the last number of the solution, silently."""
    answer = row["answer"].rstrip()
    last = answer.splitlines()[-1] if answer else ""
    if "####" not in answer:
        raise ValueError("field 'answer' has no '#### N' line")
    if not FINAL_NUMBER.search(last):
        raise ValueError(f"field 'answer': its final line {last.strip()!r} is not '#### N' with N "
                         "a number")
    return row


def load_gsm8k(path_or_id: str, split: str = "test", limit: int | None = None,
               skip_malformed: bool = False, stats: dict | None = None) -> list[dict]:
    """Rows from a GSM8K jsonl file, or from the Hub (`openai/gsm8k`, config `main`), each
    answer ending `#### N` (`check_answer`); a malformed row is a DataError naming its line (a
    Hub split's: its row), or with `skip_malformed` is left out and counted."""
    if is_file(path_or_id):
        rows = read_rows(path_or_id, ("question", "answer"), skip_malformed, stats, check_answer)
    else:
        rows = convert_rows(load_hub(path_or_id, split, "main"), check_answer,
                            f"{path_or_id} ({split} split)", skip_malformed, stats)
    return rows[:limit] if limit else rows


def gsm8k_prompt(row: dict) -> list[dict]:
    """Chat messages asking the question (the reply is the rationale ending `#### N`)."""
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": row["question"]}]


def gold_answer(row: dict) -> str:
    """The normalised final answer of a GSM8K row."""
    return extract_gsm8k(row["answer"])


def gsm8k_data(train_data: str, test_data: str, n_train: int, n_validation: int, n_test: int,
               max_steps: int = 3, max_operand: int = 20, seed: int = 0) -> dict[str, list[dict]]:
    """{"train", "validation", "test"} GSM8K-format rows: procedural splits, with a real file or
    Hub id replacing the train split (its validation rows are the `n_validation` after the first
    `n_train`; 0 for an experiment that validates nothing) and the test split when given. Each
    source is read once, and must hold what is asked of it: a file too short for n_train +
    n_validation (validation silently empty, so STaR always keeps loop 0) or for n_test is a
    DataError."""
    data = gsm8k_splits(n_train, n_validation, n_test, max_steps, max_operand, seed=seed)
    if train_data:
        rows = load_gsm8k(resolve_source(train_data), "train")
        if len(rows) < n_train + n_validation:
            raise DataError(f"{train_data}: {len(rows)} rows, but n_train {n_train} + n_validation "
                            f"{n_validation} = {n_train + n_validation} are asked of it: lower "
                            "n_train" + (" (validation rows come after the training rows)"
                                         if n_validation else ""))
        data["train"] = rows[:n_train]
        data["validation"] = rows[n_train:n_train + n_validation]
    if test_data:
        data["test"] = load_gsm8k(resolve_source(test_data), "test", limit=n_test)
        if len(data["test"]) < n_test:
            raise DataError(f"{test_data}: {len(data['test'])} rows, but n_test {n_test} are "
                            "asked of it: lower n_test")
    return data


def checked_sources(params, splits) -> dict[str, int]:
    """{"train_data <file>": rows, ...}: the GSM8K files `params` names, loaded (and so checked)
    by the experiment's own `splits(params)`; {} when it names none (procedural problems)."""
    if not (params.train_data or params.test_data):
        return {}
    data = splits(params)
    sources = {"train_data": ("train", params.train_data), "test_data": ("test", params.test_data)}
    return {f"{key} {value}": len(data[split]) for key, (split, value) in sources.items() if value}
