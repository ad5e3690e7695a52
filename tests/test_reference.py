"""gan_tutor.reference: promised figures are enforced only in the setting they were measured in; TIER = "auto"."""

from __future__ import annotations

import pytest
import torch

from gan_tutor import reference

REF = dict(tier="cpu", data="mnist-5k", device="cpu", seed=0)


def test_auto_tier_follows_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert reference.resolve_tier("auto") == "gpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert reference.resolve_tier("auto") == "cpu"
    assert reference.resolve_tier("smoke") == "smoke"
    with pytest.raises(ValueError, match="unknown tier 'laptop': use 'auto' or one of smoke, cpu, gpu, full"):
        reference.resolve_tier("laptop")


@pytest.mark.parametrize("change", [dict(tier="gpu"), dict(data="mnist"), dict(device="cuda"), dict(seed=1), dict(tier="smoke")])
def test_only_the_reference_setting_is_the_reference(change):
    assert reference.is_reference(**REF)
    assert reference.is_reference(**{**REF, "device": torch.device("cpu")})
    assert reference.is_reference(**{**REF, "device": "auto"}) == (not torch.cuda.is_available())
    assert not reference.is_reference(**{**REF, **change})


def test_a_broken_promise_fails_in_the_reference_setting_naming_each_miss(capsys):
    promises = {"label accuracy": (0.95, ">=", 0.97), "FD": (12.0, "<", 20), "least confident digit": (0.8, ">=", 0.9)}
    with pytest.raises(AssertionError, match=r"label accuracy 0\.95 \(promised >= 0\.97\); least confident digit 0\.8"):
        reference.check(promises, **REF)
    out = capsys.readouterr().out
    assert "enforced" in out and out.count("MISSED") == 2 and out.count(" ok") == 1


def test_elsewhere_the_figures_are_shown_beside_the_promises(capsys):
    promises = {"label accuracy": (0.95, ">=", 0.97), "FD": (float("nan"), "<", 20)}
    assert reference.check(promises, **{**REF, "device": "cuda"}) is False  # reported, not raised
    out = capsys.readouterr().out
    assert "this run: the cpu tier on mnist-5k, cuda, seed 0" in out and "shown for comparison" in out
    assert out.count("MISSED") == 2  # a NaN never meets a promise
    assert reference.check({"FD": (12.0, "<", 20)}, **REF) is True


def test_a_malformed_promise_is_refused():
    with pytest.raises(ValueError, match="must be \\(measured, op, promised\\) with op one of >=, <=, >, <"):
        reference.check({"FD": (12.0, "=<", 20)}, **REF)
