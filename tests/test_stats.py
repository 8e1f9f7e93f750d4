"""reason_lib.stats: intervals over seeds, paired effects, Holm, prediction intervals, verdicts."""

import pytest

from reason_lib import stats


def test_the_t_interval_is_wider_than_z_with_few_seeds():
    values = [0.30, 0.34, 0.38, 0.42, 0.46]  # mean 0.38, sd 0.0632
    got = stats.t_interval(values)
    assert got["value"] == pytest.approx(0.38) and got["n"] == 5
    half_t = got["high"] - got["value"]
    half_z = 1.96 * got["sd"] / 5 ** 0.5
    assert half_t == pytest.approx(2.7764 * 0.063246 / 5 ** 0.5, rel=1e-3)
    assert half_t / half_z == pytest.approx(1.417, rel=1e-3)  # "with 5 seeds z is 1.4x too narrow"
    assert got["p"] < 0.001  # the mean is far from zero


def test_one_seed_has_no_interval_and_no_p():
    got = stats.t_interval([0.5])
    assert got["low"] is None and got["high"] is None and got["p"] is None
    with pytest.raises(ValueError, match="no values"):
        stats.t_interval([])


def test_effects_are_paired_by_seed_on_the_seeds_both_have():
    treatment = {"0": 0.50, "1": 0.60, "2": 0.40, "3": 0.9}
    control = {"0": 0.45, "1": 0.56, "2": 0.33}
    got = stats.paired(treatment, control)
    assert got["seeds"] == ["0", "1", "2"]
    assert got["value"] == pytest.approx((0.05 + 0.04 + 0.07) / 3)
    # unpaired, the seeds' spread (0.4 .. 0.6) would swamp a 0.05 effect; paired it is clear
    assert got["low"] > 0
    with pytest.raises(ValueError, match="no seed in common"):
        stats.paired({"0": 1.0}, {"1": 1.0})


def test_the_prediction_interval_covers_one_new_seed_not_the_mean():
    """Mean 0.40, sd 0.0316 over 5 seeds: the 95 % interval of the mean is 0.40 +- 0.0393, that
    of one new seed sqrt(6) times wider, 0.40 +- 0.0962 (p = 0.05 at its edges)."""
    values = [0.36, 0.40, 0.44, 0.38, 0.42]
    mean_ci = stats.t_interval(values)
    half = (mean_ci["high"] - mean_ci["low"]) / 2 * 6 ** 0.5
    assert stats.prediction_p(values, [0.40 + half]) == pytest.approx(0.05, rel=1e-6)
    assert stats.prediction_p(values, [mean_ci["high"] + 0.001]) > 0.3  # outside the mean's CI
    assert stats.prediction_p(values, [0.40 + half + 0.01]) < 0.05
    # a mean of 5 new seeds is predicted more tightly: sqrt(1/5 + 1/5) instead of sqrt(1 + 1/5)
    assert stats.prediction_p(values, [0.40 + half * 0.6] * 5) < 0.05
    assert stats.prediction_p([0.4], [0.5]) is None
    assert stats.prediction_p([0.4, 0.4], [0.40004], slack=1e-4) == 1.0


def test_holm_adjusts_step_down_and_stays_monotone():
    got = stats.holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": None})
    assert got["a"] == pytest.approx(0.03)   # 3 x 0.01
    assert got["c"] == pytest.approx(0.06)   # 2 x 0.03
    assert got["b"] == pytest.approx(0.06)   # 1 x 0.04, raised to stay monotone
    assert got["d"] is None


def test_verdicts():
    up = {"value": 0.1}
    assert stats.verdict(up, +1, 0.01) == "reproduced"
    assert stats.verdict(up, -1, 0.01) == "opposite"
    assert stats.verdict(up, +1, 0.2) == "null"
    assert stats.verdict(up, +1, None) == "one seed"


def test_an_interval_table_keeps_counts_as_integers():
    from reason_lib.stats import interval_frame

    table = interval_frame({"2 steps": stats.proportion([True, False, True, True]),
                            "3 steps": stats.proportion([False, False])})
    assert list(table["n"]) == [4, 2] and str(table["n"].dtype).startswith("int")
    assert list(table["k"]) == [3, 0] and str(table["k"].dtype).startswith("int")
    assert "3.0" not in table.to_string() and "4.0" not in table.to_string()
    assert table.loc["2 steps", "value"] == 0.75 and interval_frame({}).empty
