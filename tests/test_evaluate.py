import pytest

import random

from reason_lib.evaluate import degeneration, evaluate_choice, evaluate_gsm8k, summarize
from reason_lib.stats import (change_text, difference, interval_text, paired_difference,
                              paired_proportion_difference, proportion, wilson)


def test_wilson_matches_known_values():
    lo, hi = wilson(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-4) and hi == pytest.approx(0.5962, abs=1e-4)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == 1.0
    assert wilson(0, 0) == (0.0, 1.0)


def test_difference_interval_excludes_zero_only_for_clear_gaps():
    big = difference(proportion([1] * 80 + [0] * 20), proportion([1] * 40 + [0] * 60))
    assert big["value"] == pytest.approx(0.4) and big["low"] > 0
    small = difference(proportion([1] * 52 + [0] * 48), proportion([1] * 48 + [0] * 52))
    assert small["low"] < 0 < small["high"]


def test_paired_difference_matches_the_published_example():
    # Altman et al., Statistics with Confidence (2000), Table 6.2: 14 both, 5 after only, 0 before
    # only, 22 neither; Newcombe's paired interval 0.122 (0.011 to 0.226)
    after = [1] * 14 + [1] * 5 + [0] * 22
    before = [1] * 14 + [0] * 5 + [0] * 22
    d = paired_proportion_difference(after, before)
    assert d["value"] == pytest.approx(5 / 41)
    assert (round(d["low"], 3), round(d["high"], 3)) == (0.011, 0.226)
    assert (d["gained"], d["lost"]) == (5, 0)


def test_paired_difference_is_narrower_than_unpaired_and_near_wald_at_large_n():
    rng = random.Random(0)
    before = [rng.random() < 0.5 for _ in range(3000)]
    after = [(not x) if rng.random() < 0.1 else x for x in before]
    paired = paired_proportion_difference(after, before)
    unpaired = difference(proportion(after), proportion(before))
    wald = paired_difference([float(x) for x in after], [float(x) for x in before])
    assert paired["value"] == pytest.approx(unpaired["value"])
    assert paired["high"] - paired["low"] < 0.6 * (unpaired["high"] - unpaired["low"])
    assert paired["low"] == pytest.approx(wald["low"], abs=2e-3)
    assert paired["high"] == pytest.approx(wald["high"], abs=2e-3)
    with pytest.raises(ValueError, match="aligned"):
        paired_proportion_difference([1, 0], [1])


def test_degeneration_metrics():
    assert degeneration("a b c d e".split()) == {"repeated_ngrams": 0.0, "longest_run": 1}
    loop = degeneration("x y z x y z x y z".split())
    assert loop["repeated_ngrams"] == pytest.approx(4 / 7)
    assert degeneration("ok ok ok ok fine".split())["longest_run"] == 4


def test_summarize_counts_no_answer_as_wrong():
    recs = [{"correct": True, "predicted": "A", "repeated_ngrams": 0.0, "longest_run": 1},
            {"correct": False, "predicted": None, "repeated_ngrams": 0.5, "longest_run": 3}]
    s = summarize(recs)
    assert s["accuracy"]["value"] == 0.5 and s["no_answer"]["value"] == 0.5
    assert s["longest_run"] == 2


def test_task_evaluations_end_to_end(tiny):
    from reason_lib.data import gsm8k_splits, mmlu_splits

    model, tok, _ = tiny
    rows = gsm8k_splits(1, 1, 4, seed=0)["test"]
    summary, records = evaluate_gsm8k(model, tok, rows, max_new_tokens=8, progress=False)
    assert summary["accuracy"]["n"] == 4 and len(records) == 4
    assert all(r["gold"] == r2["answer"].rsplit("#### ", 1)[1] for r, r2 in zip(records, rows))
    mc = mmlu_splits(1, 1, 4, seed=0)["test"]["yo"]
    summary, records = evaluate_choice(model, tok, mc, "yo", max_new_tokens=8, progress=False)
    assert [r["gold"] for r in records] == [r["Answer"] for r in mc]


def test_letter_logprob_scoring_is_batch_invariant_and_picks_the_top_letter(tiny):
    import torch

    from reason_lib.data import mmlu_splits
    from reason_lib.data.mmlu import mc_prompt
    from reason_lib.evaluate import evaluate_choice_logprob, letter_token_ids
    from reason_lib.generate import render_prompts

    model, tok, _ = tiny
    rows = mmlu_splits(1, 1, 6, seed=0)["test"]["en"]
    batched, records = evaluate_choice_logprob(model, tok, rows, "en", batch_size=4, progress=False)
    assert batched["accuracy"]["n"] == 6
    ids = letter_token_ids(tok, "Answer:")
    for row, rec in zip(rows, records):  # one unpadded prompt at a time gives the same scores
        text = render_prompts(tok, [mc_prompt(row, "en")])[0] + "Answer:"
        enc = tok(text, return_tensors="pt", add_special_tokens=False)
        with torch.no_grad():
            logp = torch.log_softmax(model(**enc).logits[0, -1].float(), -1)[ids].tolist()
        assert list(rec["letter_logprobs"].values()) == pytest.approx(logp, abs=1e-4)
        assert rec["predicted"] == "ABCD"[max(range(4), key=lambda k: logp[k])]
        assert rec["correct"] == (rec["predicted"] == row["Answer"])


def test_mmmlu_csv_fixture_loads_splits_and_evaluates_end_to_end(tiny, tmp_path):
    """English and Yoruba CSVs in the MMMLU schema (same questions, same order) -> seeded
    80/10/10 splits aligned across languages -> generated answers scored in both languages."""
    from reason_lib.data.mmlu import mmlu_data

    model, tok, _ = tiny
    header = ",Question,A,B,C,D,Answer,Subject\n"
    en = [f'{i},"What is {i} plus 1?",{i + 1},{i + 2},{i + 3},{i + 4},{"ABCD"[i % 4]},arithmetic\n'
          for i in range(20)]
    yo = [f'{i},"Kí ni àròpọ̀ {i} àti 1?",{i + 1},{i + 2},{i + 3},{i + 4},{"ABCD"[i % 4]},arithmetic\n'
          for i in range(20)]
    (tmp_path / "en.csv").write_text(header + "".join(en))
    (tmp_path / "yo.csv").write_text(header + "".join(yo))
    data = mmlu_data(str(tmp_path / "en.csv"), str(tmp_path / "yo.csv"), 16, 2, 2, seed=0)
    assert [len(data[s]["en"]) for s in ("train", "validation", "test")] == [16, 2, 2]
    for split in data.values():  # the same question in both languages, index by index
        assert [r["Answer"] for r in split["en"]] == [r["Answer"] for r in split["yo"]]
        assert [r["A"] for r in split["en"]] == [r["A"] for r in split["yo"]]
    used = {r["A"] for s in data.values() for r in s["en"]}
    assert len(used) == 20  # the splits cover every row once
    for lang in ("en", "yo"):
        summary, records = evaluate_choice(model, tok, data["test"][lang], lang, max_new_tokens=8,
                                           progress=False)
        assert summary["accuracy"]["n"] == 2 and summary["no_answer"]["n"] == 2
        assert [r["gold"] for r in records] == [r["Answer"] for r in data["test"][lang]]


def test_english_and_yoruba_rows_in_another_order_are_refused_naming_the_row(tmp_path):
    """Same length but another order (cais/mmlu by subject vs MMMLU's simple-evals order): the
    first row whose subject or answer differs stops the load, before any model loads."""
    from reason_lib.data.files import DataError
    from reason_lib.data.mmlu import mmlu_data

    header = ",Question,A,B,C,D,Answer,Subject\n"
    rows = [(f"Question {i}?", "ABCD"[i % 4], ["anatomy", "marketing"][i // 10]) for i in range(20)]
    en = [f'{i},"{q}",a,b,c,d,{ans},{subj}\n' for i, (q, ans, subj) in enumerate(rows)]
    (tmp_path / "en.csv").write_text(header + "".join(en))
    by_subject_desc = sorted(rows, key=lambda r: r[2], reverse=True)
    yo = [f'{i},"Ìbéèrè {i}?",a,b,c,d,{ans},{subj}\n' for i, (_, ans, subj) in enumerate(by_subject_desc)]
    (tmp_path / "yo.csv").write_text(header + "".join(yo))
    with pytest.raises(DataError, match=r"yo.csv, question 1: field 'Subject' is 'marketing', but question 1 "
                                        r"of .*en.csv has 'anatomy'"):
        mmlu_data(str(tmp_path / "en.csv"), str(tmp_path / "yo.csv"), 16, 2, 2)
    shifted = rows[1:] + rows[:1]  # same subjects row by row at first, answers one off
    yo = [f'{i},"Ìbéèrè {i}?",a,b,c,d,{ans},\n' for i, (_, ans, _s) in enumerate(shifted)]
    (tmp_path / "yo.csv").write_text(header + "".join(yo))
    with pytest.raises(DataError, match=r"question 1: field 'Answer' is 'B', but .* has 'A'"):
        mmlu_data(str(tmp_path / "en.csv"), str(tmp_path / "yo.csv"), 16, 2, 2)


def test_real_mmlu_english_alone_keeps_the_chosen_subjects(tmp_path):
    from reason_lib.data.files import DataError
    from reason_lib.data.mmlu import mmlu_data

    header = ",Question,A,B,C,D,Answer,Subject\n"
    rows = [f'{i},"Q{i}?",a,b,c,d,{"ABCD"[i % 4]},{"law" if i % 3 else "marketing"}\n' for i in range(60)]
    (tmp_path / "en.csv").write_text(header + "".join(rows))
    data = mmlu_data(str(tmp_path / "en.csv"), "", 16, 2, 2, seed=0, subjects=["marketing"])
    assert all(set(split) == {"en"} for split in data.values())  # English alone
    kept = [r for split in data.values() for r in split["en"]]
    assert len(kept) == 20 and {r["Subject"] for r in kept} == {"marketing"}
    assert len({r["Question"] for r in kept}) == 20
    with pytest.raises(DataError, match="fewer than n_train = 17"):
        mmlu_data(str(tmp_path / "en.csv"), "", 17, 2, 2, subjects=["marketing"])
    with pytest.raises(DataError, match="'Subject' has no rows for \\['physics'\\]"):
        mmlu_data(str(tmp_path / "en.csv"), "", 4, 1, 1, subjects=["physics"])
    with pytest.raises(DataError, match="mmlu_english is empty"):
        mmlu_data("", str(tmp_path / "en.csv"), 4, 1, 1)


def test_interval_and_change_texts():
    m = {"value": 0.5, "low": 0.25, "high": 0.75}
    assert interval_text(m) == "0.500 [0.250, 0.750]"
    assert interval_text(m, digits=2) == "0.50 [0.25, 0.75]"
    assert interval_text(None) == "-"
    d = paired_proportion_difference([True, True, False, True], [False, True, True, False])
    assert d["gained"] == 2 and d["lost"] == 1
    text = change_text(d)
    assert text.startswith("+0.250 [-") and text.endswith(f"{d['high']:+.3f}] (2 / 1)")
