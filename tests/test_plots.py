"""Figures: saved as files, and put into the notebook output (the rendered report) as PNGs."""

import IPython
import IPython.display
import matplotlib.pyplot as plt

from reason_lib import plots

RESULTS = {"a": {"value": 0.4, "low": 0.3, "high": 0.5}, "b": {"value": 0.6, "low": 0.5, "high": 0.7}}


def test_figure_saved_and_not_shown_outside_a_notebook(tmp_path):
    fig = plots.interval_bars(RESULTS, tmp_path / "figs" / "bars.png", title="t")
    assert (tmp_path / "figs" / "bars.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plots.show(fig) is None and plt.fignum_exists(fig.number)  # left open for the caller
    plt.close(fig)


def test_figure_displayed_as_png_inside_ipython(tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())  # as inside a kernel
    monkeypatch.setattr(IPython.display, "display", shown.append)
    fig = plots.loss_curve([{"step": i, "loss": 1.0 / (i + 1)} for i in range(5)], tmp_path / "l.png")
    assert len(shown) == 1 and shown[0].data[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)  # closed once displayed: no figure piles up


def test_per_reply_class_distributions_are_drawn_sorted_by_expected_class(tmp_path):
    low, high = [0.9] + [0.1 / 9] * 9, [0.1 / 9] * 9 + [0.9]
    fig = plots.class_distribution_samples({"sft": [high, low, high], "reinforce": [low, low]},
                                           tmp_path / "per_reply.png", title="t")
    assert (tmp_path / "per_reply.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (3, 10) and image[0, 0] == 0.9 and image[-1, -1] == 0.9  # low class first
    plt.close(fig)


def test_a_loss_curve_with_nothing_to_draw_says_so_and_long_labels_wrap(tmp_path):
    fig = plots.loss_curve([{"step": 8, "loss": 2.5}], tmp_path / "l.png")
    (ax,) = fig.axes
    assert not ax.lines and "1 logged point of 'loss' (step 8: 2.500)" in ax.texts[0].get_text()
    plt.close(fig)
    drawn = plots.loss_curve([{"step": i, "loss": 1.0 / (i + 1)} for i in range(5)])
    assert len(drawn.axes[0].lines) == 1 and not drawn.axes[0].texts
    plt.close(drawn)
    long = {"reward_cond_no_pause_t1.5": RESULTS["a"], "star_pause_t1.0": RESULTS["b"]}
    bars = plots.interval_bars(long)
    labels = [t.get_text() for t in bars.axes[0].get_xticklabels()]
    assert labels == ["reward_cond_no_\npause_t1.5", "star_pause_t1.0"]
    assert bars.axes[0].get_xticklabels()[0].get_rotation() == 30
    plt.close(bars)


def test_a_text_table_keeps_line_breaks_escapes_html_and_cuts_long_text():
    html = plots.text_table([{"question": "Q?", "reply": "a <<2+3=5>>5\n#### 5", "n": 3},
                             {"question": "x" * 50, "reply": "", "n": 4}], max_chars=20).to_html()
    assert "a &lt;&lt;2+3=5&gt;&gt;5\n#### 5" in html and "\\n" not in html
    assert "x" * 20 + " …" in html and "x" * 21 not in html
    assert "pre-wrap" in html and ">3<" in html
