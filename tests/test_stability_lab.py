"""Notebook 08's failure-modes lab: the recipes differ from their failures by one change, the signals measure what
they say, and the lab trains each distinct recipe once."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from gan_tutor import gan_math, stability_lab


def _changes(a, b):
    return {f.name for f in dataclasses.fields(a) if f.name != "name" and getattr(a, f.name) != getattr(b, f.name)}


def test_each_fix_changes_one_thing_of_its_failure():
    changes = {failure: _changes(bad, fix) for failure, (bad, fix) in stability_lab.FAILURES.items()}
    assert changes == {"mode collapse": {"r1_gamma"}, "vanishing gradients": {"saturating"},
                       "discriminator overpowers": {"loss", "gp_lambda"},  # the critic's objective: W1 with its penalty
                       "oscillation": {"r1_gamma"}}


def test_ring_data_is_the_ring_and_signals_read_it():
    X = stability_lab.ring_data()
    assert X.shape == (20_000, 2)
    cov = gan_math.mode_coverage(X[:2000], stability_lab.RING.means, 0.05)
    assert cov.modes_covered == 8 and cov.high_quality_share > 0.97
    # other draws of the ring: only the small-sample bias of a Fréchet distance; a shift s changes only the mean term,
    # |d_mu + s|^2 - |d_mu|^2 = 2 s.d_mu + |s|^2 with d_mu the difference of the two sets' means
    a = X[5000:7000]
    assert stability_lab._frechet_2d(a) < 0.02
    s = torch.tensor([0.5, 0.5])
    d_mu = (a.double().mean(0) - X[:2000].double().mean(0)).float()
    expected = stability_lab._frechet_2d(a) + 2 * float(s @ d_mu) + float(s @ s)
    assert stability_lab._frechet_2d(a + s) == pytest.approx(expected, rel=1e-4)


def test_oscillation_is_the_mean_absolute_change():
    assert stability_lab.oscillation({"d_real": [0.5, 0.7, 0.4, 0.4]}) == pytest.approx((0.2 + 0.3 + 0.0) / 3)
    assert math.isnan(stability_lab.oscillation({"d_real": [0.5]}))


def test_lab_trains_each_distinct_recipe_once_and_records_signals(monkeypatch, one_thread):
    calls = []
    real = stability_lab.run_recipe

    def counting(recipe, *args, **kwargs):
        calls.append(recipe)
        return real(recipe, *args, **kwargs)

    monkeypatch.setattr(stability_lab, "run_recipe", counting)
    results = stability_lab.lab(seeds=[0], steps=4)
    assert set(results) == set(stability_lab.FAILURES)
    assert len(calls) == len(set(calls)) == 7  # "strong D, non-saturating" is one failure's fix and the next failure
    bad, fix = results["vanishing gradients"]
    assert fix is results["discriminator overpowers"][0]
    for row in (bad, fix):
        sig = row.signals[0]
        assert sig.step[-1] == 4 and len(sig.modes) == len(sig.grad_g) == len(sig.frechet) == 4
        assert row.points[0].shape == (stability_lab.N_EVAL, 2) and torch.isfinite(row.points[0]).all()
    assert "w1" in results["discriminator overpowers"][1].histories[0]


def test_a_finished_run_is_read_back_not_trained_again(tmp_path, one_thread):
    recipe = stability_lab.FAILURES["mode collapse"][0]
    first = stability_lab.run_recipe(recipe, [0], 3, run_root=tmp_path)
    again = stability_lab.run_recipe(recipe, [0], 3, run_root=tmp_path)
    assert torch.equal(first.points[0], again.points[0]) and again.modes == first.modes
