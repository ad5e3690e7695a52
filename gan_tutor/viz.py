r"""Plots used by every notebook: image grids, training curves, sample snapshots, 2-D toy samples.

All images here are ``(N, C, H, W)`` floats in ``[0, 1]`` with ``C`` in {1, 3}, as ``gan_tutor.data``
loads them (models that end in ``tanh`` map their output with ``(x + 1) / 2`` first). Plot functions
return a :class:`matplotlib.figure.Figure` and never call ``plt.show()``: in a notebook the figure
appears at the end of the cell; in tests and scripts it is saved or closed by the caller. Write
``viz.show_images(x);`` (with the semicolon) as a cell's last line, or the figure shows twice.

The training curves follow Goodfellow et al., "Generative Adversarial Nets" (2014, arXiv:1406.2661):
at the equilibrium of the minimax game $\min_G \max_D V(D, G)$ the generator's distribution equals
the data's, $p_g = p_{\text{data}}$, and the optimal discriminator
$D^*(x) = p_{\text{data}}(x) / (p_{\text{data}}(x) + p_g(x))$ outputs $1/2$ everywhere, so the panel
of $D(x)$ and $D(G(z))$ draws a dashed line at 0.5.

:class:`LivePlot` is the training loop's hook that redraws curves and the latest samples in place
while a notebook trains (notebooks 02 onwards); outside a Jupyter kernel it does nothing.
:func:`explorer` puts sliders on a drawing function in JupyterLab or Colab and falls back to one static
figure when the notebook runs headless (CI, ``make run``, papermill), so every output is reproducible.

matplotlib is imported inside the functions so that ``import gan_tutor.viz`` stays light.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from gan_tutor.images import check_images

__all__ = [
    "LivePlot",
    "explorer",
    "image_grid",
    "plot_history",
    "plot_samples_2d",
    "plot_snapshots",
    "show_images",
]

# Labels for the history keys the training loop writes; other "loss*" keys are labelled by name.
_LABELS = {
    "loss": "loss",
    "loss_d": r"$L_D$ (discriminator)",
    "loss_g": r"$L_G$ (generator)",
    "d_real": r"$D(x)$ on real",
    "d_fake": r"$D(G(z))$ on fake",
    "w1": r"critic's $W_1$ estimate $E f(x) - E f(G(z))$",
    "gp": "gradient penalty (without $\\lambda$)",
}
_D_KEYS = ("d_real", "d_fake")
_CRITIC_KEYS = ("w1", "gp")  # a Wasserstein critic (notebook 08) reports these instead of D's outputs


def _to_numpy(x: Any) -> np.ndarray:
    """A float NumPy copy of a tensor or array (torch is not imported for this)."""
    if hasattr(x, "detach"):  # a torch.Tensor, possibly on a GPU or requiring grad
        x = x.detach().cpu().float().numpy()
    return np.asarray(x, dtype=np.float32)


def _check_images(images: Any, what: str = "images") -> np.ndarray:
    """``images`` as a float32 (N, C, H, W) array in [0, 1] (``images.check_images``: errors name the fix)."""
    return check_images(images, what=what).cpu().float().numpy()


def image_grid(images: Any, nrow: int | None = None, padding: int = 2,
               pad_value: float = 1.0) -> np.ndarray:
    """Tile ``images`` (N, C, H, W) in [0, 1] into one image, row by row.

    ``nrow`` images per row (default ``ceil(sqrt(N))``), ``ceil(N / nrow)`` rows, ``padding`` pixels
    of ``pad_value`` around and between images; empty slots in the last row are ``pad_value``.
    Returns (H', W') for C = 1 or (H', W', 3) for C = 3, float32, with
    H' = rows (H + padding) + padding and W' = nrow (W + padding) + padding.
    """
    x = _check_images(images)
    n, c, h, w = x.shape
    if nrow is None:
        nrow = math.ceil(math.sqrt(n))
    if isinstance(nrow, bool) or not isinstance(nrow, (int, np.integer)) or nrow < 1:
        raise ValueError(f"nrow must be a positive int (images per row), got {nrow!r}")
    if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
        raise ValueError(f"padding must be an int >= 0 (pixels), got {padding!r}")
    if not 0.0 <= pad_value <= 1.0:
        raise ValueError(f"pad_value must lie in [0, 1] like the images, got {pad_value!r}")
    nrow = min(int(nrow), n)  # never wider than the images need
    rows = math.ceil(n / nrow)
    grid = np.full((c, rows * (h + padding) + padding, nrow * (w + padding) + padding),
                   pad_value, dtype=np.float32)
    for k in range(n):
        r, col = divmod(k, nrow)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, top:top + h, left:left + w] = x[k]
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)  # (C, H', W') -> (H', W', C)


def _draw_grid(ax, grid: np.ndarray) -> None:
    # vmin/vmax pin the colour scale: a grid of dark digits must not be stretched to full contrast.
    ax.imshow(grid, cmap="gray" if grid.ndim == 2 else None, vmin=0.0, vmax=1.0,
              interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def show_images(images: Any, nrow: int | None = None, title: str | None = None, ax=None,
                scale: float = 1.0):
    """Show ``images`` (N, C, H, W) in [0, 1] as one grid and return the Figure.

    ``scale`` is the size of one image in inches (the figure is capped at 12 inches wide); with
    ``ax`` the grid is drawn there and ``ax.figure`` is returned.
    """
    grid = image_grid(images, nrow=nrow)
    if ax is None:
        import matplotlib.pyplot as plt

        n, _, h, w = _to_numpy(images).shape
        cols = min(nrow or math.ceil(math.sqrt(n)), n)
        rows = math.ceil(n / cols)
        width, height = scale * cols * w / max(h, w), scale * rows * h / max(h, w)
        shrink = min(1.0, 12.0 / width) if width > 0 else 1.0
        fig, ax = plt.subplots(figsize=(max(width * shrink, 1.0), max(height * shrink, 1.0)))
    _draw_grid(ax, grid)
    if title:
        ax.set_title(title)
    return ax.figure


def _series(history: Mapping[str, Sequence[float]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``history`` checked: the steps and every plotted series, all of the same length."""
    if not isinstance(history, Mapping) or "step" not in history:
        raise ValueError("history must be a dict with a 'step' list (and 'loss_d', 'loss_g', "
                         "'d_real', 'd_fake' or 'loss' lists), as the training loop records it")
    steps = np.asarray(history["step"], dtype=np.float64)
    series = {}
    for key, values in history.items():
        if key == "step" or not (key.startswith("loss") or key in _D_KEYS + _CRITIC_KEYS):
            continue
        values = np.asarray([float(v) for v in values], dtype=np.float64)
        if values.shape != steps.shape:
            raise ValueError(f"history[{key!r}] has {values.size} values but history['step'] has "
                             f"{steps.size}: record every key at every logged step")
        series[key] = values
    return steps, series


def _history_panels(history) -> int:
    _, series = _series(history)
    return 2 if any(k in series for k in _D_KEYS + _CRITIC_KEYS) else 1


def plot_history(history: Mapping[str, Sequence[float]], ax=None):
    """Plot training curves and return the Figure.

    ``history``: ``{"step": [...], "loss_d": [...], "loss_g": [...], "d_real": [...],
    "d_fake": [...]}`` (any of the value keys; every key starting with ``loss`` is a loss). Panel 1
    shows the losses; panel 2, present when ``d_real`` or ``d_fake`` is, shows the mean
    discriminator outputs with a dashed line at the equilibrium value 1/2; for a Wasserstein critic
    (``w1``, ``gp``: notebook 08) it shows the critic's W1 estimate and its gradient penalty instead.
    ``ax``: one Axes, or a sequence of as many Axes as panels. Empty and one-point histories plot
    without error.
    """
    steps, series = _series(history)
    n_panels = _history_panels(history)
    if ax is None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, n_panels, figsize=(5.5 * n_panels, 3.5), squeeze=False)
        axes = list(axes[0])
    else:
        axes = list(ax) if isinstance(ax, (Sequence, np.ndarray)) else [ax]
        if len(axes) != n_panels:
            raise ValueError(f"this history needs {n_panels} axes (losses"
                             f"{' and D outputs' if n_panels == 2 else ''}), got {len(axes)}: "
                             f"pass plt.subplots(1, {n_panels})[1]")
    # Markers keep one-point and short curves visible; long ones are clearer as plain lines.
    marker = "." if steps.size < 30 else None

    loss_ax = axes[0]
    losses = {k: v for k, v in series.items() if k.startswith("loss")}
    for key, values in losses.items():
        loss_ax.plot(steps, values, marker=marker, label=_LABELS.get(key, key))
    loss_ax.set_xlabel("step")
    loss_ax.set_ylabel("loss")
    loss_ax.set_title("losses")
    if losses and steps.size:
        loss_ax.legend(loc="best")
    else:
        loss_ax.text(0.5, 0.5, "no steps recorded yet", ha="center", va="center",
                     transform=loss_ax.transAxes, color="0.5")

    if n_panels == 2 and not any(k in series for k in _D_KEYS):
        c_ax = axes[1]
        for key in _CRITIC_KEYS:
            if key in series:
                c_ax.plot(steps, series[key], marker=marker, label=_LABELS[key])
        c_ax.axhline(0.0, linestyle="--", color="0.4", linewidth=1)
        c_ax.set_xlabel("step")
        c_ax.set_title("critic (unbounded scores)")
        c_ax.legend(loc="best")
    elif n_panels == 2:
        d_ax = axes[1]
        for key in _D_KEYS:
            if key in series:
                d_ax.plot(steps, series[key], marker=marker, label=_LABELS[key])
        d_ax.axhline(0.5, linestyle="--", color="0.4", linewidth=1, label="equilibrium 1/2")
        d_ax.set_ylim(-0.02, 1.02)  # D outputs are probabilities
        d_ax.set_xlabel("step")
        d_ax.set_ylabel("mean discriminator output")
        d_ax.set_title("discriminator")
        d_ax.legend(loc="best")
    fig = axes[0].figure
    if ax is None:
        fig.tight_layout()
    return fig


def _evenly(n: int, k: int) -> list[int]:
    """At most ``k`` indices of ``range(n)``, evenly spread, first and last included."""
    if n <= k:
        return list(range(n))
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)}) if k > 1 else [n - 1]


def plot_snapshots(snapshots: Sequence[tuple[int, Any]], n_show: int = 8, max_rows: int = 8):
    """Samples of a fixed noise batch over training, one row per snapshot; returns the Figure.

    ``snapshots``: ``[(step, images (N, C, H, W) in [0, 1]), ...]`` in training order. Each row shows
    the first ``n_show`` images of one snapshot, labelled by its step; at most ``max_rows`` rows,
    chosen evenly with the first and last kept. An empty list gives a figure that says so.
    """
    import matplotlib.pyplot as plt

    if n_show < 1 or max_rows < 1:
        raise ValueError(f"n_show and max_rows must be >= 1, got {n_show} and {max_rows}")
    chosen = [snapshots[i] for i in _evenly(len(snapshots), max_rows)]
    if not chosen:
        fig, ax = plt.subplots(figsize=(6, 1.5))
        ax.text(0.5, 0.5, "no snapshots yet", ha="center", va="center", color="0.5")
        ax.set_axis_off()
        return fig
    fig, axes = plt.subplots(len(chosen), 1, figsize=(1.0 * n_show + 1.0, 1.1 * len(chosen)),
                             squeeze=False)
    for ax, (step, images) in zip(axes[:, 0], chosen):
        grid = image_grid(_check_images(images, f"snapshot at step {step}")[:n_show], nrow=n_show)
        _draw_grid(ax, grid)
        ax.set_ylabel(f"step {int(step)}", rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig


def _check_points(points: Any, what: str) -> np.ndarray:
    p = _to_numpy(points)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"{what} must be (N, 2) points, got shape {tuple(p.shape)}")
    return p


def plot_samples_2d(real: Any, fake: Any = None, centers: Any = None, ax=None,
                    title: str | None = None):
    """Scatter real and generated 2-D points (toy GANs, notebook 01); returns the Figure.

    ``real`` (N, 2), ``fake`` (M, 2) or None, ``centers`` (K, 2) mixture means marked with crosses,
    or None. Equal aspect, so a circle of modes looks like a circle.
    """
    real = _check_points(real, "real")
    if ax is None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(real[:, 0], real[:, 1], s=6, alpha=0.4, label=f"real ({len(real)})")
    if fake is not None:
        fake = _check_points(fake, "fake")
        ax.scatter(fake[:, 0], fake[:, 1], s=6, alpha=0.4, label=f"generated ({len(fake)})")
    if centers is not None:
        centers = _check_points(centers, "centers")
        ax.scatter(centers[:, 0], centers[:, 1], s=60, marker="x", color="black", label="modes")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="upper right", fontsize="small", markerscale=2)
    if title:
        ax.set_title(title)
    return ax.figure


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Colab, papermill), where display() renders."""
    ipython = sys.modules.get("IPython")  # never import IPython just to find out
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class LivePlot:
    """Training-loop hook that redraws curves and the latest samples in place in a notebook.

    Call it as ``hook(state)`` after each step; ``state`` has ``step`` (int), ``history`` (dict, see
    :func:`plot_history`) and ``snapshots`` (list of ``(step, images)``, possibly empty). On every
    step that is a multiple of ``every`` it draws one figure (curves, and the latest snapshot when
    ``show_samples``), shows it with ``display(fig, display_id=True)`` the first time and
    ``handle.update(fig)`` afterwards, then closes it, so one output updates and memory stays flat.
    Outside a Jupyter kernel (tests, scripts, a terminal) it does nothing. ``n_draws`` counts the
    figures drawn; :meth:`draw` forces one (e.g. after the last step).
    """

    def __init__(self, every: int = 200, show_samples: bool = True):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive int (steps between redraws), got {every!r}")
        self.every = every
        self.show_samples = show_samples
        self.n_draws = 0
        self._handle = None
        self._last_step: int | None = None

    def __call__(self, state) -> None:
        step = int(state.step)
        if step % self.every != 0 or step == self._last_step:
            return
        self.draw(state)

    def figure(self, state):
        """The figure for ``state``: history panels, then the latest snapshot if any (and wanted)."""
        import matplotlib.pyplot as plt

        n_hist = _history_panels(state.history)
        snapshots = list(getattr(state, "snapshots", None) or [])
        with_samples = self.show_samples and bool(snapshots)
        n = n_hist + int(with_samples)
        fig, axes = plt.subplots(1, n, figsize=(4.5 * n, 3.5), squeeze=False)
        plot_history(state.history, ax=list(axes[0, :n_hist]))
        if with_samples:
            snap_step, images = snapshots[-1]
            if images.ndim == 2 and images.shape[1] == 2:  # points of a 2-D toy GAN (notebook 01)
                ax = axes[0, -1]
                ax.scatter(images[:, 0], images[:, 1], s=2, alpha=0.5)
                ax.set_aspect("equal", adjustable="datalim")
                ax.set_title(f"samples at step {int(snap_step)}")
            else:
                show_images(images, ax=axes[0, -1], title=f"samples at step {int(snap_step)}")
        fig.suptitle(f"step {int(state.step)}")
        fig.tight_layout()
        return fig

    def draw(self, state) -> None:
        """Draw ``state`` now (in a kernel), whatever the step."""
        self._last_step = int(state.step)
        if not _in_kernel():
            return
        import matplotlib.pyplot as plt
        from IPython.display import display

        fig = self.figure(state)
        try:
            if self._handle is None:
                self._handle = display(fig, display_id=True)
            else:
                self._handle.update(fig)
            self.n_draws += 1
        finally:
            # Rendered to the output already; closing stops the figure list from growing and the
            # inline backend from showing the last frame a second time when the cell ends.
            plt.close(fig)

    def finish(self, state) -> None:
        """The training's final picture, once: draws ``state`` into the live output unless its last frame already
        shows this step (a run resumed at its end, which trained no step, gets its one figure here). Call it
        after training instead of :func:`plot_history`, which would draw the same curves a second time."""
        if self._last_step != int(state.step) or self._handle is None:
            self.draw(state)

    def close(self) -> None:
        """Stop updating the current output; a later draw starts a new one."""
        self._handle = None
        self._last_step = None


def front_end() -> str:
    """Whether a person sees this kernel's output live: ``"widgets"`` or ``"static"``.

    ``"widgets"`` in a front end that renders ipywidgets: JupyterLab, Notebook 7 or any client of a Jupyter server
    (which starts its kernels with ``JPY_SESSION_NAME`` set), Colab, VS Code. ``"static"`` outside a kernel and in a
    kernel that no front end watches: papermill, nbconvert, nbclient, ``make run``, CI (their kernels are started
    directly, without that variable). ``GAN_TUTOR_WIDGETS=1`` or ``0`` decides instead, for a front end not
    recognised here (e.g. the classic Notebook 6); ``GAN_TUTOR_HEADLESS=1`` still means static.
    """
    forced = os.environ.get("GAN_TUTOR_WIDGETS", "").strip()
    if forced in ("0", "1"):
        return "widgets" if forced == "1" else "static"
    if forced:
        raise ValueError(f"GAN_TUTOR_WIDGETS={forced!r}: set it to 1 (widgets) or 0 (static figures), or unset it.")
    if os.environ.get("GAN_TUTOR_HEADLESS") == "1" or not _in_kernel():
        return "static"
    if "google.colab" in sys.modules or os.environ.get("JPY_SESSION_NAME") or any(k.startswith("VSCODE_") for k in os.environ):
        return "widgets"
    return "static"


def explorer(render: Callable[..., Any], **controls: Sequence) -> None:
    """Interactive ``render(**values)`` with one widget per control in a live front end; one static figure otherwise.

    Each control is a sequence of the values it may take (``digit=range(10)``, ``t=[0, 0.25, 0.5]``).
    Live (:func:`front_end` is ``"widgets"`` and ipywidgets is installed), each becomes a control (toggle buttons
    for up to 10 values, else a slider) and every change draws ``render``'s figure once. Otherwise ``render`` is
    called once with each control's first value and its figure becomes an ordinary image output, which
    papermill, nbconvert, GitHub and nbviewer keep and show. Returns nothing (no stray line under the cell).
    """
    for name, values in controls.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ValueError(f"control {name!r} must be a non-empty sequence of values (e.g. range(10)), got {values!r}")

    def frame(**values) -> None:
        # render's figure shown once: displayed here, then closed so that neither interact (which would show a
        # returned value) nor the inline backend (which shows open figures when the cell ends) draws it again
        fig = render(**values)
        if fig is None:
            return
        import matplotlib.pyplot as plt

        try:
            if _in_kernel():
                from IPython.display import display

                display(fig)
        finally:
            plt.close(fig)

    ipywidgets = None
    if front_end() == "widgets":
        try:
            import ipywidgets
        except ImportError:  # a kernel without ipywidgets: the static figure below
            pass
    if ipywidgets is None:
        frame(**{name: values[0] for name, values in controls.items()})
        return None

    def widget(name: str, values: Sequence):
        options = list(values)
        if len(options) <= 10:
            return ipywidgets.ToggleButtons(options=options, value=options[0], description=name)
        return ipywidgets.SelectionSlider(options=options, value=options[0], description=name, continuous_update=False)

    from IPython.display import display

    display(ipywidgets.interactive(frame, **{name: widget(name, values) for name, values in controls.items()}))
    return None
