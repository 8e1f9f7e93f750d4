"""Every experiment's report (`reason_lib/experiments/<name>/report.py`): the tables the summary
and the reference results read from its metrics, its headline for the runs index, the parameter
listing its configurations and the table a run fills, as registries the summary and the claims
share."""

from __future__ import annotations

from reason_lib.experiments.base_model import report as base_model_report
from reason_lib.experiments.evaluate import report as evaluate_report
from reason_lib.experiments.pause_star import report as pause_star_report
from reason_lib.experiments.pause_warmup import report as pause_warmup_report
from reason_lib.experiments.perplexity_grpo import report as perplexity_grpo_report
from reason_lib.experiments.reinforce_rm import report as reinforce_rm_report
from reason_lib.experiments.star_mmlu import report as star_mmlu_report

# In the order of the summary and the reference results.
REPORTS = {"base_model": base_model_report, "pause_warmup": pause_warmup_report,
           "pause_star": pause_star_report, "star_mmlu": star_mmlu_report,
           "perplexity_grpo": perplexity_grpo_report, "reinforce_rm": reinforce_rm_report,
           "evaluate": evaluate_report}

# {experiment: the parameter listing its configurations} of the experiments that list them.
CONFIGURATIONS = {e: r.CONFIGURATIONS for e, r in REPORTS.items() if hasattr(r, "CONFIGURATIONS")}

# {experiment: parameter overrides, or a function of the run's params giving them} that
# `--claims` adds beside the configuration cut: work no claim reads (e.g. STaR's intermediate
# loops tested beside the selected and the last, the curves over training).
CLAIMS_CUTS = {e: r.CLAIMS_CUT for e, r in REPORTS.items() if hasattr(r, "CLAIMS_CUT")}


def table_of(experiment: str, params) -> str:
    """The results table an experiment's run fills (its own, or one its report names)."""
    report = REPORTS.get(experiment)
    return report.table_of(params) if hasattr(report, "table_of") else experiment
