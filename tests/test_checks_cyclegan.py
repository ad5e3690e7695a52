"""Tests of gan_tutor.checks.cyclegan (notebook 09): correct solutions pass, each common mistake is named, and no
message gives the answer away."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
import torch.nn.functional as nnf

from gan_tutor import checks, cyclegan
from gan_tutor.checks import CheckFailed

CODE = ("0.5 *", "torch.", ".detach(", ".mean(", "**", "abs(")


def assert_gives_no_answer(message: str, expected: float | None = None) -> None:
    assert not any(code in message for code in CODE), message
    if expected is not None:
        assert f"{expected:.6g}" not in message, message


def stub(*args, **kwargs):
    raise NotImplementedError("write this function")


# --- the least-squares discriminator loss ------------------------------------------------------------


def d_right(real, fake):
    return ((real - 1) ** 2).mean() / 2 + (fake ** 2).mean() / 2


def test_lsgan_d_loss_check_passes_the_module_and_a_hand_solution(capsys):
    checks.check_lsgan_d_loss(d_right)
    checks.check_lsgan_d_loss(cyclegan.lsgan_d_loss)
    checks.check_lsgan_d_loss(lambda r, f: 0.5 * nnf.mse_loss(r, torch.ones_like(r))
                              + 0.5 * nnf.mse_loss(f, torch.zeros_like(f)))
    assert capsys.readouterr().out.startswith("✓ lsgan_d_loss")


D_MISTAKES = [
    (lambda r, f: 0.5 * (r ** 2).mean() + 0.5 * ((f - 1) ** 2).mean(), "targets are swapped"),
    (lambda r, f: ((r - 1) ** 2).mean() + (f ** 2).mean(), "twice the loss"),
    (lambda r, f: nnf.softplus(-r).mean() + nnf.softplus(f).mean(), "logistic"),
    (lambda r, f: nnf.binary_cross_entropy_with_logits(r, torch.ones_like(r))
     + nnf.binary_cross_entropy_with_logits(f, torch.zeros_like(f)), "logistic"),
    (lambda r, f: 0.5 * ((r - 1) ** 2).sum() + 0.5 * (f ** 2).sum(), "summed over the batch"),
    (lambda r, f: ((r - 1) ** 2).sum() + (f ** 2).sum(), "summed over the batch"),
    (lambda r, f: 0.5 * ((r - 1) ** 2).sum((1, 2, 3)).mean() + 0.5 * (f ** 2).sum((1, 2, 3)).mean(), "map is summed"),
    (lambda r, f: 0.5 * (r - 1).abs().mean() + 0.5 * f.abs().mean(), r"absolute distances \(L1\)"),
    (lambda r, f: nnf.l1_loss(r, torch.ones_like(r)) + nnf.l1_loss(f, torch.zeros_like(f)),
     r"absolute distances \(L1\)"),
    (lambda r, f: d_right(r, f) + 0.25, "matches none of the usual mistakes"),
    (lambda r, f: ((r - 1) ** 2).mean((1, 2, 3)) / 2, "expected one number"),
]


@pytest.mark.parametrize("fn, phrase", D_MISTAKES)
def test_lsgan_d_loss_check_names_mistakes(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_lsgan_d_loss(fn)


@pytest.mark.parametrize("fn", [fn for fn, _ in D_MISTAKES])
def test_lsgan_d_loss_check_messages_give_no_answer(fn):
    seen = []

    def recording(real, fake):
        seen.append(float(d_right(real.double(), fake.double())))
        return fn(real, fake)

    with pytest.raises(CheckFailed) as e:
        checks.check_lsgan_d_loss(recording)
    assert_gives_no_answer(str(e.value), seen[0])


# --- the generators' objective -----------------------------------------------------------------------


def objective(G, F, D_A, D_B, a, b, lam, li, *, idt_source=False, lam_on_gan=False, idt_weight_alone=False,
              one_cycle=False, squared_cycle=False, d_swapped=False, no_identity=False, fixed_weights=False,
              as_number=False, detach_F=False):
    """The generators' objective, written out by hand, with switches for the usual mistakes."""
    if fixed_weights:
        lam, li = 10.0, 0.5
    if detach_F:
        F_net = F
        F = lambda x: F_net(x).detach()  # noqa: E731
    ls = lambda s: ((s - 1) ** 2).mean()  # noqa: E731
    dist = (lambda x, y: ((x - y) ** 2).mean()) if squared_cycle else (lambda x, y: (x - y).abs().mean())
    fake_b, fake_a = G(a), F(b)
    gan = ls(D_A(fake_b)) + ls(D_B(fake_a)) if d_swapped else ls(D_B(fake_b)) + ls(D_A(fake_a))
    cycle = dist(F(fake_b), a) + (0 if one_cycle else dist(G(fake_a), b))
    if idt_source:
        identity = (G(a) - a).abs().mean() + (F(b) - b).abs().mean()
    else:
        identity = (G(b) - b).abs().mean() + (F(a) - a).abs().mean()
    total = (lam * gan if lam_on_gan else gan) + lam * cycle
    if not no_identity:
        total = total + (li if idt_weight_alone else li * lam) * identity
    return torch.tensor(total.item()) if as_number else total


def module_objective(G, F, D_A, D_B, a, b, lam, li):
    return cyclegan.generator_losses(G, F, D_A, D_B, a, b, lam, li)["total"]


def test_generator_objective_check_passes_the_module_and_a_hand_solution(capsys):
    checks.check_generator_objective(objective)
    checks.check_generator_objective(module_objective)
    assert capsys.readouterr().out.startswith("✓ generator_objective")


OBJECTIVE_MISTAKES = [
    (dict(idt_source=True), "identity term feeds each generator its source domain"),
    (dict(lam_on_gan=True), "lambda weights the GAN terms too"),
    (dict(idt_weight_alone=True), "weighted by lambda_identity alone"),
    (dict(one_cycle=True), "only one cycle direction"),
    (dict(squared_cycle=True), "squared errors in the cycle term"),
    (dict(d_swapped=True), "discriminators are swapped"),
    (dict(no_identity=True), "identity term is missing"),
    (dict(fixed_weights=True), "weights passed in are ignored"),
    (dict(as_number=True), "cannot train the generators"),
    (dict(detach_F=True), "no gradient reaches F's parameters"),
]


@pytest.mark.parametrize("mistake, phrase", OBJECTIVE_MISTAKES)
def test_generator_objective_check_names_mistakes(mistake, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_generator_objective(lambda *args: objective(*args, **mistake))


def test_generator_objective_check_rejects_other_values_and_results():
    with pytest.raises(CheckFailed, match="matches none of the usual mistakes"):
        checks.check_generator_objective(lambda *args: objective(*args) + 0.3)
    with pytest.raises(CheckFailed, match=r"returned dict, expected one number"):
        checks.check_generator_objective(lambda *args: cyclegan.generator_losses(*args))


@pytest.mark.parametrize("mistake", [m for m, _ in OBJECTIVE_MISTAKES] + [None])
def test_generator_objective_check_messages_give_no_answer(mistake):
    seen = []

    def recording(G, F, D_A, D_B, a, b, lam, li):
        seen.append(objective(G, F, D_A, D_B, a.double(), b.double(), lam, li).item())
        if mistake is None:
            return objective(G, F, D_A, D_B, a, b, lam, li) + 0.3
        return objective(G, F, D_A, D_B, a, b, lam, li, **mistake)

    with pytest.raises(CheckFailed) as e:
        checks.check_generator_objective(recording)
    assert_gives_no_answer(str(e.value), seen[-1])


# --- the pool of generated images --------------------------------------------------------------------


class Pool:
    """A hand-written pool: a list of detached images, torch's global generator."""

    def __init__(self, size):
        self.size, self.images = size, []

    def query(self, images):
        out = []
        for img in images.detach():
            if len(self.images) < self.size:
                self.images.append(img.clone())
                out.append(img)
            elif torch.rand(1).item() < 0.5:
                i = int(torch.randint(self.size, (1,)))
                out.append(self.images[i])
                self.images[i] = img.clone()
            else:
                out.append(img)
        return torch.stack(out)


class PythonRandomPool(Pool):
    """As Zhu et al.'s code: Python's random module."""

    def query(self, images):
        out = []
        for img in images.detach():
            if len(self.images) < self.size:
                self.images.append(img.clone())
                out.append(img)
            elif random.uniform(0, 1) > 0.5:
                i = random.randint(0, self.size - 1)
                out.append(self.images[i].clone())
                self.images[i] = img.clone()
            else:
                out.append(img)
        return torch.stack(out)


class VectorPool(Pool):
    """Swaps a whole batch at once: two images may draw the same slot (both get its old image, one takes it)."""

    def query(self, images):
        images = images.detach().clone()
        out = images.clone()
        start = 0
        while len(self.images) < self.size and start < len(images):
            self.images.append(images[start])
            start += 1
        if start < len(images):
            stack = torch.stack(self.images)
            rest = torch.arange(start, len(images))
            swap = rest[torch.rand(len(rest)) < 0.5]
            slots = torch.randint(self.size, (len(swap),))
            out[swap] = stack[slots]
            stack[slots] = images[swap]
            self.images = list(stack)
        return out


def test_image_pool_check_passes_the_module_and_hand_solutions(capsys):
    checks.check_image_pool(cyclegan.ImagePool)
    checks.check_image_pool(Pool)
    checks.check_image_pool(PythonRandomPool)
    checks.check_image_pool(VectorPool)
    out = capsys.readouterr().out
    assert out.startswith("✓ ImagePool") and out.count("✓") == 4


def test_image_pool_check_leaves_the_global_random_streams_alone():
    torch.manual_seed(123)
    random.seed(123)
    np.random.seed(123)
    states = torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy()
    checks.check_image_pool(cyclegan.ImagePool)
    checks.check_image_pool(PythonRandomPool)
    assert torch.equal(torch.get_rng_state(), states[0])
    assert random.getstate() == states[1] and np.array_equal(np.random.get_state()[1], states[2])


class AlwaysNew(Pool):
    def query(self, images):
        for img in images:
            if len(self.images) < self.size:
                self.images.append(img.detach().clone())
        return images.detach()


class AlwaysOld(Pool):
    def query(self, images):
        out = []
        for img in images.detach():
            if len(self.images) < self.size:
                self.images.append(img.clone())
                out.append(img)
            else:
                i = int(torch.randint(self.size, (1,)))
                out.append(self.images[i])
                self.images[i] = img.clone()
        return torch.stack(out)


class NoPassThroughWhileFilling(Pool):
    def query(self, images):
        out = []
        for img in images.detach():
            if len(self.images) < self.size:
                self.images.append(img.clone())
                out.append(self.images[0])
            else:
                out.append(img)
        return torch.stack(out)


class Attached(Pool):
    def query(self, images):
        out = []
        for img in images:
            if len(self.images) < self.size:
                self.images.append(img)
                out.append(img)
            elif torch.rand(1).item() < 0.5:
                i = int(torch.randint(self.size, (1,)))
                out.append(self.images[i])
                self.images[i] = img
            else:
                out.append(img)
        return torch.stack(out).detach()


class ReturnsAttached(Pool):
    def query(self, images):
        Pool.query(self, images)  # stores detached copies...
        return images  # ...but hands the attached batch back


class Grows(Pool):
    def query(self, images):
        out = []
        for img in images.detach():
            if len(self.images) < self.size:
                self.images.append(img.clone())
                out.append(img)
            elif torch.rand(1).item() < 0.5:
                out.append(self.images[int(torch.randint(len(self.images), (1,)))])
                self.images.append(img.clone())
            else:
                out.append(img)
        return torch.stack(out)


class NeverReplaces(Pool):
    def query(self, images):
        out = []
        for img in images.detach():
            if len(self.images) < self.size:
                self.images.append(img.clone())
                out.append(img)
            elif torch.rand(1).item() < 0.5:
                out.append(self.images[int(torch.randint(self.size, (1,)))])
            else:
                out.append(img)
        return torch.stack(out)


class StoresPassedThrough(Pool):
    def query(self, images):
        out = []
        for img in images.detach():
            if len(self.images) < self.size:
                self.images.append(img.clone())
                out.append(img)
            else:
                i = int(torch.randint(self.size, (1,)))
                out.append(self.images[i] if torch.rand(1).item() < 0.5 else img)
                self.images[i] = img.clone()
        return torch.stack(out)


class EmptySlots(Pool):
    def query(self, images):
        out = Pool.query(self, images)
        return torch.where(out > self.size, torch.zeros_like(out), out) if torch.rand(1).item() < 0.1 else out


class ReturnsList(Pool):
    def query(self, images):
        return list(Pool.query(self, images))


@pytest.mark.parametrize("cls, phrase", [
    (AlwaysNew, "always returns the new image"),
    (AlwaysOld, "always returns a stored image"),
    (NoPassThroughWhileFilling, "not passed through"),
    (Attached, "stores images that are still attached to the generator's graph: store detached copies"),
    (ReturnsAttached, "returns images that are still attached to the generator's graph"),
    (Grows, "more than its size"),
    (NeverReplaces, "a second time"),
    (StoresPassedThrough, "one it had passed through"),
    (EmptySlots, "never given"),
    (ReturnsList, "expected a batch of the same shape"),
])
def test_image_pool_check_names_mistakes(cls, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_image_pool(cls)


def test_image_pool_check_messages_give_no_code():
    for cls in (AlwaysNew, AlwaysOld, Attached, Grows):
        with pytest.raises(CheckFailed) as e:
            checks.check_image_pool(cls)
        assert_gives_no_answer(str(e.value))


# --- unsolved stubs ----------------------------------------------------------------------------------


class StubPool:
    def __init__(self, size):
        self.size = size

    def query(self, images):
        raise NotImplementedError("write this function")


@pytest.mark.parametrize("check, fn", [
    (checks.check_lsgan_d_loss, stub),
    (checks.check_generator_objective, stub),
    (checks.check_image_pool, stub),
    (checks.check_image_pool, StubPool),
])
def test_not_implemented_propagates_unchanged(check, fn):
    state = torch.get_rng_state()
    with pytest.raises(NotImplementedError, match="write this function") as info:
        check(fn)
    assert type(info.value) is NotImplementedError
    assert torch.equal(torch.get_rng_state(), state)
