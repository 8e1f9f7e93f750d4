"""The studies' claims (`reason_lib/studies/claims.yaml`) measured over seeds: each claim's effect,
paired by seed, with its Student-t interval, a Holm-adjusted verdict, the claims table and the
forest plot. Computed from a results file's metrics, whose `per_seed` values say which seed gave
which number (`python -m reason_lib.results claims --profile cpu` recomputes them in place).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from reason_lib import stats
from reason_lib.config import ParamError
from reason_lib.reports import CLAIMS_CUTS, CONFIGURATIONS, table_of

CLAIMS_FILE = Path(__file__).parent / "studies" / "claims.yaml"
FIELDS = {"id", "family", "kind", "study", "study_number", "treatment", "control", "baseline",
          "effect", "direction", "margin"}
KINDS = ("study", "control", "beyond")


def load(path: Path = CLAIMS_FILE) -> list[dict]:
    """The claims, checked: known fields, a comparison (treatment and control, treatment and a
    numeric baseline such as chance, or effect), a direction of -1, 0 or +1 (0 with a margin),
    unique ids."""
    claims = yaml.safe_load(Path(path).read_text()) or []
    seen = set()
    for i, c in enumerate(claims, start=1):
        where = f"{path}, claim {i} ({c.get('id', '?')})"
        unknown = set(c) - FIELDS
        if unknown:
            raise ParamError(f"{where}: unknown field(s) {sorted(unknown)}; known: {sorted(FIELDS)}")
        if not c.get("id") or c["id"] in seen:
            raise ParamError(f"{where}: field 'id' missing or repeated")
        seen.add(c["id"])
        if "baseline" in c and (not isinstance(c["baseline"], (int, float)) or c.get("control")):
            raise ParamError(f"{where}: field 'baseline' (value {c['baseline']!r}) must be a number "
                             "given instead of 'control'")
        compared = c.get("treatment") and (c.get("control") or "baseline" in c)
        if bool(c.get("effect")) == bool(compared):
            raise ParamError(f"{where}: give either 'effect', or 'treatment' and one of 'control' "
                             "or 'baseline'")
        if c.get("direction") not in (-1, 0, 1):
            raise ParamError(f"{where}: field 'direction' (value {c.get('direction')!r}) must be "
                             "-1, 0 or 1")
        if c["direction"] == 0 and not isinstance(c.get("margin"), (int, float)):
            raise ParamError(f"{where}: direction 0 (no difference) needs a numeric 'margin'")
        if c.get("kind") not in KINDS:
            raise ParamError(f"{where}: field 'kind' (value {c.get('kind')!r}) must be one of {KINDS}")
        for key in ("treatment", "control", "effect"):
            if c.get(key) and len(c[key].split(" | ")) != 3:
                raise ParamError(f"{where}: field {key!r} (value {c[key]!r}) must read "
                                 "'table | configuration | column'")
    return claims


def read(table: str, claims: list[dict] | None = None) -> set[tuple[str, str]]:
    """The (configuration, column) pairs of `table` that some claim reads (as treatment, control
    or effect)."""
    cells = set()
    for c in load() if claims is None else claims:
        for key in ("treatment", "control", "effect"):
            if c.get(key) and c[key].split(" | ")[0] == table:
                cells.add(tuple(c[key].split(" | ")[1:]))
    return cells


def compared(table: str, claims: list[dict] | None = None) -> set[str]:
    """The configurations of `table` that some claim names (as treatment, control or effect)."""
    return {configuration for configuration, _ in read(table, claims)}


def claims_overrides(experiment: str, params, claims: list[dict] | None = None) -> dict:
    """The override that cuts a run to the configurations the claims compare (`--claims`, `make
    claims`): the profile's own list, in its order, less the configurations no claim names, e.g.
    pause STaR without its reward-conditioning variants. Each configuration is seeded alone in
    its notebook, so the ones kept give the numbers they give in a full run; and the experiment's
    `CLAIMS_CUT` (`reports.CLAIMS_CUTS`: work no claim reads, e.g. STaR tests only the selected
    loop and the last); an experiment with no such list gets its `CLAIMS_CUT` alone (the base
    model's; the warm-up grid has its own claims grid)."""
    field = CONFIGURATIONS.get(experiment)
    cut = CLAIMS_CUTS.get(experiment, {})
    cut = cut(params) if callable(cut) else cut
    if field is None:
        return cut
    table = table_of(experiment, params)
    wanted = compared(table, claims)
    kept = [name for name in getattr(params, field) if name in wanted]
    if not kept:
        raise ParamError(f"--claims: no claim of {CLAIMS_FILE.name} compares a configuration of "
                         f"{table} among its {field} {getattr(params, field)}")
    return {field: kept, **cut}


def seed_values(m: dict) -> dict:
    """{seed: value} of one metric ({value, ..., per_seed}). A metric written before seeds were
    recorded counts as seed 0 (every such run was seed 0)."""
    return dict(m.get("per_seed") or {"0": m["value"]})


def per_seed(metrics: dict, name: str) -> dict | None:
    """{seed: value} of a metric of a results file; None when the file lacks it."""
    m = metrics.get(name)
    if m is None:
        return None
    if not isinstance(m, dict):
        raise ValueError(f"metric {name!r}: a plain number, not a per-run value with seeds")
    return seed_values(m)


def seed_effects(claim: dict, metrics: dict) -> dict | None:
    """{seed: effect} of one claim: the `effect` metric, treatment minus control on the seeds
    both have, or treatment minus the fixed `baseline` (e.g. chance). None when a metric is
    missing (the experiment was not run on this profile)."""
    if claim.get("effect"):
        return per_seed(metrics, claim["effect"])
    t = per_seed(metrics, claim["treatment"])
    if "baseline" in claim:
        return None if t is None else {s: v - claim["baseline"] for s, v in t.items()}
    c = per_seed(metrics, claim["control"])
    if t is None or c is None:
        return None
    return stats.differences(t, c) or None


def judge(effect: dict, direction: int, p_holm: float | None, margin: float | None) -> str:
    """The verdict: for a direction, `stats.verdict`; for 'no difference' (direction 0, whose p
    is the equivalence test's), reproduced when equivalence within +-margin holds after Holm,
    opposite when the whole interval lies beyond the margin (a difference the study says is not
    there), else null (inconclusive)."""
    if direction != 0:
        return stats.verdict(effect, direction, p_holm)
    if effect["low"] is None:
        return "one seed"
    if p_holm is not None and p_holm < stats.ALPHA:
        return "reproduced"
    if effect["low"] > margin or effect["high"] < -margin:
        return "opposite"
    return "null"


def evaluate(metrics: dict, claims: list[dict] | None = None) -> list[dict]:
    """Every claim measured on a results file's `metrics`: {id, family, kind, study,
    study_number, direction, effect {value, low, high, n, sd, p}, p_holm, per_seed, verdict};
    a claim whose metrics the file lacks gets verdict 'not run'. Holm's family: the claims with
    at least two seeds, each with its own test's p (a claim of no difference: equivalence within
    its margin, `stats.equivalence_p`)."""
    claims = load() if claims is None else claims
    out = []
    for c in claims:
        row = {k: c.get(k) for k in ("id", "family", "kind", "study", "study_number", "direction")}
        effects = seed_effects(c, metrics)
        if effects is None:
            out.append({**row, "effect": None, "p_holm": None, "per_seed": None, "verdict": "not run"})
            continue
        effect = stats.t_interval(effects.values())
        if c["direction"] == 0:
            effect["p"] = stats.equivalence_p(effects.values(), c["margin"])
        out.append({**row, "effect": effect, "per_seed": effects, "margin": c.get("margin")})
    adjusted = stats.holm({r["id"]: r["effect"]["p"] for r in out if r["effect"] is not None})
    for r in out:
        if r["effect"] is not None:
            r["p_holm"] = adjusted[r["id"]]
            r["verdict"] = judge(r["effect"], r["direction"], r["p_holm"], r.pop("margin"))
    return out


def compact(rows: list[dict], digits: int = 4) -> list[dict]:
    """The claims as a results file stores them: numbers rounded, one dict per claim."""
    def rnd(v):
        return round(v, digits) if isinstance(v, float) else v

    out = []
    for r in rows:
        e = r["effect"]
        out.append({"id": r["id"], "family": r["family"], "kind": r["kind"],
                    "study_number": r["study_number"], "direction": r["direction"],
                    "effect": None if e is None else {k: rnd(e[k]) for k in ("value", "low", "high", "n", "p")},
                    "p_holm": rnd(r["p_holm"]),
                    "per_seed": None if r["per_seed"] is None else {s: rnd(v) for s, v in r["per_seed"].items()},
                    "verdict": r["verdict"]})
    return out


def _number(v, signed: bool = True) -> str:
    if v is None:
        return "-"
    return f"{v:+.3f}" if signed else f"{v:.3f}"


def _p(p) -> str:
    return "-" if p is None else f"{p:.3g}"


def table(stored: list[dict], claims: list[dict] | None = None) -> str:
    """The claims table in markdown: the study's words and number beside our effect over seeds
    (Student-t 95 % interval), the Holm-adjusted p and the verdict."""
    words = {c["id"]: c for c in (load() if claims is None else claims)}
    lines = ["| claim | the study | study's Δ | our Δ (95 % t-interval over seeds) | seeds | "
             "Holm p | verdict |", "|---|---|---|---|---|---|---|"]
    for r in stored:
        c, e = words.get(r["id"], {}), r["effect"]
        ours = "-" if e is None else (
            _number(e["value"]) + ("" if e["low"] is None else
                                   f" [{_number(e['low'])}, {_number(e['high'])}]"))
        direction = {1: "↑", -1: "↓", 0: "≈"}[r["direction"]]
        verdict = r["verdict"] if r["verdict"] not in ("reproduced", "opposite") \
            else f"**{r['verdict']}**"
        lines.append(f"| {r['id']} ({r['kind']}) | {c.get('study', '')} {direction} | "
                     f"{_number(r['study_number'])} | {ours} | {e['n'] if e else 0} | "
                     f"{_p(r['p_holm'])} | {verdict} |")
    return "\n".join(lines) + "\n"


