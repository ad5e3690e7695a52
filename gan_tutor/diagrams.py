r"""Diagrams of what the notebooks train: boxes, arrows and text drawn with matplotlib, no image files.

Each function returns a :class:`matplotlib.figure.Figure` and draws nothing else (no ``plt.show()``); end a cell
with ``diagrams.gan_training_loop();`` (with the semicolon) or the figure shows twice, as with ``gan_tutor.viz``.

* :func:`gan_training_loop` (notebooks 01, 02): one iteration, a D step on real and *detached* fakes, then a G
  step with the non-saturating loss :math:`-\log D(G(z))` whose gradient flows back through D into G
  (Goodfellow et al. 2014, arXiv:1406.2661, Algorithm 1 and section 3).
* :func:`transposed_convolution` (notebook 03): how a transposed convolution paints its output, computed from
  :math:`o = i s - p + t` (Odena, Dumoulin & Olah 2016, "Deconvolution and Checkerboard Artifacts").
* :func:`dcgan_generator` (notebook 03): the DCGAN generator with the shape of every tensor.
* :func:`conditional_discriminators` (notebook 04): label by concatenation vs the projection discriminator
  :math:`D(x, y) = \psi(\phi(x)) + \langle V_y, \phi(x) \rangle` (Miyato & Koyama 2018, arXiv:1802.05637).
* :func:`stylegan_networks` (notebook 06): mapping network, style slots, modulated layers, noise, ToRGB skips
  (Karras et al. 2019, arXiv:1812.04948; 2020, arXiv:1912.04958).
* :func:`nearest_neighbour_balls` (notebook 07): the k-nearest-neighbour balls behind precision and recall
  (Kynkäänniemi et al. 2019, arXiv:1904.06991) and density and coverage (Naeem et al. 2020, arXiv:2002.09797).

Where a network is drawn, it is read from the package's own code (layers, slot counts, tensor shapes from a dummy
forward pass), and every number in a figure is computed, never typed in, so a picture cannot drift from what the
notebooks train. matplotlib is imported inside the functions so that ``import gan_tutor.diagrams`` stays light.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["conditional_discriminators", "dcgan_generator", "gan_training_loop", "nearest_neighbour_balls",
           "stylegan_networks", "toy_prdc_points", "transposed_convolution"]

# (fill, ink) per role: one colour for data, one for G, one for D, one for losses, grey for the rest
PALETTE = {"data": ("#dbeafe", "#1d4ed8"), "G": ("#dcfce7", "#15803d"), "D": ("#ffedd5", "#c2410c"),
           "loss": ("#fee2e2", "#b91c1c"), "plain": ("#f3f4f6", "#4b5563")}
INK = "#1f2937"
DASH = (0, (4, 2.5))  # gradients flowing back
TINTS = ["#bfdbfe", "#fde68a", "#bbf7d0", "#fbcfe8", "#ddd6fe", "#fed7aa"]  # cells of the transposed convolution


# Shared drawing helpers: a canvas in inches, rounded boxes, arrows, dashed paths, text --------------------------


@dataclass(frozen=True)
class _Box:
    x: float
    y: float
    w: float
    h: float

    def at(self, side: str, shift: float = 0.0) -> tuple[float, float]:
        """A point on the box's left/right/top/bottom edge, ``shift`` along it from the middle."""
        return {"l": (self.x - self.w / 2, self.y + shift), "r": (self.x + self.w / 2, self.y + shift),
                "t": (self.x + shift, self.y + self.h / 2), "b": (self.x + shift, self.y - self.h / 2)}[side]


def _canvas(width: float, height: float, title: str | None = None):
    """A figure whose one axes spans it, in inches: (0, 0) bottom left, (width, height) top right."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, width), ylim=(0, height))
    ax.axis("off")
    if title:
        _text(ax, width / 2, height - 0.3, title, size=13, weight="bold")
    return fig, ax


def _text(ax, x, y, s, size=10, color=INK, ha="center", va="center", **kw):
    return ax.text(x, y, s, fontsize=size, color=color, ha=ha, va=va, **kw)


def _box(ax, x, y, text, kind="plain", w=1.4, h=0.5, size=10, gid=None, **kw) -> _Box:
    """A rounded box centred at (x, y), filled and edged in the colours of ``kind``, with centred text."""
    from matplotlib.patches import FancyBboxPatch

    fill, ink = PALETTE[kind]
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.08",
                                fc=fill, ec=ink, lw=1.3))
    if text:
        _text(ax, x, y, text, size=size, gid=gid, **kw)
    return _Box(x, y, w, h)


def _arrow(ax, start, end, color=INK, lw=1.3, text=None, size=9, offset=(0.0, 0.14), **kw):
    """A solid arrow from ``start`` to ``end``, with an optional label at its middle, moved by ``offset``."""
    from matplotlib.patches import FancyArrowPatch

    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=11, color=color, lw=lw,
                                 shrinkA=0, shrinkB=0))
    if text:
        _text(ax, (start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1], text, size=size, **kw)


def _path(ax, points, color, lw=1.8, dashed=True):
    """A polyline through ``points`` (dashed: a gradient flowing back) ending in a solid arrowhead."""
    xs, ys = zip(*points)
    ax.plot(xs, ys, color=color, lw=lw, ls=DASH if dashed else "-", solid_capstyle="butt")
    (x0, y0), (x1, y1) = points[-2], points[-1]
    n = max(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, 1e-9)
    _arrow(ax, (x1 - 0.12 * (x1 - x0) / n, y1 - 0.12 * (y1 - y0) / n), (x1, y1), color=color, lw=lw)


def _panel(ax, x, y, w, h, title, color):
    """A faint rounded frame with a title in its top-left corner."""
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=0.15", fc="none", ec=color,
                                lw=1.0, alpha=0.6))
    _text(ax, x + 0.2, y + h - 0.25, title, size=11, color=color, ha="left", weight="bold")


# 1. One GAN training iteration (notebooks 01, 02) ---------------------------------------------------------------


def gan_training_loop():
    """One iteration of GAN training: a D step on real images and *detached* fakes (only D's optimiser steps),
    then a G step with the non-saturating loss -log D(G(z)) whose gradient flows back through D into G (only G's
    optimiser steps). Forward arrows solid; gradients dashed, in D's colour for the D step, G's for the G step."""
    from matplotlib.lines import Line2D

    fig, ax = _canvas(12, 7.6, "One GAN training iteration: a D step, then a G step")
    d_ink, g_ink, loss_ink = PALETTE["D"][1], PALETTE["G"][1], PALETTE["loss"][1]
    for base, step, color, title in (
            (3.95, "D", d_ink, "1. D step: loss on real and detached fakes, only opt_D steps"),
            (0.55, "G", g_ink, "2. G step: non-saturating loss, gradient through D into G, only opt_G steps")):
        _panel(ax, 0.2, base, 11.6, 3.1, title, color)
        row = base + 1.2
        z = _box(ax, 1.05, row, "z ~ N(0, I)", "data", w=1.3)
        g = _box(ax, 2.75, row, "G", "G", w=0.9, size=12, weight="bold")
        fake = _box(ax, 4.5, row, "fake G(z)", "G", w=1.4)
        _arrow(ax, z.at("r"), g.at("l"))
        _arrow(ax, g.at("r"), fake.at("l"))
        if step == "D":
            d = _box(ax, 7.0, base + 1.6, "D", "D", w=0.9, h=1.3, size=12, weight="bold")
            real = _box(ax, 4.5, base + 2.0, "real x ~ data", "data", w=1.4)
            _arrow(ax, real.at("r"), d.at("l", 0.4))
            _arrow(ax, fake.at("r"), d.at("l", -0.4))
            cut = 5.7  # the detach: a bar across the fake's arrow, through which no gradient passes
            ax.plot([cut, cut], [row - 0.2, row + 0.2], color=loss_ink, lw=3.5, solid_capstyle="butt")
            _text(ax, cut + 0.03, row + 0.4, "detach()", size=10, color=loss_ink, weight="bold")
            outs = [_box(ax, 8.65, base + 2.0, "D(x)", w=1.2), _box(ax, 8.65, row, "D(G(z))", w=1.2)]
            for o, shift in zip(outs, (0.4, -0.4)):
                _arrow(ax, d.at("r", shift), o.at("l"))
            loss = _box(ax, 10.7, base + 1.6, "L_D = −log D(x)\n − log(1 − D(G(z)))", "loss", w=1.9, h=1.0)
            for o, shift in zip(outs, (0.25, -0.25)):
                _arrow(ax, o.at("r"), loss.at("l", shift))
            _path(ax, [loss.at("b"), (loss.x, base + 0.55), (d.x, base + 0.55), d.at("b")], d_ink)
            _text(ax, 8.85, base + 0.3, "backward: gradients reach D's weights → opt_D.step()", size=9, color=d_ink)
            _text(ax, 2.6, base + 0.45, "fakes detached: G gets no gradient,\nopt_G does not step", 9,
                  PALETTE["plain"][1], style="italic")
        else:
            d = _box(ax, 7.0, row, "D", "D", w=0.9, h=0.8, size=12, weight="bold")
            _arrow(ax, fake.at("r"), d.at("l"))
            out = _box(ax, 8.65, row, "D(G(z))", w=1.2)
            _arrow(ax, d.at("r"), out.at("l"))
            loss = _box(ax, 10.7, row, "L_G = −log D(G(z))", "loss", w=1.9, h=0.6)
            _arrow(ax, out.at("r"), loss.at("l"))
            _path(ax, [loss.at("b"), (loss.x, base + 0.5), (d.x + 0.2, base + 0.5), d.at("b", 0.2)], g_ink)
            _path(ax, [d.at("b", -0.2), (d.x - 0.2, base + 0.5), (g.x, base + 0.5), g.at("b")], g_ink)
            _text(ax, 6.6, base + 0.25, "backward through D into G → opt_G.step(); D's gradients: zeroed by the next "
                  "D step", size=9, color=g_ink)
            _text(ax, 7.0, row + 0.75, "D passes the gradient on;\nopt_D does not step", 9, PALETTE["plain"][1],
                  style="italic")
            _text(ax, 10.7, row + 0.75, "non-saturating: strong gradient\neven when D(G(z)) ≈ 0", 9, loss_ink,
                  style="italic")
    ax.legend([Line2D([], [], color=c, lw=w, ls=ls) for c, w, ls in ((INK, 1.3, "-"), (d_ink, 1.8, DASH),
                                                                     (g_ink, 1.8, DASH), (loss_ink, 3.5, "-"))],
              ["forward", "gradient, D step", "gradient, G step", "detach: gradient stops"], loc="lower center",
              ncol=4, frameon=False, fontsize=9, bbox_to_anchor=(0.5, -0.01))
    return fig


# 2. How a transposed convolution paints its output (notebook 03) ------------------------------------------------


def _paint_1d(n_in: int, kernel: int, stride: int, padding: int = 0):
    """A 1-D transposed convolution's arithmetic: input pixel i, kernel tap t land on output o = i s - p + t.
    Returns (n_out, [(i, t, o)] for every pair, in range or not, [taps per output pixel])."""
    from gan_tutor.dcgan import transposed_conv_size

    n_out = transposed_conv_size(n_in, kernel, stride, padding)
    taps = [(i, t, i * stride - padding + t) for i in range(n_in) for t in range(kernel)]
    counts = [sum(1 for _, _, o in taps if o == j) for j in range(n_out)]
    return n_out, taps, counts


def _evenness(n_in: int, kernel: int, stride: int) -> str:
    """"even" when every interior output pixel (away from the ends, where fewer copies overlap) gets as many taps."""
    counts, edge = _paint_1d(n_in, kernel, stride)[2], max(kernel - stride, 0)
    inner = counts[edge:len(counts) - edge] or counts
    return "even" if len(set(inner)) == 1 else "uneven"


def _cell_row(ax, x0, y, cell, values, fills, label, gid=None, size=10, h=0.5, **kw):
    """A row of square-cornered cells from x0, one per value (None leaves a gap), with a label on the left."""
    from matplotlib.patches import Rectangle

    _text(ax, x0 - 0.15, y, label, size=9, ha="right")
    for j, (v, fc) in enumerate(zip(values, fills)):
        if v is not None:
            ax.add_patch(Rectangle((x0 + j * cell, y - h / 2), cell, h, fc=fc, ec=INK, lw=0.8))
            _text(ax, x0 + (j + 0.5) * cell, y, str(v), size=size, gid=gid, **kw)


def transposed_convolution(kernel: int = 4, stride: int = 2, n_in: int = 3, padding: int = 0):
    """A 1-D transposed convolution of ``n_in`` pixels: each input pixel paints a scaled copy of the kernel,
    ``stride`` apart, and the copies add up. Top: the copies and the number of taps landing on each output
    pixel (uneven when the kernel is not a multiple of the stride), beside a kernel of the other kind;
    bottom: which taps reach each output phase, t = (o + p) mod s. All from o = i s - p + t."""
    if min(kernel, stride, n_in) < 1 or padding < 0:
        raise ValueError(f"kernel, stride and n_in must be at least 1 and padding at least 0, got {kernel}, {stride}, "
                         f"{n_in}, {padding}.")
    n_out, taps, counts = _paint_1d(n_in, kernel, stride, padding)
    other = kernel - 1 if kernel % stride == 0 and kernel > 1 else (kernel // stride + 1) * stride  # the other kind
    n_other, _, counts_other = _paint_1d(n_in, other, stride, padding)
    cell = min(0.8, 7.5 / max(n_out, n_other, kernel))
    x0, height = 2.9, 6.05 + 0.6 * n_in
    fig, ax = _canvas(x0 + cell * max(n_out, n_other) + 0.8, height,
                      f"Transposed convolution, k = {kernel}, s = {stride}, p = {padding}: {n_in} → {n_out} pixels")
    y = height - 0.9  # first panel: the copies and their overlap
    _text(ax, 0.2, y + 0.1, "Each input pixel paints a scaled copy of the kernel, s apart (o = i·s − p + t)",
          size=10, ha="left", weight="bold")
    y -= 0.55
    for i in range(n_in):  # input pixel i sits above the middle of its copy
        mid = x0 + (i * stride - padding + kernel / 2) * cell
        _box(ax, mid, y, f"x{i}", "data", w=cell * 0.9, h=0.42)
    _text(ax, x0 - 0.15, y, "input x", size=9, ha="right")
    for i in range(n_in):
        vals = {o: f"x{i}·w{t}" for ii, t, o in taps if ii == i}
        _cell_row(ax, x0, y - 0.6 * (i + 1), cell, [vals.get(j) for j in range(n_out)], [TINTS[i % len(TINTS)]] * n_out,
                  f"copy of pixel {i}", size=9, h=0.45)
    y -= 0.6 * (n_in + 1)
    _cell_row(ax, x0, y, cell, counts, ["#e5e7eb" if c == max(counts) else "white" for c in counts],
              "taps per output pixel", gid="count", weight="bold")
    _text(ax, x0 + n_out * cell + 0.1, y, _evenness(n_in, kernel, stride), size=9, ha="left", style="italic")
    y -= 0.6
    _cell_row(ax, x0, y, cell, counts_other, ["white"] * n_other, f"same with k = {other}", gid="count_other")
    _text(ax, x0 + n_other * cell + 0.1, y, _evenness(n_in, other, stride), size=9, ha="left", style="italic")
    y -= 0.8  # second panel: the phases
    _text(ax, 0.2, y, f"Which taps reach which output pixel: tap t lands on o with (o + p) mod {stride} = t mod "
          f"{stride}", size=10, ha="left", weight="bold")
    y -= 0.55
    _cell_row(ax, x0, y, cell, [f"w{t}" for t in range(kernel)], [TINTS[t % stride] for t in range(kernel)],
              "kernel taps")
    y -= 0.6
    reach = ["+".join(f"w{t}" for _, t, o in sorted(taps, key=lambda a: a[1]) if o == j) for j in range(n_out)]
    _cell_row(ax, x0, y, cell, reach, [TINTS[(j + padding) % stride] for j in range(n_out)], "taps reaching o",
              gid="phase", size=9)
    _cell_row(ax, x0, y - 0.45, cell, [f"o={j}" for j in range(n_out)], ["none"] * n_out, "", size=9, h=0.3)
    phases = [sorted({t for t in range(kernel) if t % stride == r}) for r in range(stride)]
    _text(ax, 0.2, y - 1.1, "phases: " + ";  ".join(
        f"(o + p) mod {stride} = {r} gets " + " + ".join(f"w{t}" for t in ts) for r, ts in enumerate(phases)) +
        "\nunless these sums match, a flat input comes out as a period-s grid (dcgan.phase_sums)", size=9, ha="left")
    return fig


# 3. The DCGAN generator (notebook 03) ---------------------------------------------------------------------------


def _shape(shape, n="N") -> str:
    return "(" + ", ".join([n] + [str(d) for d in shape[1:]]) + ")"


def _describe(m) -> str | None:
    """One layer as the diagram names it; None for layers that do nothing (nn.Identity)."""
    from torch import nn

    if isinstance(m, (nn.ConvTranspose2d, nn.Conv2d)):
        return (f"{type(m).__name__}({m.in_channels} → {m.out_channels}, k={m.kernel_size[0]}, s={m.stride[0]}, "
                f"p={m.padding[0]})")
    if isinstance(m, nn.BatchNorm2d):
        return f"BatchNorm2d({m.num_features})"
    return None if isinstance(m, nn.Identity) else type(m).__name__


def _generator_stages(G) -> list[tuple[list[str], tuple, object]]:
    """G.net cut before every transposed convolution: [(layer names, output shape, the convolution)], from a
    dummy forward pass of two latents (G in eval mode, no gradient)."""
    from torch import nn

    stages, h = [], torch.zeros(2, G.z_dim)[:, :, None, None]  # forward's reshape: (N, z_dim) -> (N, z_dim, 1, 1)
    with torch.no_grad():
        for m in G.net:
            if isinstance(m, nn.ConvTranspose2d) or not stages:
                stages.append(([], None, m))
            h = m(h)
            name = _describe(m)
            stages[-1] = (stages[-1][0] + ([name] if name else []), tuple(h.shape), stages[-1][2])
    return stages


def _map(ax, x, y, side, scale=0.025):
    """A feature map of ``side`` pixels drawn to scale as a square centred at (x, y)."""
    from matplotlib.patches import Rectangle

    a = max(side * scale, 0.04)
    ax.add_patch(Rectangle((x - a / 2, y - a / 2), a, a, fc=PALETTE["G"][0], ec=PALETTE["G"][1], lw=1.0))


def _symbolic(c: int, ngf: int) -> str:
    return "ngf" if c == ngf else str(c) if c % ngf else f"{c // ngf}·ngf"


def dcgan_generator(z_dim: int = 64, ngf: int = 32):
    """The DCGAN generator of ``gan_tutor.dcgan.Generator(z_dim, ngf)``, layer by layer, with the shape of every
    tensor (from a dummy forward pass) and the side arithmetic n_out = (n − 1)·s − 2p + k of each transposed
    convolution."""
    from gan_tutor.dcgan import Generator, transposed_conv_size

    G = Generator(z_dim, ngf).eval()
    stages = _generator_stages(G)
    height = 1.9 + 0.95 * (len(stages) + 1) + 1.0 * len(stages)
    fig, ax = _canvas(11, height, f"DCGAN generator, z_dim = {z_dim}, ngf = {ngf}: dcgan.Generator, layer by layer")
    cx, y = 3.9, height - 1.0
    _text(ax, 6.6, y, "side: n_out = (n − 1)·s − 2p + k", size=10, ha="left", weight="bold")
    prev = _box(ax, cx, y, f"z  {_shape((2, z_dim))}", "data", w=2.6, h=0.45, gid="shape")
    _text(ax, cx - 1.5, y, "noise z ~ N(0, I)", size=9, ha="right", color=PALETTE["plain"][1])
    y -= 0.95
    shape, n = (2, z_dim, 1, 1), 1
    box = _box(ax, cx, y, _shape(shape), w=2.6, h=0.45, gid="shape")
    _arrow(ax, prev.at("b"), box.at("t"), text="reshape: z[:, :, None, None]", offset=(0.15, 0.0), size=9,
           ha="left")
    _text(ax, 9.9, height - 1.0, "H × W to scale", size=9, color=PALETTE["plain"][1])
    _map(ax, 9.9, y, shape[-1])
    for names, out, conv in stages:
        y -= 1.0
        block = _box(ax, cx, y, names[0] + "\n" + " · ".join(names[1:]), "G", w=4.6, h=0.7, size=10)
        _arrow(ax, box.at("b"), block.at("t"))
        k, s, p = conv.kernel_size[0], conv.stride[0], conv.padding[0]
        _text(ax, 6.6, y, f"({n} − 1)·{s} − 2·{p} + {k} = {transposed_conv_size(n, k, s, p)}", size=10, ha="left")
        y -= 0.95
        last = (names, out, conv) == stages[-1]
        box = _box(ax, cx, y, _shape(out), "data" if last else "plain", w=2.6, h=0.45, gid="shape")
        _arrow(ax, block.at("b"), box.at("t"))
        sym = f"(N, {_symbolic(out[1], ngf)}, {out[2]}, {out[3]})" if not last else "image in [−1, 1]"
        _text(ax, cx - 1.5, y, sym, size=9, ha="right", color=PALETTE["plain"][1])
        _map(ax, 9.9, y, out[-1])
        n = out[-1]
    _text(ax, cx, 0.25, "shapes from a dummy forward pass through G.net", 9, PALETTE["plain"][1], style="italic")
    return fig


# 4. Two ways to condition D on a label (notebook 04) ------------------------------------------------------------


def _node(ax, x, y, symbol, r=0.22):
    """A round operator node (+, ×) at (x, y)."""
    from matplotlib.patches import Circle

    ax.add_patch(Circle((x, y), r, fc="white", ec=INK, lw=1.3))
    _text(ax, x, y, symbol, size=13, weight="bold")
    return _Box(x, y, 2 * r, 2 * r)


def conditional_discriminators(n_classes: int = 10, ndf: int = 32):
    """Conditioning D on a label y, two ways, read from ``gan_tutor.cgan``: concatenation (x plus K one-hot label
    maps as channels, one conv trunk, a logit) vs projection, D(x, y) = ψ(φ(x)) + <V_y, φ(x)> (Miyato & Koyama
    2018): the trunk φ sees only the image, and the label picks a row V_y of an embedding to take an inner
    product with φ(x)."""
    from gan_tutor import cgan

    concat, proj = cgan.ConcatDiscriminator(n_classes, ndf).eval(), cgan.ProjectionDiscriminator(n_classes, ndf).eval()
    x, y = torch.zeros(2, 1, 28, 28), torch.zeros(2, dtype=torch.long)
    with torch.no_grad():
        stacked = torch.cat([x, cgan.one_hot_maps(y, n_classes, 28)], dim=1)
        trunk_c = concat.net.features(stacked).shape
        phi = proj.net.features(x)
        psi = proj.net.head(phi).flatten()
    head = _describe(proj.net.head)
    fig, ax = _canvas(12, 7.0, "Conditioning D on a label y: concatenation vs projection")
    _panel(ax, 0.2, 1.0, 5.6, 5.3, "Concatenation: y as K extra input channels", PALETTE["D"][1])
    xb = _box(ax, 1.6, 5.2, f"image x\n{_shape(x.shape)}", "data", w=2.2, h=0.7)
    yb = _box(ax, 4.35, 5.2, f"one-hot maps of y\n{_shape((2, n_classes, 28, 28))}", "data", w=2.3, h=0.7)
    cat = _box(ax, 3.0, 4.1, f"stack as channels\n{_shape(stacked.shape)}", w=2.6, h=0.7, gid="concat")
    _arrow(ax, xb.at("b"), cat.at("t", -0.5))
    _arrow(ax, yb.at("b"), cat.at("t", 0.5))
    trunk = _box(ax, 3.0, 3.0, f"conv trunk (DCGAN D)\n→ {_shape(trunk_c)}", "D", w=2.6, h=0.7)
    _arrow(ax, cat.at("b"), trunk.at("t"))
    logit = _box(ax, 3.0, 1.9, f"head {head.split('(')[0]}, k={proj.net.head.kernel_size[0]}\n→ logit D(x, y)",
                 "D", w=2.6, h=0.7)
    _arrow(ax, trunk.at("b"), logit.at("t"))
    _text(ax, 3.0, 1.3, "every filter of the first layer sees the label", 9, PALETTE["plain"][1], style="italic")
    _text(ax, 3.0, 0.55, "D(x, y) = head(trunk([x ; one-hot(y)]))", size=11)

    _panel(ax, 6.0, 1.0, 5.8, 5.3, "Projection (Miyato & Koyama 2018)", PALETTE["D"][1])
    xb = _box(ax, 7.5, 5.2, f"image x\n{_shape(x.shape)}", "data", w=2.2, h=0.7)
    trunk = _box(ax, 7.5, 4.1, f"trunk φ (DCGAN D)\nφ(x) flattened: {_shape(phi.flatten(1).shape)}", "D", w=2.6,
                 h=0.7, size=9.5)
    _arrow(ax, xb.at("b"), trunk.at("t"))
    head_b = _box(ax, 7.5, 3.0, f"head ψ: {head.split('(')[0]}, k={proj.net.head.kernel_size[0]}\n"
                  f"ψ(φ(x)) {_shape(psi.shape)}", "D", w=2.6, h=0.7, size=9.5)
    _arrow(ax, trunk.at("b"), head_b.at("t"))
    yb = _box(ax, 10.55, 5.2, f"label y ∈ {{0, …, {n_classes - 1}}}\n{_shape(y.shape)}", "data", w=2.1, h=0.7)
    emb = _box(ax, 10.55, 4.1, f"embedding V {tuple(proj.embed.weight.shape)}\nrow V_y", "D", w=2.3, h=0.7, size=9.5)
    _arrow(ax, yb.at("b"), emb.at("t"))
    inner = _box(ax, 10.55, 3.0, "<V_y, φ(x)>", w=1.9, h=0.55, gid="inner")
    _arrow(ax, emb.at("b"), inner.at("t"))
    _arrow(ax, trunk.at("r", -0.15), inner.at("l", 0.1), text="φ(x)", offset=(0.0, 0.18), size=9)
    plus = _node(ax, 9.0, 2.05, "+")
    _arrow(ax, head_b.at("b"), (plus.x - 0.17, plus.y + 0.14))
    _arrow(ax, inner.at("b"), (plus.x + 0.17, plus.y + 0.14))
    out = _box(ax, 9.0, 1.4, "logit D(x, y)", w=1.8, h=0.45)
    _arrow(ax, plus.at("b"), out.at("t"))
    _text(ax, 8.9, 0.55, "D(x, y) = ψ(φ(x)) + <V_y, φ(x)>", size=11, weight="bold", gid="formula")
    return fig


# 5. StyleGAN's two networks (notebook 06) -----------------------------------------------------------------------


def _synthesis_trace(G) -> tuple[list[tuple[int, tuple]], list[tuple[int, tuple]]]:
    """Run G.synthesis once on distinct random slots and record, for every style layer and every ToRGB, the slot
    it read (found by comparing its w with each slot) and its output shape."""
    ws = torch.randn(1, G.n_ws, G.w_dim, generator=torch.Generator().manual_seed(0))
    found = []  # (module, slot, output shape) in call order

    def record(module, args, out):
        found.append((module, next(j for j in range(G.n_ws) if torch.equal(args[1], ws[:, j])), tuple(out.shape)))

    handles = [m.register_forward_hook(record) for m in [*G.layers, *G.to_rgb]]
    try:
        with torch.no_grad():
            img = G.synthesis(ws)
    finally:
        for h in handles:
            h.remove()
    rgb = {id(m) for m in G.to_rgb}
    return ([(j, shape) for m, j, shape in found if id(m) not in rgb],
            [(j, shape) for m, j, shape in found if id(m) in rgb] + [(-1, tuple(img.shape))])


def stylegan_networks(n_slots: int | None = None):
    """StyleGAN2's skip generator as ``gan_tutor.stylegan`` builds it for the smoke tier: the mapping network
    z → normalise → MLP → w (with the cluster label when the tier is self-conditioned), w broadcast to the style
    slots w_0 … w_{n−1}, and the synthesis network: a learned 4×4 constant, modulated 3×3 convolutions that read
    their slot through an affine map A, noise added through B, and ToRGB outputs upsampled and summed.

    Which slot each layer and each ToRGB reads, and every resolution and width, come from one traced synthesis
    pass. ``n_slots``: None takes the generator's ``n_ws``; any other value must equal it."""
    from gan_tutor import stylegan

    G = stylegan.build(stylegan.tier_config("smoke"))[0].eval()
    if n_slots is not None and n_slots != G.n_ws:
        raise ValueError(f"the generator has n_ws = {G.n_ws} style slots (one per style layer plus the last ToRGB); "
                         f"got n_slots={n_slots}: pass None.")
    layers, rgbs = _synthesis_trace(G)
    image = rgbs.pop()[1]  # the last entry: the summed image
    fig, ax = _canvas(12, 9.3, f"StyleGAN2 generator (stylegan.Generator, smoke tier): {G.n_ws} style slots, "
                               f"{len(layers)} style layers, {len(rgbs)} ToRGB")
    g_ink, plain, top = PALETTE["G"][1], PALETTE["plain"][1], 7.75  # top: the mapping network's row
    z = _box(ax, 0.85, top, f"z {_shape((1, G.z_dim))}", "data", w=1.3, h=0.45)
    norm = _box(ax, 2.65, top, "normalise\nz / rms(z)", "G", w=1.5, h=0.6)
    mlp = _box(ax, 4.9, top, f"MLP: {len(G.mapping.layers)} × (FC + LReLU)", "G", w=2.3, h=0.6)
    w = _box(ax, 6.9, top, f"w {_shape((1, G.w_dim))}", w=1.2, h=0.45)
    for a, b in ((z, norm), (norm, mlp), (mlp, w)):
        _arrow(ax, a.at("r"), b.at("l"))
    _text(ax, 0.3, top + 0.55, "mapping network", size=10, ha="left", weight="bold", color=g_ink)
    if G.n_classes:
        yb = _box(ax, 6.9, top + 0.75, f"cluster y ∈ {{0…{G.n_classes - 1}}}", "data", w=1.6, h=0.45)
        emb = _box(ax, 4.9, top + 0.75, "embed e(y), normalise", "G", w=2.0, h=0.45)
        _arrow(ax, yb.at("l"), emb.at("r"))
        _arrow(ax, emb.at("b"), mlp.at("t"), text="concat", offset=(0.35, 0.0), size=9)
    # style slots: under the layer that reads them, or right of the ToRGB for a slot no layer reads
    lx = [2.1 + 1.35 * i for i in range(len(layers))]
    rgb_x = [max(x for x, (_, s) in zip(lx, layers) if s[-1] == shape[-1]) for _, shape in rgbs]
    slot_x = {s: x + 0.9 for (s, _), x in zip(rgbs, rgb_x)} | {s: x for x, (s, _) in zip(lx, layers)}
    ys, ya, yl, yn, yr, yo = 6.3, 5.45, 4.45, 3.35, 2.4, 1.3
    _path(ax, [w.at("b"), (w.x, 6.85)], INK, lw=1.3, dashed=False)
    ax.plot([min(slot_x.values()), max(slot_x.values())], [6.85, 6.85], color=INK, lw=1.3)
    _text(ax, w.x + 0.75, top, f"broadcast: the same w in all {G.n_ws} slots", size=9, ha="left", color=plain)
    slots = {}
    for j in range(G.n_ws):  # a KeyError here: a slot no layer and no ToRGB reads
        slots[j] = _box(ax, slot_x[j], ys, f"w_{j}", w=0.7, h=0.4, gid="slot")
        _arrow(ax, (slot_x[j], 6.85), slots[j].at("t"))
    # synthesis network
    _text(ax, 0.3, 5.55, "synthesis\nnetwork", size=10, ha="left", weight="bold", color=g_ink)
    prev = _box(ax, 0.75, yl, f"const {G.const.shape[-2]}×{G.const.shape[-1]}\n{G.const.shape[1]} ch\nlearned",
                 "G", w=1.1, h=0.85, size=9)
    for i, (x, (slot, shape)) in enumerate(zip(lx, layers)):
        up = "↑2 → " if G.layers[i].conv.upsample else ""
        box = _box(ax, x, yl, f"ModConv 3×3\n{up}{shape[-2]}×{shape[-1]}\n{shape[1]} ch", "G", w=1.15, h=0.85,
                   size=9, gid="layer")
        _arrow(ax, prev.at("r"), box.at("l"))
        a = _box(ax, x, ya, "A", "G", w=0.38, h=0.32, size=9)
        _arrow(ax, slots[slot].at("b"), a.at("t"))
        _arrow(ax, a.at("b"), box.at("t"))
        b = _box(ax, x - 0.3, yn, "B", "data", w=0.38, h=0.32, size=9)
        _arrow(ax, b.at("t"), box.at("b", -0.3))
        prev = box
    plus_prev = None
    for r, ((slot, shape), x) in enumerate(zip(rgbs, rgb_x)):
        rgb = _box(ax, x, yr, f"ToRGB 1×1\nreads w_{slot}", "G", w=1.15, h=0.6, size=9, gid="to_rgb")
        _arrow(ax, (x + 0.3, yl - 0.425), rgb.at("t", 0.3))
        if slot not in {s for s, _ in layers}:  # a slot this ToRGB alone reads: its own A and a path down to it
            a = _box(ax, slot_x[slot], ya, "A", "G", w=0.38, h=0.32, size=9)
            _arrow(ax, slots[slot].at("b"), a.at("t"))
            _path(ax, [a.at("b"), (a.x, yr), rgb.at("r")], INK, lw=1.3, dashed=False)
        if plus_prev is None:
            ax.plot([x, x], [rgb.y - 0.3, yo], color=INK, lw=1.3)
            plus_prev = _Box(x, yo, 0, 0)
            continue
        plus = _node(ax, x, yo, "+", r=0.2)
        _arrow(ax, rgb.at("b"), plus.at("t"))
        _arrow(ax, plus_prev.at("r"), plus.at("l"), text="↑2", offset=(0.0, 0.15), size=9)
        plus_prev = plus
    out = _box(ax, 11.35, yo, f"image\n{_shape(image)}", "data", w=1.15, h=0.6, size=9)
    _arrow(ax, plus_prev.at("r"), out.at("l"))
    if G.out_size and G.out_size != image[-1]:
        _text(ax, 11.95, yo - 0.5, f"centre crop → {G.out_size}×{G.out_size}", size=9, color=plain, ha="right")
    _text(ax, 0.3, yn, "B: noise", size=9, ha="left", color=plain)
    _text(ax, 6.0, 0.45, "A: learned affine map, w → per-channel style that scales (modulates) the conv weights, "
          "then demodulation renormalises them\nB: a fresh noise map × a learned strength, added after each conv"
          "   ·   ToRGB outputs are upsampled (↑2) and summed: the skip generator", size=9, color=plain)
    return fig


# 6. k-nearest-neighbour balls: precision, recall, density, coverage (notebook 07) -------------------------------


def toy_prdc_points(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The 2-D toy sets of :func:`nearest_neighbour_balls`: 12 real points from N(0, I); 10 fake points, 7 from a
    narrower, shifted Gaussian and 3 in a cluster the real data lack. float64 (12, 2) and (10, 2)."""
    g = torch.Generator().manual_seed(seed)
    real = torch.randn(12, 2, generator=g, dtype=torch.float64)
    fake = torch.cat([torch.randn(7, 2, generator=g, dtype=torch.float64) * 0.8 + torch.tensor([0.3, -0.2]),
                      torch.randn(3, 2, generator=g, dtype=torch.float64) * 0.3 + torch.tensor([2.4, 2.0])])
    return real, fake


def nearest_neighbour_balls(seed: int = 0, k: int = 3):
    """The balls behind improved precision and recall and density and coverage, on :func:`toy_prdc_points`.

    A ball around each sample, of radius the distance to its k-th nearest *other* sample of the same set
    (boundary included). Left, the real balls: precision is the share of fakes inside any of them; density
    counts the real balls holding each fake (the number beside it), summed and divided by k times the number of
    fakes; coverage is the share of real balls holding at least one fake (solid edge). Right, the fake balls:
    recall is the share of real points inside any of them. The four numbers are in the title."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle

    real, fake = toy_prdc_points(seed)
    from gan_tutor import metrics

    radius = {s: metrics.knn_radii(x, k) for s, x in (("real", real), ("fake", fake))}  # the metrics' own radii
    dist, pts = torch.cdist(real, fake), torch.cat([real, fake])  # dist: (R, F)
    in_real = dist <= radius["real"][:, None]  # [r, f]: fake f inside the ball of real r
    in_fake = dist <= radius["fake"][None, :]  # [r, f]: real r inside the ball of fake f
    per_fake, covered, precise, recalled = in_real.sum(0), in_real.any(1), in_real.any(0), in_fake.any(1)
    n_r, n_f = len(real), len(fake)
    (p, r), (d, c) = metrics.precision_recall(real, fake, k), metrics.density_coverage(real, fake, k)  # the title's numbers
    fig, axes = plt.subplots(1, 2, figsize=(12, 6.3))
    fig.subplots_adjust(left=0.02, right=0.98, top=0.86, bottom=0.22, wspace=0.06)
    fig.suptitle(f"precision {p:.3f}   recall {r:.3f}   density {d:.3f}   coverage {c:.3f}   (k = {k})",
                 fontsize=13, weight="bold", color=INK)
    fig.text(0.5, 0.915, "ball radius = distance to the k-th nearest other sample of the same set; a point on the "
             "boundary counts as inside", ha="center", fontsize=10, color=PALETTE["plain"][1])
    lo, hi = (pts.min(0).values - 0.9).tolist(), (pts.max(0).values + 0.9).tolist()
    colours, link = {"real": PALETTE["data"], "fake": PALETTE["G"]}, PALETTE["loss"][1]
    panels = ((real, radius["real"], fake, precise, "real", "fake", "real balls: precision, density, coverage"),
              (fake, radius["fake"], real, recalled, "fake", "real", "fake balls: recall"))
    for ax, (centres, rad, others, hit, own, other, title) in zip(axes, panels):
        (fill, ink), o_ink = colours[own], colours[other][1]
        for j, (xy, rr) in enumerate(zip(centres.tolist(), rad.tolist())):
            solid = own == "fake" or bool(covered[j])  # real balls: solid when they hold a fake (coverage)
            ax.add_patch(Circle(xy, rr, fc=fill, alpha=0.35, ec="none"))
            ax.add_patch(Circle(xy, rr, fc="none", ec=ink, lw=1.5 if solid else 0.9, ls="-" if solid else "--",
                                gid=f"{own}-ball"))
        ax.scatter(*centres.T, s=28, color=ink, zorder=3, gid=own)
        ax.scatter(*others[hit].T, s=60, color=o_ink, edgecolor="white", zorder=4, gid=f"{other}-in")
        ax.scatter(*others[~hit].T, s=70, color=link, marker="X", zorder=4, gid=f"{other}-out")
        handles = [Line2D([], [], ls="", marker="o", color=ink), Line2D([], [], ls="", marker="o", color=o_ink),
                   Line2D([], [], ls="", marker="X", color=link)]
        labels = [own, f"{other} in ≥ 1 {own} ball", f"{other} in none"]
        if own == "real":
            handles += [Line2D([], [], color=ink, lw=1.5), Line2D([], [], color=ink, lw=0.9, ls="--")]
            labels += ["real ball holding a fake", "real ball holding none"]
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=3, fontsize=9, frameon=False)
        ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), aspect="equal", xticks=[], yticks=[])
        ax.set_title(title, fontsize=11, color=ink)
    ax1, ax2 = axes
    taken = pts.clone()  # each fake's count goes where it is farthest from every point and every count placed
    angles = torch.arange(8, dtype=torch.float64) * torch.pi / 4  # eight candidate spots around each fake
    around = 0.2 * torch.stack([angles.cos(), angles.sin()], 1)
    for f, n in zip(fake, per_fake.tolist()):
        spot = (f + around)[torch.cdist(f + around, taken).min(1).values.argmax()]
        taken = torch.cat([taken, spot[None]])
        ax1.text(*spot.tolist(), str(n), fontsize=10, weight="bold", color=colours["fake"][1] if n else link,
                 zorder=5, ha="center", va="center", gid="per-fake")
    ax1.text(0.0, -0.16, f"precision = fakes in ≥ 1 real ball / fakes = {precise.sum().item()}/{n_f} = {p:.3f}\n"
             f"density = Σ numbers beside the fakes / (k · fakes) = {per_fake.sum().item()}/({k}·{n_f}) = {d:.3f}\n"
             f"coverage = real balls holding ≥ 1 fake / real = {covered.sum().item()}/{n_r} = {c:.3f}",
             transform=ax1.transAxes, va="top", fontsize=10, color=INK)
    ax2.text(0.0, -0.16, f"recall = real points in ≥ 1 fake ball / real = {recalled.sum().item()}/{n_r} = {r:.3f}\n"
             "precision and recall ask: inside the other set's manifold?\ndensity and coverage use only real balls, "
             "robust to fake outliers", transform=ax2.transAxes, va="top", fontsize=10, color=INK)
    return fig
