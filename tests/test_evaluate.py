import pytest

from reason_lib.evaluate import degeneration, difference, evaluate_choice, evaluate_gsm8k, proportion, summarize, wilson


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
