"""reason_lib.claims: the studies' claims measured over seeds, verdicts, and the README's readings."""

import re

import pytest

from reason_lib import claims, results
from reason_lib.config import ParamError


def seeded(values):
    return {"value": sum(values) / len(values), "per_seed": {str(i): v for i, v in enumerate(values)}}


CLAIMS = [
    {"id": "up", "family": "A", "kind": "study", "study": "t beats c", "study_number": 0.1,
     "treatment": "t | a | acc", "control": "t | b | acc", "direction": 1},
    {"id": "down", "family": "A", "kind": "study", "study": "it falls", "study_number": -0.5,
     "effect": "t | a | Δ", "direction": -1},
    {"id": "same", "family": "C", "kind": "study", "study": "about equal", "study_number": 0.0,
     "treatment": "t | a | acc", "control": "t | c | acc", "direction": 0, "margin": 0.05},
    {"id": "absent", "family": "D", "kind": "control", "study": "not run here",
     "study_number": None, "effect": "t | z | Δ", "direction": 1},
]


def test_verdicts_pair_by_seed_and_adjust_for_the_family():
    metrics = {"t | a | acc": seeded([0.50, 0.60, 0.40, 0.55, 0.45]),
               "t | b | acc": seeded([0.45, 0.56, 0.33, 0.50, 0.41]),   # +0.05 .. +0.07 each seed
               "t | c | acc": seeded([0.51, 0.59, 0.41, 0.56, 0.44]),   # within +-0.01
               "t | a | Δ": seeded([0.10, 0.12, 0.08, 0.11, 0.09])}      # up, the study said down
    got = {r["id"]: r for r in claims.evaluate(metrics, CLAIMS)}
    assert got["up"]["verdict"] == "reproduced" and got["up"]["effect"]["low"] > 0
    assert got["down"]["verdict"] == "opposite"
    assert got["same"]["verdict"] == "reproduced"  # the whole interval inside +-0.05
    assert got["absent"]["verdict"] == "not run" and got["absent"]["effect"] is None
    # Holm over the three measured claims: the smallest p is multiplied by 3
    assert got["up"]["p_holm"] >= got["up"]["effect"]["p"]


def test_a_noisy_effect_is_null_and_one_seed_gets_no_verdict():
    metrics = {"t | a | acc": seeded([0.50, 0.40, 0.60]), "t | b | acc": seeded([0.45, 0.50, 0.52]),
               "t | c | acc": seeded([0.30, 0.70, 0.50]), "t | a | Δ": {"value": -0.4}}
    got = {r["id"]: r["verdict"] for r in claims.evaluate(metrics, CLAIMS)}
    assert got["up"] == "null"
    assert got["same"] == "null"  # includes 0 but reaches past the margin: inconclusive
    assert got["down"] == "one seed"  # a metric of one run, recorded before seeds


def test_a_malformed_claim_is_named(tmp_path):
    path = tmp_path / "claims.yaml"
    path.write_text("- {id: x, family: A, kind: study, study: s, effect: 't | a | Δ', direction: 2}\n")
    with pytest.raises(ParamError, match=r"claim 1 \(x\): field 'direction' \(value 2\)"):
        claims.load(path)
    path.write_text("- {id: x, family: A, kind: study, study: s, treatment: 't | a | b', direction: 1}\n")
    with pytest.raises(ParamError, match="either 'effect', or 'treatment' and one of"):
        claims.load(path)
    path.write_text("- {id: x, family: A, kind: study, study: s, treatment: 't | a | b', "
                    "baseline: chance, direction: 1}\n")
    with pytest.raises(ParamError, match=r"field 'baseline' \(value 'chance'\) must be a number"):
        claims.load(path)


def test_a_claim_against_a_fixed_baseline_is_the_metric_minus_it_seed_by_seed():
    claim = {"id": "above-chance", "family": "D", "kind": "control", "study": "ranks pairs",
             "study_number": None, "treatment": "t | a | acc", "baseline": 0.5, "direction": 1}
    got = claims.evaluate({"t | a | acc": seeded([0.60, 0.64, 0.58])}, [claim])[0]
    assert got["per_seed"] == pytest.approx({"0": 0.10, "1": 0.14, "2": 0.08})
    assert got["verdict"] == "reproduced"
    got = claims.evaluate({"t | a | acc": seeded([0.52, 0.47, 0.50])}, [claim])[0]
    assert got["verdict"] == "null"


def test_no_difference_is_shown_by_equivalence_not_by_a_failed_difference():
    """Three seeds near +0.03 with a margin of 0.05: the difference is not significant and the
    95 % interval even stays inside the margin, but equivalence (two one-sided tests) is what
    decides; a spread-out effect inside the margin on average stays null."""
    from reason_lib import stats

    tight, wide = [0.02, 0.03, 0.035, 0.025, 0.03], [0.04, -0.06, 0.03, 0.07, -0.05]
    assert stats.equivalence_p(tight, 0.05) < 0.05 < stats.equivalence_p(wide, 0.05)
    assert stats.equivalence_p(tight, 0.01) > 0.5  # outside a margin of 0.01
    claim = dict(CLAIMS[2])
    base = [0.5, 0.6, 0.4, 0.55, 0.45]
    for values, verdict in [(tight, "reproduced"), (wide, "null"),
                            ([0.20, 0.25, 0.22, 0.21, 0.24], "opposite")]:
        metrics = {"t | a | acc": seeded([b + v for b, v in zip(base, values)]),
                   "t | c | acc": seeded(base)}
        got = claims.evaluate(metrics, [claim])[0]
        assert got["verdict"] == verdict, values
        assert got["effect"]["p"] == pytest.approx(stats.equivalence_p(values, 0.05))


def test_every_claim_names_a_table_and_column_the_summary_writes():
    """Each claim's metrics are `table | configuration | column` of rows the current code writes:
    the table and column occur in results/ci.json, the golden file of every notebook's ci run."""
    written = {(name.split(" | ")[0], name.split(" | ")[2])
               for name in results.load(results.RESULTS_DIR / "ci.json")["metrics"]}
    for c in claims.load():
        for key in ("treatment", "control", "effect"):
            if c.get(key):
                table, _, column = c[key].split(" | ")
                table = table.replace("_level2", "_level1")  # one table function, ci runs level 1
                assert (table, column) in written, (c["id"], c[key])


def test_the_stored_claims_are_what_the_metrics_give():
    for profile in ("cpu", "smol"):
        result = results.load(results.RESULTS_DIR / f"{profile}.json")
        assert result["claims"] == claims.compact(claims.evaluate(result["metrics"])), profile


def test_every_verdict_the_readme_names_is_the_files():
    """A reading in the README names a claim as `<profile>/<id>`: *<verdict>*; it must say what
    results/<profile>.json says."""
    text = "\n".join(p.read_text() for p in results.documents())
    named = re.findall(r"`(\w+)/([A-D]-[\w.-]+)`: \*([a-z ]+)\*", text)
    assert named, "the README reads no claim by its verdict"
    for profile, claim_id, verdict in named:
        stored = {c["id"]: c["verdict"] for c in
                  results.load(results.RESULTS_DIR / f"{profile}.json")["claims"]}
        assert stored[claim_id] == verdict, (profile, claim_id, verdict, stored[claim_id])


def test_claims_cut_each_configuration_list_to_what_the_claims_compare():
    """`--claims`: the profile's list in its order, less what no claim names; per reward-model
    level for reinforce_rm; nothing to cut for an experiment without such a list; and each
    experiment's work no claim reads (`CLAIMS_CUT`: untested loops, sampled tests, curves, the
    base model's multiple-choice scores)."""
    from reason_lib.config import load_params
    from reason_lib.cli import main, with_claims

    star = load_params("pause_star", "cpu", {})
    assert len(star.variants) == 8
    assert claims.claims_overrides("pause_star", star) == {
        "variants": ["star_pause_t1.0", "star_no_pause_t1.0", "star_no_pause_t1.5"],
        "tested_best": 1, "sampled_tests": False}  # STaR: the selected loop and the last,
    # greedy: what the claims read
    assert with_claims("star_mmlu", "cpu", {})["tested_best"] == 1
    assert load_params("star_mmlu", "cpu", {}).tested_best == 3  # a full run tests as the study
    assert load_params("pause_star", "cpu", {}).sampled_tests
    # the curves: each policy scored at its last step alone (the longest method's, overrides too)
    assert with_claims("reinforce_rm", "cpu", {"level": 2}) == {"level": 2, "methods": ["reinforce"],
                                                               "eval_every": 50}
    assert with_claims("reinforce_rm", "cpu", {"method_overrides": {"rloo_kl": {"steps": 70}}})[
        "eval_every"] == 70
    assert with_claims("reinforce_rm", "cpu", {})["methods"] == [
        "reinforce", "reinforce_rep_penalty", "rloo_kl"]
    assert with_claims("perplexity_grpo", "cpu", {"steps": 12})["eval_every"] == 12
    assert with_claims("base_model", "cpu", {}) == {"offline_sets": ["gsm8k_format", "paraphrase"]}
    assert load_params("base_model", "cpu", {}).offline_sets == [
        "gsm8k_format", "paraphrase", "mc_english", "mc_yoruba"]
    # the warm-up grid has its own claims grid: its rows keep the accuracy the claims pair
    assert with_claims("pause_warmup", "cpu", {"epochs": 2.0}) == {
        "epochs": 2.0, "before_eval": False, "eval_loss": False}
    # a list with nothing any claim compares is refused, naming the table and the list
    with pytest.raises(ParamError, match="reinforce_rm_level2 among its methods"):
        claims.claims_overrides("reinforce_rm", load_params("reinforce_rm", "cpu", {
            "level": 2, "methods": ["rloo_kl"]}))
    assert main(["pause_star", "--claims", "--resume", "20261206-000000-cpu-0000"]) == 2


def test_d_claims_at_fewer_steps_read_each_runs_curve_at_that_step(outputs, monkeypatch):
    """benchmarks/claims_vs_steps.py: every seed's D policy values become its curve point at s
    (the SFT row stays), and at the runs' full length the claims are the reference's."""
    import json

    monkeypatch.syspath_prepend(str(results.config.PROJ_ROOT / "benchmarks"))
    import claims_vs_steps as cvs

    table, names = "reinforce_rm_level1", ("sft", "reinforce")
    metrics, runs = {}, {}
    for seed, gain in enumerate([0.5, 0.7, 0.6]):
        rid = f"run{seed}"
        curves = {"reinforce": [{"step": s, "reward": {"value": gain * s / 20}, "gold": 0.0,
                                 "kl": s / 20, "repeated_ngrams": 0.0} for s in (0, 10, 20)]}
        folder = outputs / "reinforce_rm" / rid
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text(json.dumps({"seed": seed}))
        (folder / "metrics.json").write_text(json.dumps({"curves": curves}))
        for name in names:
            runs.setdefault(f"{table} | {name}", []).append(rid)
            for column, key in cvs.TABLES[table]["columns"].items():
                full = 0.0 if name == "sft" else cvs._value(curves["reinforce"][-1][key])
                m = metrics.setdefault(f"{table} | {name} | {column}", {"per_seed": {}})
                m["per_seed"][str(seed)] = full
    reference = {"metrics": metrics, "runs": runs}
    assert cvs.d_runs(reference) == {table: ["run0", "run1", "run2"]}
    curves = {table: [cvs.run_curves(r) for r in ("run0", "run1", "run2")]}
    half = cvs.at_steps(reference, 10, curves)
    assert half[f"{table} | reinforce | RM score"]["per_seed"] == {"0": 0.25, "1": 0.35, "2": 0.3}
    assert half[f"{table} | sft | RM score"]["per_seed"] == {"0": 0.0, "1": 0.0, "2": 0.0}
    assert cvs.at_steps(reference, 20, curves) == metrics
    with pytest.raises(ValueError, match="no curve point at step 15"):
        cvs.at_steps(reference, 15, curves)
    with pytest.raises(FileNotFoundError, match="run9"):
        cvs.run_curves("run9")
