"""reason_lib.results: the reference file from run folders, the reproduction check, the README."""

import json
import re

import pytest

from reason_lib import results, summary

from conftest import write_run


def metric(v, half=0.05):
    return {"value": v, "low": v - half, "high": v + half, "k": 1, "n": 100}


def base_metrics(gsm):
    return {"GSM8K-format": {"accuracy": metric(gsm)},
            "GSM8K-format paraphrase": {"accuracy": metric(gsm - 0.1)},
            "MC English": {"accuracy": metric(0.4)}, "MC Yoruba": {"accuracy": metric(0.3)}}


@pytest.fixture
def root(tmp_path):
    write_run(tmp_path, "base_model", "b01", "succeeded", {"seed": 0}, base_metrics(0.6))
    write_run(tmp_path, "pause_warmup", "w10", "succeeded", {"config_name": "pe, LoRA"},
              {"accuracy": metric(0.5), "before": metric(0.6), "eval_loss": {"loss": 0.51234567}})
    write_run(tmp_path, "pause_warmup", "w11", "failed", {"config_name": "ph, LoRA"}, None)
    write_run(tmp_path, "base_model", "s12", "succeeded", {"seed": 0}, base_metrics(0.2),
              profile="smol")
    return tmp_path


def test_gather_names_each_metric_by_table_configuration_and_column(root):
    got = results.gather(results.select(summary.collect(root), "cpu"))
    m = got["metrics"]
    assert m["base_model | tiny (offline) | GSM8K-format"] == {
        "value": 0.6, "low": 0.55, "high": 0.65, "n": 100, "seeds": 1, "per_seed": {"0": 0.6}}
    assert m["base_model | tiny (offline) | GSM8K-format paraphrase"]["value"] == 0.5
    assert m["pause_warmup | pe, LoRA | eval loss"] == 0.5123  # plain numbers rounded to 4 places
    assert got["runs"]["pause_warmup | pe, LoRA"] == ["w10"]
    assert got["failed"] == ["w11"]
    assert not any("smol" in k or v == 0.2 for k, v in m.items())  # another profile's run


def test_evaluation_and_summary_runs_are_not_part_of_a_result(root):
    write_run(root, "evaluate", "e40", "succeeded", {"model": "b01"}, {"models": {}})
    write_run(root, "summary", "u41", "succeeded", {}, {})
    got = results.gather(results.select(summary.collect(root), "cpu"))
    assert set(got["wall_s"]) == {"base_model", "pause_warmup"}


def test_select_since_keeps_a_reused_base_model(root):
    write_run(root, "pause_warmup", "w30", "succeeded", {"config_name": "pe, LoRA"},
              {"accuracy": metric(0.7)})
    chosen = results.select(summary.collect(root), "cpu", since="2026-11-26T00:00:20+00:00")
    assert {r["run_id"]: r.get("reused", False) for r in chosen} == {"w30": False, "b01": True}
    got = results.gather(chosen)
    assert got["metrics"]["pause_warmup | pe, LoRA | test accuracy"]["value"] == 0.7
    assert got["reused"] == ["b01"] and "base_model" not in got["wall_s"]


def test_dumps_round_trips_with_one_metric_per_line(root):
    got = {"profile": "cpu", **results.gather(results.select(summary.collect(root), "cpu"))}
    text = results.dumps(got)
    assert json.loads(text) == got
    line = [row for row in text.splitlines() if "| GSM8K-format\"" in row]
    assert len(line) == 1 and '"value": 0.6' in line[0]


def test_on_the_same_kind_of_cpu_every_seed_must_be_identical():
    ref = {"metrics": {"a": metric(0.5), "b": metric(0.5), "d": metric(0.5), "e": 1.5}}
    this = {"metrics": {"a": metric(0.5), "b": metric(0.51), "e": 1.5, "f": metric(0.1)}}
    verdicts = {r["metric"]: r["verdict"] for r in results.compare(this, ref)}
    assert verdicts == {"a": "identical", "b": "differs", "d": "missing", "e": "identical",
                        "f": "new"}
    rows = results.compare(this, ref)
    assert not results.passed(rows)
    assert results.passed(results.compare(ref, ref))
    table = results.check_table(rows, this, ref)
    assert "2 identical, 1 differs, 1 missing, 1 new" in table
    assert "| b | 0.5000 [0.4500, 0.5500] | 0.5100 [0.4600, 0.5600] | **differs** |" in table
    assert "reference's kind of CPU" in table


def test_code_changed_since_the_reference_is_judged_by_prediction_on_the_same_cpu():
    """Same CPU, other code (e.g. batches sorted by length: the same steps, other floats): the
    numbers cannot be identical, so each is judged by the reference seeds' prediction interval;
    the same code on the same CPU must still be identical."""
    five = [0.36, 0.40, 0.44, 0.38, 0.42]
    ref = {"processors": AMD, "code": ["old"], "metrics": {"gsm": seeded(five)}}
    near = {"processors": AMD, "code": ["new"], "metrics": {"gsm": seeded([0.43])}}
    assert [r["verdict"] for r in results.compare(near, ref)] == ["predicted"]
    assert "judged on code other than the reference's" in results.check_table(
        results.compare(near, ref), near, ref)
    far = {**near, "metrics": {"gsm": seeded([0.55])}}
    assert [r["verdict"] for r in results.compare(far, ref)] == ["outside"]
    same_code = {**near, "code": ["old"]}
    assert [r["verdict"] for r in results.compare(same_code, ref)] == ["differs"]


def seeded(values, half=0.05):
    """A metric over seeds as a results file stores it: {value, low, high, per_seed}."""
    mean = sum(values) / len(values)
    return {"value": mean, "low": mean - half, "high": mean + half, "n": 100,
            "seeds": len(values), "per_seed": {str(i): v for i, v in enumerate(values)}}


INTEL = ["Intel(R) Xeon(R) Processor; torch AVX512"]
AMD = ["AMD EPYC; torch AVX2"]


def test_on_another_kind_of_cpu_a_number_is_judged_by_the_seeds_prediction_interval():
    """r3-style: the reference over 5 seeds on a Xeon, one seed on an EPYC. The prediction
    interval of one new seed is mean +- t(4) sd sqrt(1 + 1/5): here 0.40 +- 0.0855 for
    sd 0.0283, so 0.47 is predicted and 0.505 (the EPYC base model of issue 35) is not."""
    five = [0.36, 0.40, 0.44, 0.38, 0.42]
    ref = {"processors": INTEL, "metrics": {"gsm": seeded(five), "one seed": metric(0.3375)}}
    inside = {"processors": AMD, "metrics": {"gsm": seeded([0.47]), "one seed": metric(0.505)}}
    rows = {r["metric"]: r["verdict"] for r in results.compare(inside, ref)}
    assert rows == {"gsm": "predicted", "one seed": "unjudged"}
    assert results.passed(results.compare(inside, ref))
    outside = {"processors": AMD, "metrics": {"gsm": seeded([0.505]), "one seed": metric(0.505)}}
    assert {r["metric"]: r["verdict"] for r in results.compare(outside, ref)}["gsm"] == "outside"
    assert not results.passed(results.compare(outside, ref))
    table = results.check_table(results.compare(inside, ref), inside, ref)
    assert "another kind of CPU" in table and "1 unjudged: the reference has one seed" in table


def test_on_another_kind_of_cpu_many_numbers_are_judged_together():
    """A hundred metrics from the same process: by chance a few land outside their own 95 %
    prediction interval, and an honest rerun must still pass (Holm over the metrics judged);
    one number far off still fails it."""
    five = [0.36, 0.40, 0.44, 0.38, 0.42]
    ref = {"processors": INTEL, "metrics": {f"m{i}": seeded(five) for i in range(100)}}
    this = {f"m{i}": seeded([0.40 + 0.001 * (i % 10)]) for i in range(100)}
    this["m0"] = seeded([0.51])  # p 0.03: outside its own 95 % interval, not after Holm
    honest = {"processors": AMD, "metrics": this}
    rows = results.compare(honest, ref)
    assert results.verdict(this["m0"], ref["metrics"]["m0"], same=False) == "outside"
    assert results.passed(rows) and {r["verdict"] for r in rows} == {"predicted"}
    moved = {"processors": AMD, "metrics": {**this, "m0": seeded([0.80])}}
    rows = {r["metric"]: r["verdict"] for r in results.compare(moved, ref)}
    assert rows["m0"] == "outside" and not results.passed(results.compare(moved, ref))


def test_reward_model_scores_are_compared_as_gains_over_sft_on_another_cpu():
    """A Bradley-Terry reward model is fixed up to a shift: levels move with it (SFT 0.455 on a
    Xeon, -0.139 on an EPYC), gains over SFT do not."""
    t = "reinforce_rm_level1 | {} | RM score"
    ref = {"processors": INTEL, "metrics": {
        t.format("sft"): seeded([0.45, 0.50, 0.40]),
        t.format("reinforce"): seeded([0.85, 0.85, 0.85])}}   # gains 0.40, 0.35, 0.45
    shifted = {"processors": AMD, "metrics": {
        t.format("sft"): seeded([-0.139]), t.format("reinforce"): seeded([0.25])}}  # gain 0.389
    rows = {r["metric"]: r["verdict"] for r in results.compare(shifted, ref)}
    assert rows["reinforce_rm_level1 | reinforce | RM score gain over sft"] == "predicted"
    assert not any(name.endswith("| RM score") for name in rows)  # no level is compared
    assert rows["claims | D-level1-reinforce | effect"] == "predicted"  # the claim's size too
    lost = {"processors": AMD, "metrics": {
        t.format("sft"): seeded([-0.139]), t.format("reinforce"): seeded([-0.2])}}
    assert not results.passed(results.compare(lost, ref))


def test_a_flipped_claim_fails_the_check():
    ref = {"metrics": {}, "claims": [{"id": "D-level1-reinforce", "verdict": "reproduced"}]}
    same = {"metrics": {}, "claims": [{"id": "D-level1-reinforce", "verdict": "reproduced"}]}
    flipped = {"metrics": {}, "claims": [{"id": "D-level1-reinforce", "verdict": "opposite"}]}
    assert results.passed(results.compare(same, ref))
    rows = results.compare(flipped, ref)
    assert [r["verdict"] for r in rows] == ["flipped"] and not results.passed(rows)


def test_check_cli_fails_when_a_metric_moves(root, tmp_path, capsys):
    got = {"profile": "cpu", **results.gather(results.select(summary.collect(root), "cpu"))}
    ref = results.write_result(got, tmp_path / "ref", "cpu")
    assert results.main(["check", str(ref), "--reference", str(ref)]) == 0
    got["metrics"]["base_model | tiny (offline) | MC Yoruba"] = metric(0.9)
    moved = results.write_result(got, tmp_path / "moved", "cpu")
    assert results.main(["check", str(moved), "--reference", str(ref)]) == 1
    assert "MC Yoruba | 0.3000 [0.2500, 0.3500] | 0.9000 [0.8500, 0.9500] | **differs**" in \
        capsys.readouterr().out
    assert results.main(["check", str(tmp_path / "none.json"), "--reference", str(ref)]) == 2


def test_readme_blocks_are_regenerated_and_a_hand_edit_is_caught(root, tmp_path):
    got = {"profile": "cpu", **results.gather(results.select(summary.collect(root), "cpu"))}
    results.write_result(got, tmp_path, "cpu")
    text = "# Title\n<!-- results:cpu begin (generated) -->\nOLD-TEXT\n<!-- results:cpu end -->\nafter\n"
    new = results.readme_text(text, tmp_path)
    assert "| tiny (offline) | 0.600 [0.550, 0.650] | 0.500 [0.450, 0.550] |" in new
    assert new.endswith("<!-- results:cpu end -->\nafter\n") and "OLD-TEXT" not in new
    assert results.readme_text(new, tmp_path) == new  # regenerating is stable
    edited = new.replace("0.600 [0.550", "0.610 [0.550")
    assert results.readme_text(edited, tmp_path) == new  # a hand edit is undone, so it is seen


def test_the_readme_numbers_equal_the_committed_references():
    """The result blocks of README.md and docs/ are exactly what results/*.json render to
    (`make readme`), and every profile's results and claims have a block somewhere."""
    texts = {p.name: p.read_text() for p in results.documents()}
    names = {m.group(2) for text in texts.values() for m in results.BLOCK.finditer(text)}
    assert {"cpu", "claims_cpu", "smol", "claims_smol", "bench", "estimate", "studies"} <= names
    assert results.regenerate(check=True) == [], "results differ from results/*.json: run " \
                                                 "`make readme` (never edit those tables by hand)"


def test_benchmark_ratios_become_a_results_file_and_a_readme_table(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(results.config.PROJ_ROOT / "benchmarks"))
    import run_all

    measured = {"trl_overhead": {"device": "cpu", "ratio": 0.9312},
                "pause_decode": {"device": "cpu", "ratio": 1.018},
                "rollouts": {"device": "cpu", "ratio_vs_direct": 1.066, "ratio_vs_one_at_a_time": 5.61}}
    got = run_all.as_reference(measured, "2026-12-01T00:00:00+00:00")
    assert got["profile"] == "bench" and got["devices"] == ["cpu"]
    assert sorted(got["metrics"].values()) == [0.93, 1.02, 1.07, 5.61]
    results.write_result(got, tmp_path, "bench")
    text = "<!-- results:bench begin -->\n<!-- results:bench end -->\n"
    table = results.readme_text(text, tmp_path)
    assert "| rollouts: tokens/s of batched / one question at a time | 5.61 |" in table
    assert "95 % intervals" not in table  # ratios carry no interval


def test_the_smol_benchmark_reports_dtype_gain_ratios_and_share_of_the_bound(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(results.config.PROJ_ROOT / "benchmarks"))
    import run_all

    def rollouts(lib, direct, one):
        return {"device": "cpu", "tokens_per_s": {"reason_lib": lib, "direct": direct, "one_at_a_time": one},
                "ratio_vs_direct": lib / direct, "ratio_vs_one_at_a_time": lib / one}

    measured = {"machine": {"device": "cpu", "gflops": {"float32": 200.0, "bfloat16": 800.0},
                            "bound_tokens_per_s": {"float32": 800.0, "bfloat16": 3200.0}},
                "rollouts_float32": rollouts(150.0, 160.0, 25.0),
                "rollouts_bfloat16": rollouts(330.0, 330.0, 30.0),
                "lora_train": {"device": "cpu", "tokens_per_s": {"float32": 200.0, "bfloat16": 300.0},
                               "ratio": 1.5}}
    got = run_all.as_reference(measured, "2026-12-01T00:00:00+00:00", "smol")
    assert got["profile"] == "bench_smol"
    m = {k.split(results.SEP)[1]: v for k, v in got["metrics"].items()}
    # the target compares with float32 generate called directly: torch.multinomial's sampling,
    # the path before the inverse-CDF sampler
    assert m["rollouts: bfloat16 reason_lib.generate / float32 generate called directly "
             "(target >= 2)"] == 2.06
    assert m["rollouts: bfloat16 / float32 reason_lib.generate"] == 2.2
    assert m["rollouts: batched / one question at a time, bfloat16 (target >= 10)"] == 11.0
    assert m["machine: share of the bfloat16 matmul bound reached by bfloat16 rollouts"] == 0.1
    assert m["machine: share of the float32 matmul bound reached by float32 rollouts"] == 0.19
    assert len(m) == len(run_all.ROWS["smol"])


def test_a_reference_from_run_folders_leaves_out_runs_that_did_not_succeed(root, monkeypatch, capsys):
    monkeypatch.setenv("REASON_LIB_OUTPUTS", str(root))
    monkeypatch.setattr(results, "RESULTS_DIR", root / "results")
    monkeypatch.setattr(results, "README", root / "README.md")
    (root / "results").mkdir()
    (root / "README.md").write_text("no blocks\n")
    write_run(root, "base_model", "s13", "running", {"seed": 1}, None, profile="smol")
    assert results.main(["reference", "--profile", "smol"]) == 0
    written = json.loads((root / "results" / "smol.json").read_text())
    assert written["failed"] == [] and written["runs"] == {"base_model | tiny (offline)": ["s12"]}
    assert "left out: base_model s13 (running)" in capsys.readouterr().out


def test_a_merged_reference_keeps_the_tables_the_new_runs_lack(root):
    earlier = {"profile": "cpu", **results.gather(results.select(summary.collect(root), "cpu")),
               "commits": ["old"]}
    write_run(root, "base_model", "b40", "succeeded", {"seed": 0}, base_metrics(0.7))
    new = {**results.gather([r for r in summary.collect(root) if r["run_id"] == "b40"]),
           "commits": ["new"]}
    merged = results.merge(new, earlier)
    m = merged["metrics"]
    assert m["base_model | tiny (offline) | GSM8K-format"]["value"] == 0.7  # rerun: the new value
    assert m["pause_warmup | pe, LoRA | eval loss"] == 0.5123  # not rerun: kept, with its runs
    assert merged["runs"]["pause_warmup | pe, LoRA"] == ["w10"]
    assert merged["runs"]["base_model | tiny (offline)"] == ["b40"]
    assert merged["commits"] == ["new", "old"] and merged["merged"] == ["pause_warmup"]
    assert results.merge(new, {"metrics": {}}) == new  # nothing to keep: unchanged
    # a run of some configurations of a table (make claims) keeps the table's other rows
    part = {"metrics": {"pause_warmup | pe, LoRA | eval loss": 0.4}, "runs": {"pause_warmup | pe, LoRA": ["w11"]}}
    earlier["metrics"]["pause_warmup | other | eval loss"] = 0.9
    both = results.merge(part, earlier)["metrics"]
    assert both["pause_warmup | pe, LoRA | eval loss"] == 0.4 and both["pause_warmup | other | eval loss"] == 0.9


def test_make_reference_without_run_takes_the_profiles_runs_not_the_runner():
    """`make reference PROFILE=smol MERGE=1` (no RUN=) asks for the runs that succeeded; RUN=<id>
    names one reproduction. (The runner command once shared the variable's name.)"""
    import subprocess

    def command(*args):
        out = subprocess.run(["make", "-n", "reference", *args], cwd=results.README.parent,
                             capture_output=True, text=True, check=True).stdout
        return next(line for line in out.splitlines() if "reason_lib.results reference" in line)

    assert command("PROFILE=smol", "MERGE=1").split()[-4:] == \
        ["reference", "--profile", "smol", "--merge"]
    assert "--run r7" in command("RUN=r7") and "reason_lib.cli " not in command("RUN=r7")


def test_make_claims_runs_each_experiment_and_seed_as_its_own_job_cut_to_the_claims():
    """`make claims` (dry run): one queue of jobs, the base models first, then one job per
    experiment and seed, longest experiments first, each run with --claims at its one seed and
    waiting only for its own seed's base model; `make reproduce` (one seed) trains its base model
    at every core first (scored on what the claims read), then one job per experiment, cut to
    the claims too on cpu, and
    `REPRO_CLAIMS=` runs the full configuration lists."""
    import subprocess

    def lines(*args):
        out = subprocess.run(["make", "-n", *args], cwd=results.README.parent,
                             capture_output=True, text=True, check=True).stdout
        return [line for line in out.splitlines() if "reason_lib.cli " in line
                or line.startswith("OMP_NUM_THREADS")]

    got = lines("claims", "SEEDS=0,3", "EXPERIMENTS=star-mmlu pause-star")
    jobs = next(line for line in got if "--keep-going" in line).split()
    assert jobs[0] == "OMP_NUM_THREADS=1" and jobs[1].startswith("REASON_LIB_LANES=outputs/reproduce/")
    assert jobs[jobs.index("--keep-going") + 1:] == [
        "base-model-seed-0", "base-model-seed-3", "star-mmlu@seed0", "star-mmlu@seed3",
        "pause-star@seed0", "pause-star@seed3", "PROFILE=cpu", "GRID=claims", "CLAIMS=1", "ARGS="]
    alone = lines("star-mmlu@seed3", "SEEDS=0,3")  # one job: its seed's base model, then the run
    assert [line.split()[-1] for line in alone if "reason_lib.cli " in line] == ["3", "cpu"]
    assert "-p seed 3" in next(line for line in alone if "base_model" in line)
    runs = [line.split() for line in got if "reason_lib.cli " in line and "base_model" not in line
            and "summary" not in line]
    assert sorted((r[r.index("--seeds") + 1], r[r.index("--claims") + 1]) for r in runs) == [
        ("0-0", "pause_star"), ("0-0", "star_mmlu"), ("3-3", "pause_star"), ("3-3", "star_mmlu")]
    one = [line for line in lines("reproduce") if "reason_lib.cli " in line
           and "base_model" not in line and "summary" not in line]
    assert any(line.endswith("--claims star_mmlu --profile cpu") for line in one)
    assert all("--claims" in line and "--seeds" not in line for line in one)
    base = lines("reproduce")
    assert any(re.fullmatch(r"OMP_NUM_THREADS=\d+ make base-model-seed-0 CLAIMS=1", line)
               for line in base)
    # a base model of make claims / reproduce is scored on what the claims read (--claims)
    assert "--claims" in next(line for line in lines("base-model-seed-0", "CLAIMS=1")
                              if "base_model" in line)
    assert "--claims" not in next(line for line in lines("base-model-seed-0") if "base_model" in line)
    full = [line for line in lines("reproduce", "REPRO_CLAIMS=") if "reason_lib.cli " in line]
    assert any(line.endswith(" star_mmlu --profile cpu") for line in full)
    assert not any("--claims" in line or "--seeds" in line for line in full)


def test_a_claims_run_passes_without_what_no_claim_reads_but_not_without_what_one_reads():
    def one(v):
        return {"value": v, "per_seed": {"0": v}}

    cond, star = (f"pause_star | {c} | test accuracy (greedy)" for c in ("reward_cond_pause_t1.0",
                                                                         "star_pause_t1.0"))
    sampled = "pause_star | star_pause_t1.0 | test accuracy (sampled)"  # a row a claim compares,
    # a column no claim reads (`sampled_tests` off)
    last = "pause_star | star_pause_t1.0 | last loop (greedy)"  # a column a claim reads
    ref = {"processors": ["x"], "metrics": {cond: one(0.3), star: one(0.4), sampled: one(0.2),
                                            last: one(0.5)}}
    cut = {"processors": ["x"], "claims_only": True, "metrics": {star: one(0.4), last: one(0.5)}}
    rows = results.compare(cut, ref)
    assert [r["verdict"] for r in rows] == ["left out", "identical", "left out", "identical"]
    assert results.passed(rows)
    assert "2 left out: configurations and measurements no claim reads" in \
        results.check_table(rows, cut, ref)
    # the same run not marked as a claims run, or missing a number a claim reads, fails
    assert not results.passed(results.compare({**cut, "claims_only": False}, ref))
    lacking = {**cut, "metrics": {cond: one(0.3), star: one(0.4), sampled: one(0.2)}}
    assert [r["verdict"] for r in results.compare(lacking, ref)] == [
        "identical", "identical", "identical", "missing"]


def test_the_readme_is_a_front_page_linking_every_docs_page():
    text = results.README.read_text()
    assert len(text.splitlines()) <= 200
    pages = sorted(p.name for p in (results.README.parent / "docs").glob("*.md"))
    assert pages and all(f"](docs/{name})" in text for name in pages), pages


def test_licence_and_citation_agree_with_the_package_metadata():
    import tomllib

    import yaml

    top = results.README.parent
    project = tomllib.loads((top / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
    assert (top / "LICENSE").read_text().startswith("MIT License\n")
    citation = yaml.safe_load((top / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0" and citation["license"] == project["license"]
    assert str(citation["version"]) == project["version"]
    assert f"## [{project['version']}]" in (top / "CHANGELOG.md").read_text()
