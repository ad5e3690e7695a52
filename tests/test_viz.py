"""Tests for gan_tutor.viz: exact grid layout, input errors, figures drawn headless, the live hook."""

from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")  # headless: must precede the first pyplot import

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from gan_tutor import viz  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _constant_images(values, c=1, h=2, w=2):
    """(N, C, H, W) images, image k filled with values[k]."""
    return np.stack([np.full((c, h, w), v, dtype=np.float32) for v in values])


def _history(n, with_d=True):
    steps = list(range(0, 10 * n, 10))
    h = {"step": steps, "loss_d": [1.3 - 0.01 * i for i in range(n)],
         "loss_g": [0.7 + 0.01 * i for i in range(n)]}
    if with_d:
        h |= {"d_real": [0.6] * n, "d_fake": [0.4] * n}
    return h


# --- image_grid ------------------------------------------------------------------------------------


def test_grid_exact_layout_with_padding():
    # 4 constant 2x2 images, nrow 2, padding 1: a 7x7 grid, pad 1.0 (white) at rows/cols 0, 3, 6.
    grid = viz.image_grid(_constant_images([0.1, 0.2, 0.3, 0.4]), padding=1, pad_value=1.0)
    p, a, b, c, d = 1.0, 0.1, 0.2, 0.3, 0.4
    expected = np.array([
        [p, p, p, p, p, p, p],
        [p, a, a, p, b, b, p],
        [p, a, a, p, b, b, p],
        [p, p, p, p, p, p, p],
        [p, c, c, p, d, d, p],
        [p, c, c, p, d, d, p],
        [p, p, p, p, p, p, p],
    ], dtype=np.float32)
    assert grid.shape == (7, 7) and grid.dtype == np.float32
    np.testing.assert_array_equal(grid, expected)


def test_grid_partial_last_row_is_padding_and_nrow_is_images_per_row():
    x = _constant_images([0.0, 0.5, 0.25], h=1, w=3)
    grid = viz.image_grid(torch.from_numpy(x), nrow=2, padding=0, pad_value=0.75)
    expected = np.array([[0.0, 0.0, 0.0, 0.5, 0.5, 0.5],
                         [0.25, 0.25, 0.25, 0.75, 0.75, 0.75]], dtype=np.float32)
    np.testing.assert_array_equal(grid, expected)
    # Default nrow = ceil(sqrt(5)) = 3 images per row, 2 rows: H' = 2(4+2)+2, W' = 3(5+2)+2.
    assert viz.image_grid(np.zeros((5, 1, 4, 5))).shape == (14, 23)
    # nrow larger than N does not leave empty columns.
    assert viz.image_grid(np.zeros((2, 1, 4, 4)), nrow=10, padding=0).shape == (4, 8)


def test_grid_rgb_is_channels_last():
    x = np.zeros((2, 3, 2, 2), dtype=np.float32)
    x[0, 0] = 1.0  # image 0 red
    x[1, 2] = 0.5  # image 1 half blue
    grid = viz.image_grid(x, nrow=2, padding=1, pad_value=0.0)
    assert grid.shape == (4, 7, 3)
    np.testing.assert_array_equal(grid[1, 1], [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(grid[2, 5], [0.0, 0.0, 0.5])
    np.testing.assert_array_equal(grid[0, 0], [0.0, 0.0, 0.0])


def test_grid_accepts_tensors_needing_grad_and_tiny_overshoot():
    x = torch.full((1, 1, 2, 2), 1.0 + 5e-7, requires_grad=True)
    grid = viz.image_grid(x, padding=0)
    np.testing.assert_array_equal(grid, np.ones((2, 2), dtype=np.float32))  # clipped to 1


@pytest.mark.parametrize(
    "images, match",
    [
        # the wording is gan_tutor.images' (tests/test_images.py); here: the grid validates what it draws
        (np.zeros((4, 4)), r"shape \(4, 4\), expected \(N, C, H, W\): for a single image \(H, W\) use x\[None, None\]"),
        (np.zeros((3, 4, 4)), r"shape \(3, 4, 4\).*x.unsqueeze\(1\)"),
        (np.zeros((2, 2, 4, 4)), r"with 1 or 3 channels in dim 1"),
        (np.zeros((2, 4, 4, 3)), r"channels last\? use x.permute\(0, 3, 1, 2\)"),
        (np.zeros((0, 1, 4, 4)), r"empty batch \(N = 0\)"),
        (np.full((1, 1, 2, 2), -0.5), r"range over \[-0.5, -0.5\], expected \[0, 1\]: .*tanh output: map them with \(x \+ 1\) / 2"),
        (np.full((1, 1, 2, 2), 200.0), r"\[200, 200\].*0\.\.255 pixels: divide them by 255"),
        (np.full((1, 1, 2, 2), 1.0 + 1e-2), r"expected \[0, 1\]"),
        (np.full((1, 1, 2, 2), np.nan), r"NaN or inf"),
    ],
    ids=["2d", "3d", "2-channels", "channels-last", "empty", "tanh-range", "uint8-range",
         "just-over", "nan"],
)
def test_grid_errors_name_the_fix(images, match):
    with pytest.raises(ValueError, match=match):
        viz.image_grid(images)


@pytest.mark.parametrize("kw, match", [({"nrow": 0}, "nrow must be a positive int"),
                                       ({"padding": -1}, "padding must be an int >= 0"),
                                       ({"pad_value": 2.0}, r"pad_value must lie in \[0, 1\]")])
def test_grid_argument_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        viz.image_grid(np.zeros((1, 1, 2, 2)), **kw)


# --- figures ---------------------------------------------------------------------------------------


def test_show_images_draws_the_grid():
    x = _constant_images([0.2, 0.8], h=3, w=3)
    fig = viz.show_images(x, nrow=2, title="two")
    (ax,) = fig.axes
    assert ax.get_title() == "two"
    np.testing.assert_array_equal(ax.images[0].get_array(), viz.image_grid(x, nrow=2))
    assert ax.images[0].get_clim() == (0.0, 1.0)  # no contrast stretching
    # Drawing into a given Axes returns its figure and adds no axes.
    fig2, ax2 = plt.subplots()
    assert viz.show_images(x, ax=ax2) is fig2 and len(fig2.axes) == 1


@pytest.mark.parametrize("n", [0, 1, 5])
def test_plot_history_two_panels_for_gan(n):
    fig = viz.plot_history(_history(n))
    loss_ax, d_ax = fig.axes
    assert [line.get_label() for line in loss_ax.lines] == [r"$L_D$ (discriminator)",
                                                           r"$L_G$ (generator)"]
    np.testing.assert_array_equal(loss_ax.lines[0].get_xdata(), np.arange(0, 10 * n, 10))
    equilibrium = [line for line in d_ax.lines if line.get_linestyle() == "--"]
    assert len(equilibrium) == 1
    np.testing.assert_array_equal(equilibrium[0].get_ydata(), [0.5, 0.5])
    assert len(d_ax.lines) == 3  # D(x), D(G(z)), the dashed line


def test_plot_history_shows_a_critics_w1_estimate_and_penalty_not_probabilities():
    history = {"step": [10, 20, 30], "loss_d": [-1.0, -0.5, -0.2], "loss_g": [0.3, 0.1, 0.0],
               "w1": [2.5, 1.4, 0.9], "gp": [0.4, 0.1, 0.05]}
    loss_ax, c_ax = viz.plot_history(history).axes
    curves = {line.get_label(): line.get_ydata().tolist() for line in c_ax.lines if line.get_linestyle() != "--"}
    assert curves == {viz._LABELS["w1"]: [2.5, 1.4, 0.9], viz._LABELS["gp"]: [0.4, 0.1, 0.05]}
    assert c_ax.get_ylim()[1] > 2.5  # not clipped to [0, 1] like probabilities
    assert "critic" in c_ax.get_title()


def test_plot_history_single_panel_without_d_outputs():
    fig = viz.plot_history({"step": [1, 2, 3], "loss": [3.0, 2.0, 1.5], "lr": [1e-3] * 3})
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.lines] == ["loss"]  # 'lr' is not a loss
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [3.0, 2.0, 1.5])


def test_plot_history_into_given_axes_and_errors():
    fig, axes = plt.subplots(1, 2)
    assert viz.plot_history(_history(3), ax=axes) is fig and len(fig.axes) == 2
    with pytest.raises(ValueError, match=r"needs 2 axes .* got 1: pass plt.subplots\(1, 2\)\[1\]"):
        viz.plot_history(_history(3), ax=axes[0])
    with pytest.raises(ValueError, match=r"history\['loss_g'\] has 2 values but history\['step'\] has 3"):
        viz.plot_history({"step": [1, 2, 3], "loss_g": [1.0, 2.0]})
    with pytest.raises(ValueError, match="must be a dict with a 'step' list"):
        viz.plot_history({"loss": [1.0]})


def test_plot_snapshots_rows_subsampled_evenly():
    snapshots = [(100 * k, _constant_images([k / 20] * 16, h=4, w=4)) for k in range(20)]
    fig = viz.plot_snapshots(snapshots, n_show=5)
    assert len(fig.axes) == 8
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert labels[0] == "step 0" and labels[-1] == "step 1900"
    assert labels == [f"step {100 * k}" for k in (0, 3, 5, 8, 11, 14, 16, 19)]
    # Each row shows exactly the first n_show images of its snapshot.
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(),
                                  viz.image_grid(snapshots[3][1][:5], nrow=5))


def test_plot_snapshots_short_and_empty():
    assert len(viz.plot_snapshots([(7, np.zeros((3, 1, 4, 4)))]).axes) == 1
    fig = viz.plot_snapshots([])
    assert len(fig.axes) == 1 and fig.axes[0].texts[0].get_text() == "no snapshots yet"
    with pytest.raises(ValueError, match=r"snapshot at step 5 range over \[-1, -1\], expected \[0, 1\]"):
        viz.plot_snapshots([(5, np.full((1, 1, 2, 2), -1.0))])


def test_plot_samples_2d():
    real, fake = torch.randn(50, 2), np.zeros((30, 2))
    centers = np.array([[1.0, 0.0], [-1.0, 0.0]])
    fig = viz.plot_samples_2d(real, fake, centers=centers, title="ring")
    (ax,) = fig.axes
    assert len(ax.collections) == 3 and ax.get_title() == "ring"
    np.testing.assert_allclose(ax.collections[2].get_offsets(), centers)
    assert ax.get_aspect() == 1.0
    assert len(viz.plot_samples_2d(real).axes[0].collections) == 1
    with pytest.raises(ValueError, match=r"fake must be \(N, 2\) points, got shape \(30, 3\)"):
        viz.plot_samples_2d(real, np.zeros((30, 3)))


# --- LivePlot --------------------------------------------------------------------------------------


def _state(step, n_snap=1):
    snaps = [(s, np.full((4, 1, 4, 4), 0.5, dtype=np.float32)) for s in range(n_snap)]
    return SimpleNamespace(step=step, history=_history(max(step // 10, 0)), snapshots=snaps)


def test_liveplot_headless_does_nothing():
    hook = viz.LivePlot(every=2)
    before = plt.get_fignums()
    for step in range(7):
        hook(_state(step, n_snap=0))
    hook.close()
    assert hook.n_draws == 0 and plt.get_fignums() == before


class _FakeDisplay:
    """Stands in for IPython.display.display with a handle that records updates."""

    def __init__(self):
        self.shown, self.updates = [], []

    def __call__(self, obj, display_id=False):
        assert display_id is True
        self.shown.append(obj)
        return SimpleNamespace(update=self.updates.append)


def test_liveplot_in_kernel_draws_on_multiples_and_closes_figures(monkeypatch):
    import IPython.display

    fake = _FakeDisplay()
    monkeypatch.setattr(viz, "_in_kernel", lambda: True)
    monkeypatch.setattr(IPython.display, "display", fake)
    hook = viz.LivePlot(every=3)
    before = plt.get_fignums()
    for step in range(1, 11):
        hook(_state(step))
    hook(_state(9))  # the same step again is not redrawn
    assert hook.n_draws == 3  # steps 3, 6, 9
    assert len(fake.shown) == 1 and len(fake.updates) == 2  # one output, updated in place
    assert plt.get_fignums() == before  # every frame closed
    fig = fake.updates[-1]
    assert fig._suptitle.get_text() == "step 9" and len(fig.axes) == 3  # losses, D, samples

    hook.close()
    hook.draw(_state(10, n_snap=0))  # after close: a new output, no sample panel
    assert len(fake.shown) == 2 and len(fake.shown[-1].axes) == 2


def test_liveplot_finish_draws_the_final_curves_once(monkeypatch):
    import IPython.display

    fake = _FakeDisplay()
    monkeypatch.setattr(viz, "_in_kernel", lambda: True)
    monkeypatch.setattr(IPython.display, "display", fake)
    hook = viz.LivePlot(every=5)
    for step in range(1, 11):
        hook(_state(step))
    hook.finish(_state(10))  # the last frame already shows step 10: nothing drawn twice
    assert hook.n_draws == 2 and len(fake.shown) == 1 and len(fake.updates) == 1
    hook(_state(12))
    hook.finish(_state(12))  # training ended between frames: the final step, into the same output
    assert hook.n_draws == 3 and len(fake.shown) == 1 and fake.updates[-1]._suptitle.get_text() == "step 12"
    resumed = viz.LivePlot(every=5)  # a finished run loaded again trains no step: its one figure comes from finish
    resumed.finish(_state(12))
    assert resumed.n_draws == 1 and len(fake.shown) == 2


def test_in_kernel_detection(monkeypatch):
    fake = SimpleNamespace(get_ipython=lambda: None)  # plain Python that imported IPython
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert viz._in_kernel() is False
    fake.get_ipython = lambda: SimpleNamespace()  # terminal IPython: display() would print text
    assert viz._in_kernel() is False
    fake.get_ipython = lambda: SimpleNamespace(kernel=object())  # Jupyter, Colab, papermill
    assert viz._in_kernel() is True
    monkeypatch.delitem(sys.modules, "IPython")
    assert viz._in_kernel() is False


def test_liveplot_without_samples_and_bad_every():
    fig = viz.LivePlot(every=1, show_samples=False).figure(_state(20))
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="every must be a positive int"):
        viz.LivePlot(every=0)


def test_import_is_light():
    code = "import sys, gan_tutor.viz; print('matplotlib' in sys.modules, 'IPython' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_liveplot_figure_shows_2d_points_as_a_scatter():
    points = np.stack([np.cos(np.arange(8)), np.sin(np.arange(8))], 1).astype(np.float32)
    state = SimpleNamespace(step=20, history=_history(2), snapshots=[(20, points)])
    fig = viz.LivePlot(every=10).figure(state)
    scatter = fig.axes[-1]
    assert scatter.get_title() == "samples at step 20"
    offsets = scatter.collections[0].get_offsets()
    assert np.allclose(np.asarray(offsets), points)
    plt.close(fig)


def test_explorer_is_one_static_figure_when_headless(monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.setenv("GAN_TUTOR_HEADLESS", "1")
    calls = []

    def render(digit, seed):
        calls.append((digit, seed))
        return plt.figure()

    before = len(plt.get_fignums())
    assert viz.explorer(render, digit=range(10), seed=[3, 4]) is None  # nothing printed under the cell
    assert calls == [(0, 3)]  # once, with every control's first value
    assert len(plt.get_fignums()) == before  # closed: the inline backend cannot show it a second time
    with pytest.raises(ValueError, match="non-empty sequence"):
        viz.explorer(render, digit=5)


@pytest.mark.parametrize("env, colab, in_kernel, expected", [
    ({}, False, False, "static"),  # a plain Python process
    ({}, False, True, "static"),  # a kernel started by papermill / nbconvert / nbclient: no server, no front end
    ({"JPY_SESSION_NAME": "04_conditional_gan.ipynb"}, False, True, "widgets"),  # started by a Jupyter server
    ({}, True, True, "widgets"),  # Colab
    ({"VSCODE_PID": "12"}, False, True, "widgets"),
    ({"JPY_SESSION_NAME": "x.ipynb", "GAN_TUTOR_HEADLESS": "1"}, False, True, "static"),
    ({"JPY_SESSION_NAME": "x.ipynb", "GAN_TUTOR_WIDGETS": "0"}, False, True, "static"),
    ({"GAN_TUTOR_WIDGETS": "1"}, False, True, "widgets"),
])
def test_front_end_is_detected_from_the_kernel_and_its_launcher(monkeypatch, env, colab, in_kernel, expected):
    import types

    for k in [k for k in os.environ if k.startswith("VSCODE_")] + ["JPY_SESSION_NAME", "GAN_TUTOR_HEADLESS", "GAN_TUTOR_WIDGETS"]:
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(viz, "_in_kernel", lambda: in_kernel)
    assert viz.front_end() == expected


def test_front_end_refuses_an_unclear_override(monkeypatch):
    monkeypatch.setenv("GAN_TUTOR_WIDGETS", "yes")
    with pytest.raises(ValueError, match="set it to 1 .widgets. or 0"):
        viz.front_end()


def test_explorer_in_a_live_front_end_draws_each_frame_once(monkeypatch):
    import ipywidgets
    import matplotlib.pyplot as plt
    from IPython import display as ipydisplay

    monkeypatch.setenv("GAN_TUTOR_WIDGETS", "1")
    monkeypatch.setattr(viz, "_in_kernel", lambda: True)
    shown = []
    monkeypatch.setattr(ipydisplay, "display", lambda *objs, **kw: shown.extend(objs))
    seen = {}

    def interactive(fn, **w):  # what ipywidgets calls on every change: fn(**current values); its result is displayed
        seen.update(fn=fn, **w)
        seen["returned"] = fn(**{k: v.value for k, v in w.items()})
        return "the widget"

    monkeypatch.setattr(ipywidgets, "interactive", interactive)
    frames = []

    def render(digit, t):
        frames.append((digit, t))
        return plt.figure()

    before = len(plt.get_fignums())
    assert viz.explorer(render, digit=range(10), t=[i / 20 for i in range(21)]) is None
    assert isinstance(seen["digit"], ipywidgets.ToggleButtons) and list(seen["digit"].options) == list(range(10))
    assert isinstance(seen["t"], ipywidgets.SelectionSlider) and seen["t"].value == 0.0
    assert seen["returned"] is None  # interact shows a returned figure a second time: nothing is returned
    seen["fn"](digit=7, t=0.5)  # the learner moves a control
    assert frames == [(0, 0.0), (7, 0.5)]
    figures = [o for o in shown if isinstance(o, plt.Figure)]
    assert len(figures) == 2 and shown.count("the widget") == 1  # one image per frame, the controls once
    assert len(plt.get_fignums()) == before  # every frame closed after it was shown
