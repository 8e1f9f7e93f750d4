"""GSM8K-format rows (`question`, `answer` ending `#### N`) from a file, the Hub, or the generator."""

from __future__ import annotations

from reason_lib.config import resolve_source
from reason_lib.data.files import DataError, is_file, load_hub, read_rows
from reason_lib.data.synthetic import gsm8k_splits
from reason_lib.rewards import extract_gsm8k

SYSTEM = "Solve the problem step by step. End with a line '#### N' giving the final number."


def load_gsm8k(path_or_id: str, split: str = "test", limit: int | None = None,
               skip_malformed: bool = False, stats: dict | None = None) -> list[dict]:
    """Rows from a GSM8K jsonl file, or from the Hub (`openai/gsm8k`, config `main`)."""
    if is_file(path_or_id):
        rows = read_rows(path_or_id, ("question", "answer"), skip_malformed, stats)
    else:
        rows = load_hub(path_or_id, split, "main")
    for i, row in enumerate(rows):
        if "####" not in row["answer"]:
            if not skip_malformed:
                raise DataError(f"{path_or_id}, row {i + 1}: field 'answer' has no '#### N' line")
    rows = [r for r in rows if "####" in r["answer"]]
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
    `n_train`) and the test split when given. Each source is read once."""
    data = gsm8k_splits(n_train, n_validation, n_test, max_steps, max_operand, seed=seed)
    if train_data:
        rows = load_gsm8k(resolve_source(train_data), "train")
        data["train"] = rows[:n_train]
        data["validation"] = rows[n_train:n_train + n_validation]
    if test_data:
        data["test"] = load_gsm8k(resolve_source(test_data), "test", limit=n_test)
    return data
