"""MMLU-format multiple choice: CSV (MMLU / MMMLU schema) or Hub loaders and the chat prompt."""

from __future__ import annotations

from reason_lib.data.files import DataError, convert_rows, hub_name, is_file, load_hub, read_rows
from reason_lib.data.multichoice import LETTERS, TEXT, mmlu_splits

COLUMNS = ("Question", "A", "B", "C", "D", "Answer")


def load_mmlu(path_or_id: str, language: str | None = None, split: str = "test",
              limit: int | None = None, skip_malformed: bool = False,
              stats: dict | None = None) -> list[dict]:
    """Rows with `Question, A, B, C, D, Answer, Subject` from a CSV or a Hub id.

    Hub ids: `cais/mmlu` (config `all`, integer answers, `choices` list) and `openai/MMMLU`
    (config = `language`, e.g. `YO_NG`, already in the CSV schema).
    """
    def convert(row):
        answer = str(row["Answer"]).strip().upper()
        if answer not in LETTERS:
            raise ValueError(f"field 'Answer' is {row['Answer']!r}, expected one of A, B, C, D")
        return {**{k: str(row[k]) for k in COLUMNS}, "Answer": answer,
                "Subject": row.get("Subject", ""), "Language": row.get("Language", language)}

    if is_file(path_or_id):
        out = read_rows(path_or_id, COLUMNS, skip_malformed, stats, convert)
    else:
        if hub_name(path_or_id).startswith("cais/"):
            rows = [{"Question": r["question"], **dict(zip(LETTERS, r["choices"])),
                     "Answer": LETTERS[r["answer"]], "Subject": r["subject"]}
                    for r in load_hub(path_or_id, split, "all")]
        else:
            rows = load_hub(path_or_id, split, language or "default")
        out = convert_rows(rows, convert, f"{path_or_id} ({split} split)", skip_malformed, stats)
    return out[:limit] if limit else out


def stratified(rows: list[dict], n: int, seed: int = 0, key: str = "Subject") -> list[dict]:
    """`n` rows spread as evenly as possible over the values of `key` (MMLU's 57 subjects): a
    seeded round robin over the subjects, each subject's rows in a seeded random order."""
    import random

    rng = random.Random(seed)
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row.get(key, ""), []).append(row)
    for group in groups.values():
        rng.shuffle(group)
    names = sorted(groups)
    out, depth = [], 0
    while len(out) < n and any(len(g) > depth for g in groups.values()):
        out += [groups[s][depth] for s in names if len(groups[s]) > depth][:n - len(out)]
        depth += 1
    return out


def mc_prompt(row: dict, lang: str = "en") -> list[dict]:
    """Chat messages: a system instruction to reason and end with the answer line, then the item."""
    options = "\n".join(f"{k}. {row[k]}" for k in LETTERS)
    return [{"role": "system", "content": TEXT[lang]["system"]},
            {"role": "user", "content": f"{row['Question']}\n{options}"}]


def mc_target(row: dict, lang: str = "en") -> str:
    """The reference reply: the row's rationale (when it has one) and the answer line."""
    answer = TEXT[lang]["answer"].format(letter=row["Answer"])
    return f"{row['Rationale']}\n{answer}" if row.get("Rationale") else answer


def split_indices(n: int, shares=(0.8, 0.1, 0.1), seed: int = 0) -> dict[str, list[int]]:
    """Seeded train/validation/test index lists covering range(n) in the given shares."""
    import random

    order = list(range(n))
    random.Random(seed).shuffle(order)
    a, b = round(shares[0] * n), round((shares[0] + shares[1]) * n)
    return {"train": order[:a], "validation": order[a:b], "test": order[b:]}


def check_aligned(english_rows: list[dict], other_rows: list[dict], english: str, other: str):
    """Row i of both sources must be the same question: its answer letter and (where both name
    one) its subject agree. A translation keeps both, so a source in another order (cais/mmlu is
    sorted by subject; openai/MMMLU follows the simple-evals English file) fails at the first row
    that differs, named, instead of pairing unrelated questions."""
    for i, (en, other_row) in enumerate(zip(english_rows, other_rows)):
        for field in ("Subject", "Answer"):
            a, b = en.get(field, ""), other_row.get(field, "")
            if a and b and a != b:
                raise DataError(f"{other}, question {i + 1}: field {field!r} is {b!r}, but question {i + 1} "
                                f"of {english} has {a!r}: the two sources must hold the same "
                                "questions in the same order")


def mmlu_data(english: str, yoruba: str, n_train: int, n_validation: int, n_test: int,
              seed: int = 0, subjects: list[str] | tuple = ()) -> dict[str, dict[str, list[dict]]]:
    """{split: {"en": rows, "yo": rows}} with the two languages aligned item by item.

    Both sources empty: the offline world. Otherwise real CSVs / Hub ids (MMMLU files share the
    MMLU row order, so index i is the same question in both), cut 80/10/10 by a seeded shuffle
    (as in the study) and truncated to the requested sizes. English alone (`yoruba` empty) gives
    {split: {"en": rows}}. `subjects` keeps only those MMLU subjects (before the split).
    """
    if not english and not yoruba:
        if subjects:
            raise DataError(f"mmlu_subjects {list(subjects)} needs a real MMLU source "
                            "(mmlu_english); the offline world has its own subjects")
        return mmlu_splits(n_train, n_validation, n_test, seed=seed)
    if not english:
        raise DataError(f"mmlu_yoruba is set ({yoruba!r}) but mmlu_english is empty: the Yoruba "
                        "items are aligned with the English ones, which must be given too")
    sources = {"en": load_mmlu(english, "EN_US")}
    if yoruba:
        sources["yo"] = load_mmlu(yoruba, "YO_NG")
        if len(sources["yo"]) != len(sources["en"]):
            raise DataError(f"{yoruba}: {len(sources['yo'])} rows, but {english} has "
                            f"{len(sources['en'])}: the files must hold the same questions in the "
                            "same order")
        check_aligned(sources["en"], sources["yo"], english, yoruba)
    keep = range(len(sources["en"]))
    if subjects:
        known = {r["Subject"] for r in sources["en"]}
        wanted = set(subjects)
        unknown = sorted(wanted - known)
        if unknown:
            raise DataError(f"{english}: field 'Subject' has no rows for {unknown}; subjects there "
                            f"include {sorted(known)[:8]}")
        keep = [i for i, r in enumerate(sources["en"]) if r["Subject"] in wanted]
    sources = {lg: [rows[i] for i in keep] for lg, rows in sources.items()}
    idx = split_indices(len(sources["en"]), seed=seed)
    sizes = {"train": n_train, "validation": n_validation, "test": n_test}
    for split, n in sizes.items():
        if n > len(idx[split]):
            raise DataError(f"{english}: the {split} split has {len(idx[split])} questions "
                            f"(80/10/10 of {len(sources['en'])}), fewer than n_{split} = {n}")
    return {split: {lg: [rows[i] for i in idx[split][:sizes[split]]] for lg, rows in sources.items()}
            for split in sizes}
