"""gan_tutor.images: one validation of images and labels, shared by training, the judge and the plots."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_tutor import images


@pytest.mark.parametrize("x, shape, match", [
    (torch.zeros(2, 1, 4, 4, dtype=torch.uint8), (1, 4, 4), r"dtype torch.uint8.*x.float\(\) / 255"),
    (torch.zeros(2, 3, 4, 4), (1, 4, 4), r"shape \(2, 3, 4, 4\), expected \(N, 1, 4, 4\).*convert to grey"),
    (torch.zeros(2, 4, 4), (1, 4, 4), r"x.unsqueeze\(1\)"),
    (torch.zeros(4, 4), (1, 4, 4), r"x\[None, None\]"),
    (torch.zeros(2, 4, 4, 1), (1, 4, 4), r"channels last\? use x.permute\(0, 3, 1, 2\)"),
    (torch.zeros(2, 1, 8, 8), (1, 4, 4), r"resize them.*interpolate"),
    (torch.zeros(2, 2, 4, 4), None, r"1 or 3 channels"),
    (torch.full((2, 1, 4, 4), 255.0), (1, 4, 4), r"0\.\.255 pixels: divide them by 255"),
    (torch.full((2, 1, 4, 4), -1.0), (1, 4, 4), r"\[-1, 1\], a tanh output: map them with \(x \+ 1\) / 2"),
    (torch.full((2, 1, 4, 4), 300.0), (1, 4, 4), r"range over \[300, 300\], expected \[0, 1\]: rescale"),
    (torch.full((2, 1, 4, 4), float("nan")), (1, 4, 4), "NaN or inf"),
    (torch.zeros(0, 1, 4, 4), (1, 4, 4), r"empty batch \(N = 0\)"),
    ([[0.5]], None, r"torch.Tensor or numpy array, got list"),
])
def test_bad_images_are_refused_with_the_fix(x, shape, match):
    with pytest.raises((ValueError, TypeError), match=match):
        images.check_images(x, shape)


def test_the_generators_range_is_checked_too():
    assert images.check_images(torch.full((1, 1, 2, 2), -1.0), value_range=(-1.0, 1.0)).min() == -1
    with pytest.raises(ValueError, match=r"expected \[-1, 1\]"):
        images.check_images(torch.full((1, 1, 2, 2), 1.5), value_range=(-1.0, 1.0))


def test_rounding_outside_the_range_is_clamped_and_larger_errors_are_not():
    x = torch.rand(3, 1, 4, 4)
    assert images.check_images(x) is not None and torch.equal(images.check_images(x), x)
    nudged = x * (1 + 1e-5) - 1e-6  # (tanh + 1) / 2 in float32 can land this far out
    got = images.check_images(nudged)
    assert got.min() >= 0 and got.max() <= 1 and torch.allclose(got, nudged, atol=2e-6)
    with pytest.raises(ValueError, match="expected"):
        images.check_images(x + 2 * images.RANGE_TOLERANCE + 1.0)


def test_numpy_and_colour_images_are_accepted():
    out = images.check_images(np.zeros((2, 3, 5, 5), dtype=np.float32))
    assert isinstance(out, torch.Tensor) and out.shape == (2, 3, 5, 5)


def test_to_unit_range_maps_images_and_leaves_points():
    x = torch.tensor([-1.0, 0.0, 1.0]).view(1, 1, 1, 3)
    assert torch.equal(images.to_unit_range(x), torch.tensor([0.0, 0.5, 1.0]).view(1, 1, 1, 3))
    points = torch.tensor([[-3.0, 2.0]])
    assert torch.equal(images.to_unit_range(points), points)


def test_check_labels():
    out = images.check_labels(torch.tensor([0, 9, 3], dtype=torch.int32), 10, 3)
    assert out.dtype == torch.int64 and out.tolist() == [0, 9, 3]
    assert images.check_labels([1, 2], 3).tolist() == [1, 2]
    assert images.check_labels(np.array([2]), 3).tolist() == [2]
    with pytest.raises(ValueError, match=r"range over 0\.\.10; this model knows classes 0\.\.9"):
        images.check_labels(torch.tensor([0, 10]), 10)
    with pytest.raises(ValueError, match=r"range over -1\.\.2"):
        images.check_labels(torch.tensor([0, -1, 2]), 10)
    with pytest.raises(ValueError, match=r"shape \(2,\), expected \(3,\), one per image"):
        images.check_labels(torch.tensor([0, 1]), 10, 3)
    with pytest.raises(ValueError, match=r"not one-hot rows"):
        images.check_labels(torch.eye(3, dtype=torch.int64), 3)
    with pytest.raises(TypeError, match=r"integer class indices 0\.\.9, got dtype torch.float32: use labels.long\(\)"):
        images.check_labels(torch.tensor([0.0, 1.0]), 10)
    with pytest.raises(TypeError, match="dtype torch.bool"):
        images.check_labels(torch.tensor([True]), 10)
