"""The standard figures, so every report looks the same: labelled axes, units, intervals drawn."""

from __future__ import annotations

import io
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless; `show` puts every figure into the notebook as a PNG
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams.update({"figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3,
                     "axes.spines.top": False, "axes.spines.right": False})


def _save(fig, path: str | Path | None):
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, bbox_inches="tight")
    show(fig)
    return fig


def show(fig):
    """Put the figure into the notebook's output as a PNG, so the rendered report (papermill's
    notebook, its HTML) carries it whatever the matplotlib backend; then close it. Outside
    IPython nothing is shown and the figure stays open. Returns the displayed image or None."""
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:
        return None
    if get_ipython() is None:
        return None
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    image = Image(data=buffer.getvalue(), format="png")
    display(image)
    plt.close(fig)
    return image


def text_table(rows, max_chars: int = 400):
    """Sample questions and replies as a table to read in a report: each line break kept (pandas'
    own table prints them as a literal backslash-n), text left-aligned and HTML-escaped (a
    GSM8K-format reply's `<<a+b=c>>` stays visible), a cell longer than `max_chars` cut with an
    ellipsis (the full text is in the run's samples.jsonl). `rows`: a DataFrame or what one is
    built from."""
    import pandas as pd

    table = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)

    def cut(value):
        return value[:max_chars] + " …" if isinstance(value, str) and len(value) > max_chars else value

    return (table.map(cut).style.format(escape="html", precision=3)
            .set_properties(**{"white-space": "pre-wrap", "text-align": "left", "vertical-align": "top"})
            .set_table_styles([{"selector": "th", "props": [("text-align", "left")]}]))


def _wrap(label: str, width: int = 16) -> str:
    """A tick label on lines of about `width` characters, broken after '_' or a space."""
    lines = [""]
    for part in re.findall(r"[^_ ]+[_ ]?|[_ ]", label):
        if lines[-1] and len(lines[-1]) + len(part) > width:
            lines.append("")
        lines[-1] += part
    return "\n".join(line.rstrip() for line in lines)


def loss_curve(history: list[dict], path=None, key: str = "loss", title: str = "Training loss"):
    """Loss against optimiser step from a log history (list of dicts with `step` and `key`)."""
    points = [(h["step"], h[key]) for h in history if key in h and "step" in h]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.set(xlabel="optimiser step", ylabel=f"{key} (nats / token)", title=title)
    if len(points) < 2:  # a short run logs its loss once or never: say so, not empty axes
        ax.text(0.5, 0.5, f"{len(points)} logged point{'s' * (len(points) != 1)} of '{key}'"
                + (f" (step {points[0][0]}: {points[0][1]:.3f})" if points else "")
                + ":\nno curve to draw at this run's size", ha="center", va="center",
                transform=ax.transAxes, color="#555")
        ax.set_xticks([]), ax.set_yticks([])
        return _save(fig, path)
    ax.plot([p[0] for p in points], [p[1] for p in points], lw=1.5)
    return _save(fig, path)


def interval_bars(results: dict[str, dict], path=None, ylabel: str = "accuracy",
                  title: str = "", chance: float | None = None, ylim=(0, 1)):
    """One bar per label with its 95 % interval; `results[label]` has value, low and high
    (`ylim=None` scales the axis to the data, for metrics that are not shares)."""
    keys = list(results)
    values = [results[k]["value"] for k in keys]
    labels = [_wrap(str(k)) for k in keys]  # long names on a few lines, not overlapping
    err = [[max(0.0, v - results[k]["low"]) for k, v in zip(keys, values)],
           [max(0.0, results[k]["high"] - v) for k, v in zip(keys, values)]]
    fig, ax = plt.subplots(figsize=(max(4, 1.1 * len(labels) + 1), 3.5))
    ax.bar(labels, values, yerr=err, capsize=4, color="#4C72B0")
    if chance is not None:
        ax.axhline(chance, ls="--", color="grey", lw=1, label=f"chance ({chance:.0%})")
        ax.legend(loc="upper right")
    ax.set(ylabel=f"{ylabel} (95 % interval)", title=title)
    if ylim is not None:
        ax.set_ylim(*ylim)
    if len(labels) >= 8:
        ax.tick_params(axis="x", rotation=75)
    elif any(len(k) > 12 for k in map(str, keys)):
        plt.setp(ax.get_xticklabels(), rotation=30, ha="right", rotation_mode="anchor")
    return _save(fig, path)


def step_curves(curves: dict[str, list[dict]], metrics: list[tuple[str, str]], path=None,
                title: str = "", xlabel: str = "optimiser step", hline: float | None = None):
    """One panel per metric, one line per label, against optimiser step (or `xlabel`), shared x
    axis; `hline` draws a reference level (e.g. chance) on every panel.

    `curves[label]` is a list of dicts with `step` and the metric keys; a metric value may be a
    dict with value/low/high, drawn with its interval shaded. `metrics` = [(key, axis label)].
    """
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4), sharex=True,
                             squeeze=False)
    for ax, (key, label) in zip(axes[0], metrics):
        for name, points in curves.items():
            pts = [p for p in points if p.get(key) is not None]
            if not pts:
                continue
            steps = [p["step"] for p in pts]
            vals = [p[key]["value"] if isinstance(p[key], dict) else p[key] for p in pts]
            line, = ax.plot(steps, vals, marker="o", ms=3, label=name)
            if isinstance(pts[0][key], dict) and "low" in pts[0][key]:
                ax.fill_between(steps, [p[key]["low"] for p in pts],
                                [p[key]["high"] for p in pts], alpha=0.15, color=line.get_color())
        if hline is not None:
            ax.axhline(hline, ls="--", color="grey", lw=1)
        ax.set(xlabel=xlabel, ylabel=label)
    axes[0][0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def class_distribution_samples(per_sample: dict[str, list[list[float]]], path=None, title: str = ""):
    """One panel per label: every reply's predicted class distribution as a row of a heat map
    (replies sorted by expected class), so a mean hides neither a split nor a collapse."""
    import numpy as np

    labels = list(per_sample)
    fig, axes = plt.subplots(1, len(labels), figsize=(2.6 * len(labels) + 1, 3.8), sharey=True,
                             squeeze=False)
    for ax, label in zip(axes[0], labels):
        probs = np.asarray(per_sample[label])
        order = np.argsort(probs @ np.arange(1, probs.shape[1] + 1))
        image = ax.imshow(probs[order], aspect="auto", vmin=0, vmax=1, cmap="viridis",
                          interpolation="nearest",
                          extent=(0.5, probs.shape[1] + 0.5, len(probs), 0))
        ax.set(title=label, xlabel="reward class", xticks=list(range(1, probs.shape[1] + 1, 3)))
    axes[0][0].set_ylabel("reply (sorted by expected class)")
    fig.colorbar(image, ax=axes[0].tolist(), label="probability")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def class_distributions(dists: dict[str, list[float]], path=None, title: str = ""):
    """Grouped bars: for each label, the mean predicted probability of each reward class (1..n)."""
    labels = list(dists)
    n = len(next(iter(dists.values())))
    width = 0.8 / len(labels)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for i, label in enumerate(labels):
        ax.bar([c + 1 + (i - (len(labels) - 1) / 2) * width for c in range(n)], dists[label],
               width=width, label=label)
    ax.set(xlabel="reward class", ylabel="mean probability", title=title,
           xticks=list(range(1, n + 1)))
    ax.legend(fontsize=8)
    return _save(fig, path)


def forest(rows: list[tuple], path=None, title: str = "", xlabel: str = "effect"):
    """A forest plot: one row per (label, value, low, high, reference) from the top, the value
    with its interval (low None: a hollow point, no interval), the reference (e.g. a study's
    number; None: none) as a red diamond, and zero marked."""
    fig, ax = plt.subplots(figsize=(7, 0.45 * max(len(rows), 1) + 1.2))
    for i, (label, value, low, high, reference) in enumerate(reversed(rows)):
        if low is not None:
            ax.errorbar(value, i, xerr=[[value - low], [high - value]], fmt="o", color="C0",
                        capsize=3)
        else:
            ax.plot(value, i, "o", mfc="none", color="C0")
        if reference is not None:
            ax.plot(reference, i, "D", color="C3")
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(range(len(rows)), [r[0] for r in reversed(rows)])
    ax.set(xlabel=xlabel, title=title)
    ax.plot([], [], "o", color="C0", label="ours (95 % t-interval over seeds; hollow: one seed)")
    ax.plot([], [], "D", color="C3", label="the study")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=8)
    return _save(fig, path)
