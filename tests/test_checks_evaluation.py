"""Tests of gan_tutor.checks.evaluation (notebook 07, evaluation): correct solutions pass, each common mistake is
named, stubs propagate."""

from __future__ import annotations

import pytest
import torch

from gan_tutor import checks
from gan_tutor.checks import CheckFailed


def stub(*args, **kwargs):
    raise NotImplementedError("write this function")


# ---------------------------------------------------------------------------------------------------- notebook 07


def _mc(f, axis=0, ddof=1, centre=True):
    x = f if axis == 0 else f.T
    c = x - x.mean(0) if centre else x
    return f.mean(0), c.T @ c / (len(x) - ddof)


def _sym_sqrt(m):
    e, v = torch.linalg.eigh(m)
    return (v * e.clamp(min=0).sqrt()) @ v.T


def _fd(m1, s1, m2, s2, cross="matrix", clamp=True, factor=2.0, mean_sq=True):
    if cross == "matrix":
        r = _sym_sqrt(s1)
        ev = torch.linalg.eigvalsh(r @ s2 @ r)
        tr = (ev.clamp(min=0) if clamp else ev).sqrt().sum()
    elif cross == "hadamard":
        tr = torch.trace((s1 * s2).clamp(min=0).sqrt())
    else:  # "roots"
        tr = torch.trace(_sym_sqrt(s1) @ _sym_sqrt(s2))
    d = (m1 - m2).pow(2).sum()
    return (d if mean_sq else d.sqrt()) + torch.trace(s1) + torch.trace(s2) - factor * tr


def _mmd(x, y, diagonal=False, pairs="m(m-1)", cross=2.0, d_scale=True):
    k = lambda a, b: (a @ b.T / (a.shape[1] if d_scale else 1) + 1) ** 3  # noqa: E731

    def within(s):
        kk = k(s, s)
        total = kk.sum() - (0 if diagonal else kk.diagonal().sum())
        return total / (len(s) * (len(s) - 1) if pairs == "m(m-1)" else len(s) ** 2)

    return within(x) + within(y) - cross * k(x, y).mean()


def test_nb07_checks_pass_correct_solutions(capsys):
    checks.check_mean_and_covariance(lambda f: (f.mean(0), torch.cov(f.T)))
    checks.check_mean_and_covariance(_mc)
    checks.check_frechet_from_stats(_fd)
    checks.check_mmd2_estimate(_mmd)
    assert capsys.readouterr().out.count("✓") == 4


@pytest.mark.parametrize("fn, phrase", [
    (lambda f: _mc(f, axis=1), "wrong axis|covariance of the"),
    (lambda f: (f.mean(1), torch.cov(f.T)), "one mean per feature"),
    (lambda f: _mc(f, ddof=0), "divided by N"),
    (lambda f: _mc(f, centre=False), "not centred"),
    (lambda f: torch.cov(f.T), "return a pair"),
])
def test_mean_and_covariance_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_mean_and_covariance(fn)


def test_mean_and_covariance_check_finds_the_wrong_axis_when_shapes_agree():
    calls = []

    def fn(f):  # right for the first input (N != D), wrong axis on the square one
        calls.append(f.shape)
        return _mc(f, axis=1) if f.shape[0] == f.shape[1] else _mc(f)

    with pytest.raises(CheckFailed, match="wrong axis"):
        checks.check_mean_and_covariance(fn)
    assert calls == [(5, 3), (4, 4)]


@pytest.mark.parametrize("fn, phrase", [
    (lambda *a: _fd(*a, cross="hadamard"), "element by element"),
    (lambda *a: _fd(*a, cross="roots"), "commute"),
    (lambda *a: _fd(*a, factor=1.0), "factor 2"),
    (lambda *a: _fd(*a, mean_sq=False), "squared distance"),
    (lambda *a: _fd(*a) + 0.5, "expected"),
])
def test_frechet_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_frechet_from_stats(fn)


def test_frechet_check_names_the_singular_case():
    def no_clip(m1, s1, m2, s2):  # NaN from the square root of a slightly negative eigenvalue
        return torch.tensor(float("nan")) if torch.linalg.matrix_rank(s1) < len(s1) else _fd(m1, s1, m2, s2)

    with pytest.raises(CheckFailed, match="singular covariance.*clamp"):
        checks.check_frechet_from_stats(no_clip)


@pytest.mark.parametrize("fn, phrase", [
    (lambda x, y: _mmd(x, y, diagonal=True, pairs="m^2"), "biased"),
    (lambda x, y: _mmd(x, y, diagonal=True), "still in the sums"),
    (lambda x, y: _mmd(x, y, pairs="m^2"), "m \\(m - 1\\) pairs"),
    (lambda x, y: _mmd(x, y, cross=1.0), "counts twice"),
    (lambda x, y: _mmd(x, y, d_scale=False), "dimension d"),
    (lambda x, y: _mmd(x, y) if len(x) != len(y) else torch.tensor(0.0), "same"),
])
def test_mmd2_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_mmd2_estimate(fn)


@pytest.mark.parametrize("check", [checks.check_mean_and_covariance, checks.check_frechet_from_stats, checks.check_mmd2_estimate])
def test_nb07_checks_let_stubs_propagate(check):
    with pytest.raises(NotImplementedError):
        check(stub)
