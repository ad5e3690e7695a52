"""Tests of gan_tutor.checks.core (comparison, conversion of the learner's result, diagnosis, numeric helpers), and
of the package as the notebooks use it: every check re-exported, stubs propagate, no import of the solutions."""

from __future__ import annotations

import ast
import importlib
import inspect
import math
import pathlib

import pytest
import torch
import torch.nn.functional as F

from gan_tutor import checks
from gan_tutor.checks import CheckFailed, core
from gan_tutor.checks.core import (bce, close, diagnose, fixed_values, floats, logistic_d_loss, mean_bce, nested,
                                   numbers, show, sigmoid, softplus, verify_large_logits)

MODULES = {  # check module -> its notebook
    "gan_maths": "01",
    "training_step": "02",
    "dcgan": "03",
    "cgan": "04",
    "vae": "05",
    "stylegan": "06",
    "evaluation": "07",
    "stability": "08",
    "cyclegan": "09",
}
CHECKS_DIR = pathlib.Path(checks.__file__).parent


def stub(*args, **kwargs):
    raise NotImplementedError("write this function")


# ---------------------------------------------------------------------------------------------------
# the package: what the notebooks import
# ---------------------------------------------------------------------------------------------------

ALL_CHECKS = [getattr(checks, name) for name in checks.__all__ if name.startswith("check_")]


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
def test_not_implemented_propagates_unchanged(check):
    n = sum(p.default is inspect.Parameter.empty for p in inspect.signature(check).parameters.values())
    with pytest.raises(NotImplementedError, match="write this function") as info:
        check(*[stub] * n)  # every learner function the check takes is an unsolved stub
    assert type(info.value) is NotImplementedError  # not wrapped in CheckFailed


def test_checks_never_import_the_package_solutions():
    files = sorted(CHECKS_DIR.rglob("*.py"))
    assert {p.stem for p in files} >= {"__init__", "core", *MODULES}
    for path in files:
        source = path.read_text(encoding="utf-8")
        imports = [line for line in source.splitlines() if line.lstrip().startswith(("import", "from"))]
        assert imports and not any("gan_tutor" in line for line in imports), path.name
        for node in ast.walk(ast.parse(source)):  # nor through a relative import that leaves gan_tutor.checks
            if isinstance(node, ast.ImportFrom):
                assert node.level <= 1, f"{path.name}:{node.lineno} imports from outside gan_tutor.checks"


def test_check_failed_is_an_assertion_error():
    assert issubclass(CheckFailed, AssertionError)
    assert CheckFailed is core.CheckFailed


def test_the_package_exports_every_check_of_its_modules_and_nothing_else():
    from_modules = set()
    for name, notebook in MODULES.items():
        module = importlib.import_module(f"gan_tutor.checks.{name}")
        assert f"notebook {notebook}" in module.__doc__.lower()
        public = {n for n in module.__all__ if n.startswith("check_")}
        assert public and all(getattr(checks, n) is getattr(module, n) for n in public)
        from_modules |= public
    assert set(checks.__all__) == from_modules | {"CheckFailed"}
    assert len(checks.__all__) == len(set(checks.__all__)) == 29  # 28 checks and CheckFailed


def test_no_check_module_is_over_600_lines():
    for path in CHECKS_DIR.rglob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 600, path.name


# ---------------------------------------------------------------------------------------------------
# close: float64 comparison of numbers, lists and tensors
# ---------------------------------------------------------------------------------------------------


def test_close_scalars_with_relative_and_absolute_tolerances():
    assert close(1.0, 1.0 + 5e-6)  # default rel 1e-5
    assert not close(1.0, 1.0 + 5e-5)
    assert close(1.0, 1.0 + 5e-5, rel=1e-4)
    assert close(0.0, 5e-7) and not close(0.0, 5e-6)  # default abs 1e-6 near zero
    assert close(0.0, 5e-6, abs_tol=1e-5)
    assert close(3, 3.0, 0.0, 0.0) and not close(3.0, 3.0 + 1e-15, 0.0, 0.0)  # zero tolerance: equality


def test_close_compares_in_float64():
    # 1 + 1e-12 is a different float64 (a float32 would round it to 1)
    assert not close(1.0 + 1e-12, 1.0, rel=1e-14, abs_tol=0.0)
    x32 = torch.tensor(0.1, dtype=torch.float32)  # 0.100000001490116...
    assert not close(x32, 0.1, rel=1e-9, abs_tol=0.0)
    assert close(x32, 0.1, rel=1e-7, abs_tol=0.0)
    assert close(torch.tensor(0.1, dtype=torch.float64), 0.1, 0.0, 0.0)


def test_close_flat_nested_and_tensors_alike():
    assert close([1.0, 2.0, 3.0], torch.tensor([1.0, 2.0, 3.0]))
    assert close([[1.0, 2.0], [3.0]], [1.0, 2.0, 3.0])  # nested lists are compared element by element, in order
    assert close(torch.arange(6.0).reshape(2, 3), [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    assert not close([1.0, 2.0], [1.0, 2.0, 3.0])  # a different number of values never matches
    assert not close([1.0, 2.0], [2.0, 1.0])


def test_close_infinities_and_nan():
    assert close(math.inf, math.inf) and not close(-math.inf, math.inf) and not close(1e300, math.inf)
    assert not close(math.nan, math.nan) and not close([1.0, math.nan], [1.0, 2.0])
    assert close([2.0, math.inf], [2.0, math.inf])


def test_show_formats_numbers_and_nested_lists():
    assert show(1.2345678901) == "1.23457"
    assert show([[1.0, -0.5], [2]]) == "[[1, -0.5], [2]]"
    assert show(torch.tensor([0.25, 3.0])) == "[0.25, 3]"


# ---------------------------------------------------------------------------------------------------
# floats: the learner's result as float64, with one wording of its errors
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [2.5, torch.tensor(2.5), torch.tensor([[2.5]]), torch.tensor(2.5, dtype=torch.float64)])
def test_floats_one_number(value):
    got = floats(value, "f")
    assert type(got) is float and got == 2.5


def test_floats_keeps_float32_values_exactly_in_float64():
    x = torch.tensor([0.1, 1 / 3], dtype=torch.float32)
    assert floats(x, "f", (2,)) == [float(v) for v in x.double()]
    assert floats(torch.tensor(0.1, requires_grad=True) * 1, "f") == float(torch.tensor(0.1).double())


def test_floats_tensor_of_a_shape_flattened_row_major():
    assert floats(torch.arange(6.0).reshape(2, 3), "f", (2, 3)) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


@pytest.mark.parametrize("value, shape, message", [
    (torch.ones(5), (), r"^f returned a tensor of shape \(5,\), expected one number \(a 0-dim tensor\)$"),
    (None, (), r"^f returned NoneType, expected one number \(a 0-dim tensor\)$"),
    ([1.0, 2.0], (), r"^f returned list, expected one number"),
    (torch.ones(3, 2), (2, 3), r"^f returned a tensor of shape \(3, 2\), expected shape \(2, 3\)$"),
    ([1.0, 2.0], (2,), r"^f returned list, expected a tensor of shape \(2,\)$"),
    (torch.ones(2), [(2,), (2, 2)], r"^f returned a tensor of shape \(2,\), expected two results: return a pair$"),
    ((torch.ones(2),) * 3, [(2,), (2,)], r"^f returned tuple, expected two results: return a pair$"),
    ((torch.ones(2),), [(2,)] * 3, r"^f returned tuple, expected 3 results: return a tuple$"),
])
def test_floats_wrong_type_or_shape(value, shape, message):
    with pytest.raises(CheckFailed, match=message):
        floats(value, "f", shape)


def test_floats_hint_ends_the_message():
    with pytest.raises(CheckFailed, match=r"^f returned a tensor of shape \(4,\), expected one number \(a 0-dim tensor\): "
                                          r"average over the batch$"):
        floats(torch.ones(4), "f", hint="average over the batch")


def test_floats_several_results_each_with_its_own_shape_and_hint():
    mu, sigma = floats((torch.zeros(2), torch.eye(2)), "f", [(2,), (2, 2)])
    assert mu == [0.0, 0.0] and sigma == [1.0, 0.0, 0.0, 1.0]
    with pytest.raises(CheckFailed, match=r"expected shape \(2, 2\): the second hint$"):
        floats((torch.zeros(2), torch.eye(3)), "f", [(2,), (2, 2)], ["the first hint", "the second hint"])


def test_floats_nan_and_inf_pass_unless_finite_is_asked():
    assert math.isnan(floats(torch.tensor(math.nan), "f"))
    assert floats(torch.tensor([1.0, math.inf]), "f", (2,)) == [1.0, math.inf]
    with pytest.raises(CheckFailed, match=r"^f returned a non-finite value \(nan\), expected a finite number at x = 0: why$"):
        floats(torch.tensor(math.nan), "f", finite="at x = 0: why")
    with pytest.raises(CheckFailed, match=r"^f returned a non-finite value \(-inf\), expected finite numbers here$"):
        floats(torch.tensor([1.0, -math.inf]), "f", (2,), finite="here")


# ---------------------------------------------------------------------------------------------------
# diagnose: the expected value, else the named mistake it matches, else a generic failure
# ---------------------------------------------------------------------------------------------------

WRONG = [(-2.0, "sign error"), (4.0, "sum instead of mean"), (4.0, "a later mistake with the same value")]


@pytest.mark.parametrize("got", [2.0, 2.0 + 1e-5, torch.tensor(2.0)])
def test_diagnose_passes_the_expected_value(got):
    assert diagnose("f", got, 2.0, WRONG) is None


@pytest.mark.parametrize("got, mistake", [(-2.0, "sign error"), (4.0, "sum instead of mean"), (4.0002, "sum instead of mean")])
def test_diagnose_names_the_first_mistake_that_matches(got, mistake):
    with pytest.raises(CheckFailed) as info:
        diagnose("f", got, 2.0, WRONG, "for x = 1")
    assert str(info.value) == f"f: {mistake} (expected 2 for x = 1, got {got:.6g})"


def test_diagnose_rejects_an_unknown_wrong_value_generically():
    with pytest.raises(CheckFailed) as info:
        diagnose("f", 3.0, 2.0, WRONG, "for x = 1")
    assert str(info.value) == "f: expected 2 for x = 1, got 3"
    assert not any(mistake in str(info.value) for _, mistake in WRONG)


def test_diagnose_rows_and_nested_values():
    with pytest.raises(CheckFailed, match=r"^f: halved \(expected \[1, 2\], got \[0.5, 1\]\)$"):
        diagnose("f", torch.tensor([0.5, 1.0]), [1.0, 2.0], [([0.5, 1.0], "halved")])
    diagnose("f", [[1.0], [2.0, 3.0]], torch.tensor([1.0, 2.0, 3.0]))


def test_diagnose_tolerances():
    diagnose("f", 2.001, 2.0, tol=(1e-3, 0.0))
    with pytest.raises(CheckFailed, match="^f: expected 2, got 2.001$"):
        diagnose("f", 2.001, 2.0)
    with pytest.raises(CheckFailed, match="sign error"):  # a mistake is recognised with the looser mistake_tol
        diagnose("f", -2.0001, 2.0, WRONG)
    with pytest.raises(CheckFailed, match="^f: expected 2, got -2.0001$"):
        diagnose("f", -2.0001, 2.0, WRONG, mistake_tol=(0.0, 0.0))


def test_diagnose_what_mode_mistake_alone_and_the_first_element_off():
    expected = [1.0, 2.0, 3.0, 4.0]
    with pytest.raises(CheckFailed) as info:
        diagnose("f", [2.0, 4.0, 6.0, 8.0], expected, [([2.0, 4.0, 6.0, 8.0], "doubled")], what="expected the quadruple")
    assert str(info.value) == "f: doubled"
    with pytest.raises(CheckFailed) as info:
        diagnose("f", [1.0, 2.0, 3.5, 9.0], expected, [([2.0, 4.0, 6.0, 8.0], "doubled")], what="expected the quadruple")
    assert str(info.value) == "f: expected the quadruple; element 2 should be 3, got 3.5"
    with pytest.raises(CheckFailed, match="^f: at x = 3 expected 4$"):
        diagnose("f", [1.0, 2.0, 3.0, 5.0], expected, what=lambda i: f"at x = {i} expected {expected[i]:g}")
    with pytest.raises(CheckFailed, match="^f: expected the quadruple; 4 numbers expected, got 3$"):
        diagnose("f", [1.0, 2.0, 3.0], expected, what="expected the quadruple")


# ---------------------------------------------------------------------------------------------------
# numeric helpers, in float64
# ---------------------------------------------------------------------------------------------------


def test_sigmoid_softplus_bce_match_torch_and_never_overflow():
    for a in [-1000.0, -30.0, -1.5, 0.0, 0.7, 30.0, 1000.0]:
        t = torch.tensor(a, dtype=torch.float64)
        assert close(sigmoid(a), torch.sigmoid(t), 1e-12, 1e-300)
        assert close(softplus(a), F.softplus(t), 1e-12, 1e-300)
        for y in (0.0, 0.9, 1.0):
            assert close(bce(a, y), F.binary_cross_entropy_with_logits(t, torch.tensor(y, dtype=torch.float64)), 1e-12, 1e-12)
    assert bce(-200.0, 1.0) == softplus(200.0) == 200.0


def test_mean_bce_and_logistic_d_loss_match_torch():
    r, f = [1.5, -0.8, 200.0], [-1.2, 0.5, -200.0]
    rt, ft = torch.tensor(r, dtype=torch.float64), torch.tensor(f, dtype=torch.float64)
    assert close(mean_bce(r, 1.0), F.softplus(-rt).mean(), 1e-12, 1e-15)
    assert close(logistic_d_loss(r, f), F.softplus(-rt).mean() + F.softplus(ft).mean(), 1e-12, 1e-15)
    assert close(logistic_d_loss(r, f, 0.9, 0.1), F.binary_cross_entropy_with_logits(rt, torch.full_like(rt, 0.9))
                 + F.binary_cross_entropy_with_logits(ft, torch.full_like(ft, 0.1)), 1e-12, 1e-15)


def test_fixed_values_and_nested():
    v = fixed_values(12, 0.9, 0.3)
    assert v == fixed_values(12, 0.9, 0.3) and len(set(v)) == 12
    assert nested(list(range(6)), (2, 3)) == [[0, 1, 2], [3, 4, 5]]
    assert numbers(nested(v, (2, 3, 2))) == v


def test_verify_large_logits():
    verify_large_logits("loss", torch.tensor(200.0), 200.0)
    with pytest.raises(CheckFailed, match=r"^loss returned a non-finite value \(inf\), .* computed log\(sigmoid\(\.\)\) directly"):
        verify_large_logits("loss", torch.tensor(math.inf), 200.0)
    with pytest.raises(CheckFailed, match=r"^loss: wrong at large logits \(expected 200, got 100\)"):
        verify_large_logits("loss", torch.tensor(100.0), 200.0)
