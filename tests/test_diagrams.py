"""Tests for gan_tutor.diagrams: every figure is drawn headless, carries the labels and numbers that the package's
own code gives (shapes, style slots, overlap counts, PRDC values), and keeps its text readable: no two texts
overlap, none is clipped by the figure's edge, none is smaller than 9 pt."""

from __future__ import annotations

import re
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")  # headless: must precede the first pyplot import

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from gan_tutor import cgan, dcgan, diagrams, metrics, stylegan  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def texts(fig: Figure, gid: str | None = None) -> list[str]:
    """The non-empty texts of ``fig`` (with ``gid`` only, when given), in the order they were drawn."""
    found = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return [t.get_text() for t in found if gid is None or t.get_gid() == gid]


def smoke_generator() -> stylegan.Generator:
    return stylegan.build(stylegan.tier_config("smoke"))[0]


FIGURES = {
    "gan_training_loop": lambda: diagrams.gan_training_loop(),
    "transposed_convolution": lambda: diagrams.transposed_convolution(),
    "transposed_convolution_k3": lambda: diagrams.transposed_convolution(kernel=3),
    "dcgan_generator": lambda: diagrams.dcgan_generator(),
    "conditional_discriminators": lambda: diagrams.conditional_discriminators(),
    "stylegan_networks": lambda: diagrams.stylegan_networks(),
    "nearest_neighbour_balls": lambda: diagrams.nearest_neighbour_balls(),
}


# -- readable: every figure ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_text_is_readable(name):
    fig = FIGURES[name]()
    assert isinstance(fig, Figure)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    drawn = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    assert len(drawn) >= 10, "a diagram is boxes with labels: where are they?"
    small = [(t.get_text(), t.get_fontsize()) for t in drawn if t.get_fontsize() < 9]
    assert small == [], f"text under 9 pt: {small}"
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in drawn]
    width, height = fig.bbox.width, fig.bbox.height
    clipped = [s for s, b in boxes if b.x0 < -1 or b.y0 < -1 or b.x1 > width + 1 or b.y1 > height + 1]
    assert clipped == [], f"text cut by the figure's edge: {clipped}"
    overlaps = []
    for i, (s, a) in enumerate(boxes):
        for u, b in boxes[i + 1:]:
            if min(a.x1, b.x1) - max(a.x0, b.x0) > 1 and min(a.y1, b.y1) - max(a.y0, b.y0) > 1:
                overlaps.append((s, u))
    assert overlaps == [], f"overlapping texts: {overlaps}"


def test_import_is_light():
    code = "import sys, gan_tutor.diagrams; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]


# -- 1. the training loop -------------------------------------------------------------------------------------------


def test_training_loop_marks_the_detach_and_who_steps():
    fig = diagrams.gan_training_loop()
    found = texts(fig)
    assert "detach()" in found
    assert any("opt_D.step()" in s for s in found) and any("opt_G.step()" in s for s in found)
    assert "L_G = −log D(G(z))" in found and any("L_D = −log D(x)" in s for s in found)
    # the two gradient paths: dashed lines in D's colour and in G's colour
    ax = fig.axes[0]
    dashed = {to_hex(line.get_color()) for line in ax.lines if line.get_linestyle() != "-"}
    assert {diagrams.PALETTE["D"][1], diagrams.PALETTE["G"][1]} <= dashed


# -- 2. the transposed convolution ----------------------------------------------------------------------------------


def row_values(fig: Figure, gid: str) -> list[str]:
    cells = [t for t in fig.findobj(Text) if t.get_gid() == gid]
    return [t.get_text() for t in sorted(cells, key=lambda t: t.get_position()[0])]


@pytest.mark.parametrize("kernel, stride, n_in, padding", [(4, 2, 3, 0), (3, 2, 3, 0), (3, 2, 4, 0), (5, 3, 3, 0),
                                                           (4, 2, 3, 1), (2, 2, 3, 0)])
def test_transposed_convolution_counts_are_the_package_overlap_counts(kernel, stride, n_in, padding):
    fig = diagrams.transposed_convolution(kernel, stride, n_in, padding)
    counts = torch.tensor([float(c) for c in row_values(fig, "count")])
    assert len(counts) == dcgan.transposed_conv_size(n_in, kernel, stride, padding)
    # the 2-D counts of dcgan.overlap_counts are separable: the outer product of the 1-D counts
    assert torch.equal(torch.outer(counts, counts), dcgan.overlap_counts(n_in, kernel, stride, padding))
    ones = torch.nn.functional.conv_transpose1d(torch.ones(1, 1, n_in), torch.ones(1, 1, kernel), stride=stride,
                                                padding=padding)[0, 0]
    assert torch.equal(counts, ones)


@pytest.mark.parametrize("kernel, stride, n_in, padding", [(4, 2, 3, 0), (3, 2, 3, 0), (5, 3, 3, 0), (4, 2, 3, 1)])
def test_transposed_convolution_phases(kernel, stride, n_in, padding):
    fig = diagrams.transposed_convolution(kernel, stride, n_in, padding)
    shown = [sorted(int(w) for w in re.findall(r"w(\d+)", s)) for s in row_values(fig, "phase")]
    # output o receives tap t from input i = (o + p - t) / s when that is a whole input index
    n_out = dcgan.transposed_conv_size(n_in, kernel, stride, padding)
    expected = [[t for t in range(kernel)
                 if (o + padding - t) % stride == 0 and 0 <= (o + padding - t) // stride < n_in]
                for o in range(n_out)]
    assert shown == expected
    assert all(t % stride == (o + padding) % stride for o, taps in enumerate(shown) for t in taps)


def test_transposed_convolution_says_even_or_uneven():
    k4, k3 = diagrams.transposed_convolution(kernel=4), diagrams.transposed_convolution(kernel=3)
    assert row_values(k4, "count") == ["1", "1", "2", "2", "2", "2", "1", "1"]
    assert row_values(k4, "count_other") == ["1", "1", "2", "1", "2", "1", "1"]  # compared with k = 3
    assert row_values(k3, "count") == ["1", "1", "2", "1", "2", "1", "1"]
    # each figure: its own row, then the comparison row, each followed by its verdict
    assert [s for s in texts(k4) if s in ("even", "uneven")] == ["even", "uneven"]
    assert [s for s in texts(k3) if s in ("even", "uneven")] == ["uneven", "even"]
    with pytest.raises(ValueError, match="at least 1"):
        diagrams.transposed_convolution(kernel=0)


# -- 3. the DCGAN generator -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("z_dim, ngf", [(64, 32), (16, 8)])
def test_dcgan_shapes_are_the_generators(z_dim, ngf):
    fig = diagrams.dcgan_generator(z_dim, ngf)
    G = dcgan.Generator(z_dim, ngf).eval()
    shapes = []
    hooks = [m.register_forward_hook(lambda m, a, out: shapes.append(tuple(out.shape)))
             for m in G.net if isinstance(m, torch.nn.ConvTranspose2d)]
    with torch.no_grad():
        G(torch.zeros(3, z_dim))
    for h in hooks:
        h.remove()
    expected = [f"z  (N, {z_dim})", f"(N, {z_dim}, 1, 1)"] + [f"(N, {c}, {h}, {w})" for _, c, h, w in shapes]
    assert texts(fig, "shape") == expected
    assert shapes[-1] == (3, 1, 28, 28)
    convs = [m for m in G.net if isinstance(m, torch.nn.ConvTranspose2d)]
    found = texts(fig)
    for m in convs:
        assert any(s.startswith(f"ConvTranspose2d({m.in_channels} → {m.out_channels}, k={m.kernel_size[0]}, "
                                f"s={m.stride[0]}, p={m.padding[0]})") for s in found)


def test_dcgan_figure_for_ngf_32_names_the_14x14_maps():
    found = texts(diagrams.dcgan_generator(64, 32))
    assert "(N, 64, 14, 14)" in found and "(N, 128, 7, 7)" in found and "(N, 1, 28, 28)" in found
    assert "(N, 4·ngf, 7, 7)" in found and "(N, 2·ngf, 14, 14)" in found
    assert "(14 − 1)·2 − 2·1 + 4 = 28" in found


# -- 4. the conditional discriminators ------------------------------------------------------------------------------


@pytest.mark.parametrize("n_classes, ndf", [(10, 32), (5, 16)])
def test_conditional_discriminators_read_cgan(n_classes, ndf):
    fig = diagrams.conditional_discriminators(n_classes, ndf)
    found = texts(fig)
    concat = cgan.ConcatDiscriminator(n_classes, ndf)
    proj = cgan.ProjectionDiscriminator(n_classes, ndf)
    c_in = concat.net.features[0].in_channels
    assert c_in == 1 + n_classes
    assert any(f"(N, {c_in}, 28, 28)" in s for s in texts(fig, "concat"))
    assert any(f"(N, {proj.net.n_features})" in s for s in found)
    assert any(f"embedding V {tuple(proj.embed.weight.shape)}" in s for s in found)
    assert any(s.startswith("<V_y") for s in found)  # the inner-product node of the projection panel
    assert texts(fig, "formula") == ["D(x, y) = ψ(φ(x)) + <V_y, φ(x)>"]


# -- 5. StyleGAN ----------------------------------------------------------------------------------------------------


def test_stylegan_slots_layers_and_to_rgb_match_the_generator():
    G = smoke_generator()
    fig = diagrams.stylegan_networks()
    assert texts(fig, "slot") == [f"w_{j}" for j in range(G.n_ws)]
    assert len(texts(fig, "slot")) == G.n_ws == 8
    layers = texts(fig, "layer")
    assert len(layers) == len(G.layers)
    # layer i reads slot i and works at slot_resolutions()[i]
    for text, res in zip(layers, G.slot_resolutions()):
        assert f"{res}×{res}" in text
    assert sum("↑2" in s for s in layers) == len(G.resolutions) - 1
    # each ToRGB below the top shares the next layer's slot, the last ToRGB has the last slot
    assert texts(fig, "to_rgb") == [f"ToRGB 1×1\nreads w_{2 * r + 1}" for r in range(len(G.to_rgb))]
    assert f"{G.n_ws} style slots" in texts(fig)[0]


def test_stylegan_n_slots_must_match():
    n = smoke_generator().n_ws
    assert len(texts(diagrams.stylegan_networks(n_slots=n), "slot")) == n
    with pytest.raises(ValueError, match=f"n_ws = {n}"):
        diagrams.stylegan_networks(n_slots=n - 1)


# -- 6. the nearest-neighbour balls ---------------------------------------------------------------------------------


def title_numbers(fig: Figure) -> dict[str, float]:
    title = fig._suptitle.get_text()
    return {name: float(v) for name, v in re.findall(r"(precision|recall|density|coverage) (\d+\.\d+)", title)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_balls_numbers_equal_the_metrics(seed):
    fig = diagrams.nearest_neighbour_balls(seed)
    real, fake = diagrams.toy_prdc_points(seed)
    precision, recall = metrics.precision_recall(real, fake, k=3)
    density, coverage = metrics.density_coverage(real, fake, k=3)
    shown = title_numbers(fig)
    assert set(shown) == {"precision", "recall", "density", "coverage"}
    expected = {"precision": precision, "recall": recall, "density": density, "coverage": coverage}
    for name, value in expected.items():
        assert shown[name] == pytest.approx(value, abs=5e-4), name
    # the numbers beside the fakes sum to density * k * F
    assert sum(int(s) for s in texts(fig, "per-fake")) == round(density * 3 * len(fake))


def test_balls_radii_and_points_are_the_metrics():
    fig = diagrams.nearest_neighbour_balls(0)
    real, fake = diagrams.toy_prdc_points(0)
    for kind, points in (("real", real), ("fake", fake)):
        radii = torch.tensor([p.radius for p in fig.findobj(Circle) if p.get_gid() == f"{kind}-ball"])
        assert torch.allclose(radii, metrics.knn_radii(points, 3).float(), atol=1e-6), kind
    precision = metrics.precision_recall(real, fake, k=3)[0]
    inside = [c for c in fig.findobj(PathCollection) if c.get_gid() == "fake-in"]
    outside = [c for c in fig.findobj(PathCollection) if c.get_gid() == "fake-out"]
    assert len(inside[0].get_offsets()) == round(precision * len(fake))
    assert len(inside[0].get_offsets()) + len(outside[0].get_offsets()) == len(fake)
    # the fake cluster far from the real data: some fakes outside every real ball, some reals outside every fake ball
    assert 0 < precision < 1 and 0 < metrics.precision_recall(real, fake, k=3)[1] < 1
