"""Train the digit classifier that judges generated digits (gan_tutor/classifier.py).

    python scripts/train_digit_classifier.py [--out PATH] [--epochs N] [--seed S] [--threads T]

Trains :class:`gan_tutor.classifier.DigitClassifier` on the 4,000 digits of the mnist-5k ``train``
split only, evaluates on the 1,000 held-out ``test`` digits, prints accuracy, confident share and
per-class accuracy, and writes the state dict atomically (temporary file, then ``os.replace``) to
``gan_tutor/weights/digit_classifier.pt``, printing its sha256. Deterministic on CPU: the same flags
give the same file, byte for byte, with the same torch version and thread count. About 35 s on 2
free CPU cores (27 ms a step), several minutes when other work shares them; on a busy machine
``--threads 1`` is faster, as two threads then spend their time waiting for each other.

After retraining the shipped weights, copy the printed sha256 into ``WEIGHTS_SHA256`` and the printed
figures into the docstring of ``gan_tutor/classifier.py``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from gan_tutor.classifier import WEIGHTS_PATH, DigitClassifier, judge_digits
from gan_tutor.data import BatchIterator, load_mnist_5k, sha256_of


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 20
    batch_size: int = 64
    lr: float = 2e-3  # AdamW; decayed to 0 by a cosine schedule over all steps
    weight_decay: float = 1e-4  # decoupled (AdamW): a little, against 4,000 digits being few
    seed: int = 0
    # Augmentation for a judge of *generated* digits: generators centre and size their digits less
    # exactly than MNIST's preprocessing (centre of mass at the middle, 20x20 box), so small shifts,
    # tilts and size changes must not change the verdict. Kept small so a 6 does not become a 9 and
    # the held-out accuracy stays an honest estimate on undistorted digits.
    max_shift_px: float = 2.0
    max_rotation_deg: float = 10.0
    scale_range: tuple[float, float] = (0.9, 1.1)
    # Generated digits often carry speckle on the background; a judge trained on clean MNIST only
    # reads such a digit as anything (51% accuracy at noise std 0.15 without this).
    noise_prob: float = 0.5
    max_noise_std: float = 0.15
    # Outlier exposure (Hendrycks, Mazeika & Dietterich, 2019, arXiv:1812.04606): images that are no
    # digit are trained towards the uniform distribution, so that "confident" means "a digit". Without
    # it, uniform noise is classified as an 8 with p > 0.9 every time, and a collapsed generator that
    # outputs noise would pass as confident.
    outliers_per_batch: int = 32
    outlier_weight: float = 0.5  # lambda, as in the paper's vision experiments


def augment(x: torch.Tensor, cfg: TrainConfig, generator: torch.Generator) -> torch.Tensor:
    """Random affine per image (shift, rotation, scale), then pixel noise on some: (N, 1, 28, 28) -> same, in [0, 1].

    One ``affine_grid`` + bilinear ``grid_sample`` for the whole batch; outside the image is black.
    """
    n = x.shape[0]
    u = torch.rand(n, 4, generator=generator)  # (N, 4) uniforms: angle, scale, shift x, shift y
    angle = (2 * u[:, 0] - 1) * math.radians(cfg.max_rotation_deg)
    lo, hi = cfg.scale_range
    scale = lo + (hi - lo) * u[:, 1]
    # affine_grid works in normalised coordinates where the 28-pixel width spans 2 units (align_corners=False)
    shift = (2 * u[:, 2:] - 1) * cfg.max_shift_px * (2 / 28)  # (N, 2)
    # The grid maps output coordinates to input ones, so the inverse transform is written here:
    # dividing by the scale enlarges the digit when scale > 1.
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, -shift[:, 0]], dim=1), torch.stack([sin, cos, -shift[:, 1]], dim=1)], dim=1
    )  # (N, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    # additive Gaussian pixel noise on a random half of the batch, std uniform in [0, max_noise_std]
    u = torch.rand(n, 2, generator=generator)
    std = torch.where(u[:, 0] < cfg.noise_prob, u[:, 1] * cfg.max_noise_std, torch.zeros(n)).view(n, 1, 1, 1)
    return (x + std * torch.randn(x.shape, generator=generator)).clamp(0, 1)


def make_outliers(digits: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """(n, 1, 28, 28) images in [0, 1] that are no digit, in five kinds drawn at random.

    uniform noise of random amplitude; sparse binary noise; smooth blobs (7x7 noise upsampled);
    a constant grey level; and digits cut into 7x7 patches that are shuffled (strokes without a
    digit's shape, the texture of a generator that has not learnt the global structure).
    ``digits`` (M, 1, 28, 28) supplies the strokes for the last kind.
    """
    kind = torch.randint(0, 5, (n,), generator=generator)
    level = torch.rand(n, 1, 1, 1, generator=generator)  # amplitude, density or grey level
    uniform = torch.rand(n, 1, 28, 28, generator=generator) * (0.2 + 0.8 * level)
    sparse = (torch.rand(n, 1, 28, 28, generator=generator) < 0.05 + 0.45 * level).float()
    blobs = F.interpolate(torch.rand(n, 1, 7, 7, generator=generator), size=(28, 28), mode="bilinear", align_corners=False)
    blobs = ((blobs - 0.5) * (1 + 4 * level) + 0.5).clamp(0, 1)  # random contrast
    constant = level.expand(n, 1, 28, 28)
    # (n, 1, 28, 28) -> 16 patches of 7x7 in a random order per image -> (n, 1, 28, 28)
    src = digits[torch.randint(0, len(digits), (n,), generator=generator)]
    patches = src.reshape(n, 4, 7, 4, 7).permute(0, 1, 3, 2, 4).reshape(n, 16, 7, 7)
    order = torch.argsort(torch.rand(n, 16, generator=generator), dim=1)
    patches = torch.gather(patches, 1, order.view(n, 16, 1, 1).expand(n, 16, 7, 7))
    scrambled = patches.reshape(n, 4, 4, 7, 7).permute(0, 1, 3, 2, 4).reshape(n, 1, 28, 28)
    out = torch.stack([uniform, sparse, blobs, constant, scrambled])  # (5, n, 1, 28, 28)
    return out[kind, torch.arange(n)]


def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    cfg: TrainConfig = TrainConfig(),
    steps: int | None = None,
    log_every: int = 0,
) -> tuple[DigitClassifier, list[float]]:
    """Train a fresh DigitClassifier on (N, 1, 28, 28) images in [0, 1] and (N,) labels.

    ``steps`` (default: ``cfg.epochs`` epochs of ``N // batch_size`` minibatches) lets tests run a
    handful. Returns the model in ``eval()`` mode and the training loss of every step.
    """
    torch.manual_seed(cfg.seed)  # the initial weights and dropout masks
    model = DigitClassifier()
    aug_gen = torch.Generator().manual_seed(cfg.seed + 1)
    batches = BatchIterator(len(images), min(cfg.batch_size, len(images)), seed=cfg.seed)
    if steps is None:
        steps = cfg.epochs * (len(images) // batches.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5 * (1 + math.cos(math.pi * t / steps)))
    losses = []
    model.train()
    t0 = time.perf_counter()
    for step in range(steps):
        idx = batches.next_indices()
        x = augment(images[idx], cfg, aug_gen)  # (B, 1, 28, 28)
        x_out = make_outliers(images[idx], cfg.outliers_per_batch, aug_gen)  # (B_out, 1, 28, 28)
        # one forward pass, so batch norm sees digits and outliers together, as its running stats will
        logits = model(torch.cat([x, x_out]))
        # L = CE(f(x), y) + lambda * CE(f(x_out), uniform), the latter = -mean_k log p(k | x_out)
        loss_digits = F.cross_entropy(logits[: len(x)], labels[idx])
        loss_outliers = -F.log_softmax(logits[len(x) :], dim=1).mean()
        loss = loss_digits + cfg.outlier_weight * loss_outliers
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if log_every and (step + 1) % log_every == 0:
            recent = sum(losses[-log_every:]) / log_every
            print(f"step {step + 1}/{steps}  loss {recent:.4f}  ({time.perf_counter() - t0:.0f} s)", flush=True)
    return model.eval(), losses


def save_weights(model: DigitClassifier, path: Path | str) -> str:
    """Write the state dict atomically (temporary file in the same folder, then os.replace); its sha256.

    Only float32 tensors are kept: BatchNorm's integer ``num_batches_tracked`` counters are dropped
    (unused with a fixed momentum), so the file loads with ``torch.load(weights_only=True)``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().float().contiguous() for k, v in model.state_dict().items() if v.is_floating_point()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates the file readable by its owner only; give it the usual permissions
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return sha256_of(path)


def evaluate(model: DigitClassifier, images: torch.Tensor, labels: torch.Tensor) -> dict:
    """Held-out accuracy, confident share (p >= 0.9), per-class accuracy and class shares."""
    j = judge_digits(images, model, threshold=0.9, labels=labels)
    per_class = [(j.predicted[labels == k] == k).double().mean().item() for k in range(10)]
    return {"accuracy": j.label_accuracy, "confident_share": j.confident_share, "per_class": per_class, "judgement": j}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=WEIGHTS_PATH, help=f"where to write the weights (default {WEIGHTS_PATH})")
    p.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    p.add_argument("--seed", type=int, default=TrainConfig.seed)
    p.add_argument("--threads", type=int, default=2, help="CPU threads (default 2, as the shipped weights were made)")
    args = p.parse_args(argv)
    if args.epochs < 1:
        p.error("--epochs must be at least 1")
    if args.threads < 1:
        p.error("--threads must be at least 1")

    torch.set_num_threads(args.threads)  # the course's CI and laptops have 2-4 cores shared with other work
    torch.use_deterministic_algorithms(True)
    cfg = TrainConfig(epochs=args.epochs, seed=args.seed)
    print(cfg)
    train, test = load_mnist_5k("train"), load_mnist_5k("test")
    t0 = time.perf_counter()
    model, _ = train_classifier(train.images, train.labels, cfg, log_every=len(train) // cfg.batch_size)
    seconds = time.perf_counter() - t0
    m = evaluate(model, test.images, test.labels)
    digest = save_weights(model, args.out)
    print(f"trained on {len(train)} mnist-5k train digits in {seconds:.0f} s")
    print(f"held-out accuracy ({len(test)} mnist-5k test digits): {100 * m['accuracy']:.1f}%")
    print(f"held-out confident share (p >= 0.9): {100 * m['confident_share']:.1f}%")
    print("per-class accuracy: " + "  ".join(f"{k}: {100 * a:.0f}%" for k, a in enumerate(m["per_class"])))
    print(m["judgement"].summary())
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes), sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
