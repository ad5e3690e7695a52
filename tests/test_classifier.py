"""Tests for gan_tutor/classifier.py (the digit judge) and scripts/train_digit_classifier.py."""

from __future__ import annotations

import hashlib
import importlib.util
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gan_tutor.classifier import (
    WEIGHTS_PATH,
    WEIGHTS_SHA256,
    ClassifierWeightsError,
    DigitClassifier,
    judge_digits,
    load_digit_classifier,
)
from gan_tutor.data import load_mnist_5k

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "train_digit_classifier.py"


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def held_out():
    return load_mnist_5k("test")


@pytest.fixture(scope="module")
def clf():
    return load_digit_classifier()


@pytest.fixture(scope="module")
def held_out_judgement(held_out, clf):
    return judge_digits(held_out.images, clf, labels=held_out.labels)


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("train_digit_classifier", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


# --- the shipped weights -------------------------------------------------------------------------


def test_shipped_weights_exist_match_their_hash_and_are_small_float32():
    assert WEIGHTS_PATH.is_file()
    assert hashlib.sha256(WEIGHTS_PATH.read_bytes()).hexdigest() == WEIGHTS_SHA256
    assert WEIGHTS_PATH.stat().st_size < 1_000_000
    state = torch.load(WEIGHTS_PATH, weights_only=True)
    assert {v.dtype for v in state.values()} == {torch.float32}


def test_shipped_classifier_is_accurate_and_confident_on_held_out_digits(held_out_judgement):
    j = held_out_judgement
    assert j.n == 1000
    assert 0.96 <= j.label_accuracy <= 1.0
    assert 0.90 <= j.confident_share <= 1.0
    # held-out digits are 100 per class: predicted shares near 0.1 each
    for share in j.class_shares:
        assert share == pytest.approx(0.1, abs=0.03)
    assert sum(j.class_shares) == pytest.approx(1.0, abs=1e-12)
    assert j.min_class_share == min(j.class_shares)


def test_judgement_matches_a_per_image_loop(held_out, clf):
    """Batched, no-grad scoring = one image at a time through softmax(logits) (eval mode: no batch effects)."""
    x = held_out.images[:23]
    j = judge_digits(x, clf, threshold=0.95, batch_size=5)
    with torch.no_grad():
        p = torch.cat([F.softmax(clf(x[i : i + 1]), dim=1) for i in range(len(x))])
    assert torch.allclose(j.max_prob, p.max(dim=1).values, atol=1e-5)
    assert torch.equal(j.predicted, p.argmax(dim=1))
    assert j.confident_share == pytest.approx((p.max(dim=1).values >= 0.95).double().mean().item(), abs=1e-12)
    counts = np.bincount(p.argmax(dim=1).numpy(), minlength=10)
    assert j.class_shares == pytest.approx(tuple(counts / 23), abs=1e-12)
    assert j.threshold == 0.95 and j.label_accuracy is None


def test_confident_share_per_requested_label_matches_judging_each_label_alone(held_out, clf):
    x, y = held_out.images[:200], held_out.labels[:200]
    j = judge_digits(x, clf, labels=y)
    assert j.confident_by_label == pytest.approx(
        tuple(judge_digits(x[y == k], clf).confident_share for k in range(10)), abs=1e-12)
    assert judge_digits(x, clf).confident_by_label is None
    only_threes = judge_digits(x[:4], clf, labels=torch.full((4,), 3))
    assert math.isnan(only_threes.confident_by_label[0]) and not math.isnan(only_threes.confident_by_label[3])


def test_noise_is_not_a_confident_digit(clf):
    g = torch.Generator().manual_seed(0)
    uniform = judge_digits(torch.rand(1000, 1, 28, 28, generator=g), clf)
    # Gaussian noise is not one of the outlier kinds seen in training; measured 0.0 for both
    gauss = judge_digits((0.5 + 0.25 * torch.randn(1000, 1, 28, 28, generator=g)).clamp(0, 1), clf)
    assert uniform.confident_share == pytest.approx(0.0, abs=0.05)
    assert gauss.confident_share == pytest.approx(0.0, abs=0.05)


def test_all_black_images_fall_in_one_class_without_confidence(clf):
    j = judge_digits(torch.zeros(50, 1, 28, 28), clf)
    assert j.min_class_share == 0.0
    assert max(j.class_shares) == 1.0
    assert j.class_shares.count(1.0) == 1
    assert j.confident_share == 0.0  # measured p = 0.10 for a blank image


def test_label_accuracy_true_and_shuffled_labels(held_out, clf, held_out_judgement):
    labels = held_out.labels
    with torch.no_grad():
        oracle = (clf(held_out.images).argmax(dim=1) == labels).double().mean().item()
    assert held_out_judgement.label_accuracy == pytest.approx(oracle, abs=1e-12)
    shuffled = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))]
    j = judge_digits(held_out.images, clf, labels=shuffled)
    assert j.label_accuracy == pytest.approx(0.1, abs=0.03)


def test_summary_states_the_numbers(held_out_judgement, held_out, clf):
    text = held_out_judgement.summary()
    assert text.startswith("1000 samples: ")
    assert f"{100 * held_out_judgement.confident_share:.1f}% confident (p>=0.9)" in text
    assert f"classes {100 * held_out_judgement.min_class_share:.1f}%-" in text
    assert f"{100 * held_out_judgement.label_accuracy:.1f}% classified as their label" in text
    assert "label" not in judge_digits(held_out.images[:10], clf).summary()


def test_judge_accepts_numpy_and_restores_training_mode(held_out):
    model = DigitClassifier()  # untrained, in training mode
    x = held_out.images[:8]
    a = judge_digits(x.numpy(), model)
    assert model.training
    model.eval()
    with torch.no_grad():
        assert torch.equal(a.predicted, model(x).argmax(dim=1))


def test_features_shape_and_head(held_out, clf):
    x = held_out.images[:5]
    with torch.no_grad():
        f = clf.features(x)
        assert f.shape == (5, clf.n_features) == (5, 128)
        assert (f >= 0).all()
        assert torch.allclose(clf.head(f), clf(x), atol=1e-6)  # eval: dropout is the identity


# --- input validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, error, match",
    [  # the wording is gan_tutor.images' (tests/test_images.py); here: the judge validates before it scores
        (lambda x: x[:, 0], ValueError, r"expected \(N, 1, 28, 28\).*unsqueeze\(1\)"),
        (lambda x: x.expand(-1, 3, -1, -1), ValueError, r"shape \(4, 3, 28, 28\).*convert to grey"),
        (lambda x: F.pad(x, (2, 2, 2, 2)), ValueError, r"\(4, 1, 32, 32\).*interpolate"),
        (lambda x: (x * 255).to(torch.uint8), TypeError, r"dtype torch.uint8.*/ 255"),
        (lambda x: 2 * x - 1, ValueError, r"\[-1, 1\].*\(x \+ 1\) / 2"),
        (lambda x: x * 255, ValueError, r"0\.\.255 pixels: divide them by 255"),
        (lambda x: x[:0], ValueError, r"empty batch"),
        (lambda x: x.clone().fill_(float("nan")), ValueError, r"NaN"),
    ],
)
def test_bad_images_are_refused_with_the_fix(make, error, match, held_out, clf):
    with pytest.raises(error, match=match):
        judge_digits(make(held_out.images[:4]), clf)


def test_images_a_rounding_error_outside_the_range_are_accepted(held_out, clf):
    x = held_out.images[:4]
    nudged = x * (1 + 1e-5) - 1e-6  # e.g. (tanh + 1) / 2 in float32: within 1e-3 of [0, 1]
    assert nudged.min() < 0 and nudged.max() > 1
    j = judge_digits(nudged, clf)
    assert torch.equal(j.predicted, judge_digits(x, clf).predicted)


@pytest.mark.parametrize(
    "labels, error, match",
    [
        (torch.tensor([0, 1, 2, 10]), ValueError, r"range over 0\.\.10; this model knows classes 0\.\.9"),
        (torch.tensor([0, -1, 2, 3]), ValueError, r"0\.\.9"),
        (torch.tensor([0, 1, 2]), ValueError, r"shape \(3,\), expected \(4,\), one per image"),
        (torch.tensor([0.0, 1.0, 2.0, 3.0]), TypeError, r"integer.*float32"),
    ],
)
def test_bad_labels_are_refused_with_the_fix(labels, error, match, held_out, clf):
    with pytest.raises(error, match=match):
        judge_digits(held_out.images[:4], clf, labels=labels)


def test_threshold_must_be_a_probability(held_out, clf):
    with pytest.raises(ValueError, match=r"threshold must be a probability"):
        judge_digits(held_out.images[:4], clf, threshold=0.0)


# --- damaged or foreign weights -----------------------------------------------------------------------


def test_a_flipped_byte_fails_the_hash(tmp_path, monkeypatch):
    data = bytearray(WEIGHTS_PATH.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / "digit_classifier.pt"
    bad.write_bytes(bytes(data))
    with pytest.raises(ClassifierWeightsError, match=r"sha256 .* expected .*train_digit_classifier\.py"):
        load_digit_classifier(bad, sha256=WEIGHTS_SHA256)
    # and the default (shipped) path checks the hash without being asked
    monkeypatch.setattr("gan_tutor.classifier.WEIGHTS_PATH", bad)
    with pytest.raises(ClassifierWeightsError, match=r"corrupted, truncated.*reinstall"):
        load_digit_classifier()


def test_a_truncated_or_missing_file_is_a_clear_error(tmp_path):
    short = tmp_path / "short.pt"
    short.write_bytes(WEIGHTS_PATH.read_bytes()[:1000])
    with pytest.raises(ClassifierWeightsError, match=r"could not be read.*train_digit_classifier\.py"):
        load_digit_classifier(short)
    with pytest.raises(ClassifierWeightsError, match=r"do not exist.*train_digit_classifier\.py"):
        load_digit_classifier(tmp_path / "nowhere.pt")


def test_another_architecture_is_a_clear_error(tmp_path):
    other = tmp_path / "other.pt"
    torch.save(DigitClassifier(n_features=64).state_dict(), other)
    with pytest.raises(ClassifierWeightsError, match=r"another architecture.*other shapes \['fc\.bias'"):
        load_digit_classifier(other)
    torch.save(torch.nn.Linear(3, 2).state_dict(), other)
    with pytest.raises(ClassifierWeightsError, match=r"another architecture.*missing \['body"):
        load_digit_classifier(other)
    torch.save(torch.zeros(3), other)
    with pytest.raises(ClassifierWeightsError, match=r"not hold a state dict"):
        load_digit_classifier(other)


def test_an_unhashed_copy_loads_and_scores_like_the_original(tmp_path, held_out, clf):
    copy = tmp_path / "copy.pt"
    shutil.copyfile(WEIGHTS_PATH, copy)
    again = load_digit_classifier(copy)
    assert not again.training
    with torch.no_grad():
        assert torch.equal(again(held_out.images[:16]), clf(held_out.images[:16]))


# --- the training script -----------------------------------------------------------------------------


def test_training_a_few_steps_reduces_the_loss_and_is_deterministic(script, held_out):
    x, y = held_out.images[:64], held_out.labels[:64]  # any real digits do for a dry run
    cfg = script.TrainConfig(batch_size=16, outliers_per_batch=8, seed=0)
    model, losses = script.train_classifier(x, y, cfg, steps=40)
    assert len(losses) == 40 and not model.training
    # at initialisation p is near uniform: CE(digits) + 0.5 CE(outliers, uniform) = 1.5 ln 10
    assert losses[0] == pytest.approx(1.5 * math.log(10), abs=0.35)
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert first - last == pytest.approx(1.0, abs=0.6)  # measured 1.02 for seed 0
    # same seed, same steps: the same losses bit for bit (the schedule depends on steps, so compare equals)
    _, a = script.train_classifier(x, y, cfg, steps=6)
    _, b = script.train_classifier(x, y, cfg, steps=6)
    assert a == b and a[:2] == losses[:2]


def test_augment_and_outliers_keep_shape_and_range(script, held_out):
    g = torch.Generator().manual_seed(0)
    x = held_out.images[:32]
    y = script.augment(x, script.TrainConfig(), g)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    still = script.TrainConfig(max_shift_px=0, max_rotation_deg=0, scale_range=(1.0, 1.0), noise_prob=0)
    assert torch.allclose(script.augment(x, still, g), x, atol=1e-5)  # identity transform
    o = script.make_outliers(x, 40, g)
    assert o.shape == (40, 1, 28, 28) and o.min() >= 0 and o.max() <= 1


def test_save_weights_is_atomic_and_round_trips(script, tmp_path, held_out):
    model = DigitClassifier().eval()
    out = tmp_path / "w.pt"
    digest = script.save_weights(model, out)
    assert [p.name for p in tmp_path.iterdir()] == ["w.pt"]  # no temporary file left behind
    assert digest == hashlib.sha256(out.read_bytes()).hexdigest()
    loaded = load_digit_classifier(out, sha256=digest)
    with torch.no_grad():
        assert torch.equal(loaded(held_out.images[:4]), model(held_out.images[:4]))


def test_a_failed_save_leaves_the_old_file_and_no_temporary(script, tmp_path, monkeypatch):
    out = tmp_path / "w.pt"
    out.write_bytes(b"old")

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(script.torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        script.save_weights(DigitClassifier(), out)
    assert [p.name for p in tmp_path.iterdir()] == ["w.pt"] and out.read_bytes() == b"old"
