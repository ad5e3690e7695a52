"""gan_tutor.augment: DiffAugment's transformations against per-image references, and their gradients."""

from __future__ import annotations

import pytest
import torch

from gan_tutor import augment, gan_step, train


def shifted(img: torch.Tensor, dy: int, dx: int, fill: float) -> torch.Tensor:
    """img (C, H, W) moved down by dy and right by dx, uncovered pixels set to fill (slicing, no padding)."""
    out = torch.full_like(img, fill)
    _, h, w = img.shape
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = img[:, max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def test_translation_is_a_shift_of_at_most_an_eighth_of_the_side():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(64, 2, 16, 16)
    y = augment.translation(x, generator=g)
    seen = set()
    for img, out in zip(x, y):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if torch.equal(out, shifted(img, dy, dx, -1.0))]
        assert len(matches) == 1, "every output is the input moved by one whole-pixel shift within 16/8 = 2 px"
        seen.add(matches[0])
    assert len(seen) > 15  # the 25 shifts are all drawn (64 images: nearly all appear)


def test_cutout_blanks_one_square_and_keeps_the_rest():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(200, 1, 28, 28) + 1  # values in [1, 2): a blanked pixel (-1) is unambiguous
    y = augment.cutout(x, generator=g)
    for img, out in zip(x, y):
        blank = out[0] == -1
        assert torch.equal(out[0][~blank], img[0][~blank])  # the rest is untouched
        rows, cols = blank.any(1).nonzero().flatten(), blank.any(0).nonzero().flatten()
        assert blank.sum() == len(rows) * len(cols)  # one axis-aligned rectangle
        assert 7 <= len(rows) <= 14 and 7 <= len(cols) <= 14  # a 14x14 square, clipped at the border to >= half
    interior = [(o[0] == -1).sum().item() for o in y]
    assert interior.count(196) > 50  # squares fully inside the image have 14 * 14 pixels


def test_gradients_flow_through_the_kept_pixels():
    x = torch.rand(8, 1, 28, 28, requires_grad=True)
    out = augment.diff_augment(x, "translation,cutout", torch.Generator().manual_seed(2))
    out.sum().backward()
    kept = x.grad.sum(dim=(1, 2, 3))
    assert torch.equal(x.grad.unique().sort().values[-1:], torch.tensor([1.0]))  # each kept pixel counts once
    assert ((kept > 0) & (kept < 28 * 28)).all()  # some pixels fall off or are cut; others pass


def test_policy_parsing_and_unknown_names():
    assert augment.parse_policy("") == [] and augment.parse_policy(" translation , cutout") == ["translation", "cutout"]
    with pytest.raises(ValueError, match="unknown augmentation 'color'"):
        augment.parse_policy("translation,color")
    x = torch.rand(2, 1, 8, 8)
    assert torch.equal(augment.diff_augment(x, ""), x)


def test_the_gan_step_augments_real_and_fake_alike():
    seen = []

    class Spy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(()))

        def forward(self, x):
            seen.append(x.detach().clone())
            return self.w * x.flatten(1).mean(1)

    G = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Unflatten(1, (1, 4, 4)))
    D = Spy()
    opt_D, opt_G = torch.optim.SGD(D.parameters(), 0.1), torch.optim.SGD(G.parameters(), 0.1)
    flip = lambda x: -x  # noqa: E731
    real, z = torch.rand(5, 1, 4, 4), torch.randn(5, 3)
    fake = G(z).detach()  # before G's step changes G
    gan_step.d_step(G, D, opt_D, real, z, augment=flip)
    gan_step.g_step(G, D, opt_G, z, augment=flip)
    assert torch.equal(seen[0], -real)
    assert torch.allclose(seen[1], -fake) and torch.allclose(seen[2], -fake)
    with pytest.raises(ValueError, match="unknown augmentation"):
        train.fit_gan(G, D, real, train.GANLoop(z_dim=3, augment="mixup"), steps=1, progress=False)
