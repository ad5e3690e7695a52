"""gan_tutor.latent: slerp against its closed form and its geometry; interpolation paths; attribute vectors."""

from __future__ import annotations

import math

import pytest
import torch

from gan_tutor import latent


def test_slerp_closed_form_on_orthogonal_unit_vectors():
    e0, e1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    for t in (0.0, 0.2, 0.5, 1.0):
        # theta = pi/2: slerp = (cos(t pi/2), sin(t pi/2))
        expected = torch.tensor([math.cos(t * math.pi / 2), math.sin(t * math.pi / 2)])
        assert torch.allclose(latent.slerp(e0, e1, t), expected, atol=1e-6)


def test_slerp_keeps_the_norm_between_equal_norm_vectors_and_lerp_does_not():
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(2, 64, generator=g, dtype=torch.float64)
    z1 = z1 * z0.norm() / z1.norm()
    for t in torch.linspace(0, 1, 11).tolist():
        assert latent.slerp(z0, z1, t).norm().item() == pytest.approx(z0.norm().item(), rel=1e-9)
    assert latent.lerp(z0, z1, 0.5).norm().item() < 0.9 * z0.norm().item()  # nearly orthogonal: the chord dips


def test_slerp_rows_are_independent_and_parallel_vectors_fall_back_to_the_line():
    z0, z1 = torch.randn(5, 8), torch.randn(5, 8)
    batched = latent.slerp(z0, z1, 0.3)
    assert torch.allclose(batched, torch.stack([latent.slerp(a, b, 0.3) for a, b in zip(z0, z1)]), atol=1e-6)
    a = torch.tensor([1.0, 0.0, 0.0])
    assert torch.allclose(latent.slerp(a, 3 * a, 0.5), torch.tensor([2.0, 0.0, 0.0]))


def test_interpolate_endpoints_and_errors():
    z0, z1 = torch.randn(16), torch.randn(16)
    for mode in ("lerp", "slerp"):
        path = latent.interpolate(z0, z1, 7, mode)
        assert path.shape == (7, 16)
        assert torch.allclose(path[0], z0, atol=1e-5) and torch.allclose(path[-1], z1, atol=1e-5)
    with pytest.raises(ValueError, match="unknown interpolation 'cubic'"):
        latent.interpolate(z0, z1, 5, "cubic")
    with pytest.raises(ValueError, match="n >= 2"):
        latent.interpolate(z0, z1, 1)


def test_attribute_vector_is_the_difference_of_group_means():
    z = torch.arange(12.0).view(6, 2)  # rows (0,1), (2,3), ..., (10,11)
    score = torch.tensor([5.0, 0.0, 4.0, 1.0, 3.0, 2.0])  # highest: rows 0, 2; lowest: rows 1, 3
    v = latent.attribute_vector(z, score, k=2)
    assert torch.equal(v, (z[[0, 2]].mean(0) - z[[1, 3]].mean(0)))
    with pytest.raises(ValueError, match="k must be between"):
        latent.attribute_vector(z, score, k=4)
    with pytest.raises(ValueError, match=r"score \(N,\)"):
        latent.attribute_vector(z, score[:3], k=1)
