"""gan_tutor.env: device choice, seeding, the seeded block that leaves the caller's stream alone."""

from __future__ import annotations

import pytest
import torch

from gan_tutor import env


def test_pick_device():
    assert env.pick_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="unknown device"):
        env.pick_device("tpu9")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            env.pick_device("cuda")


def test_seed_everything_repeats_every_stream():
    import random

    import numpy as np

    env.seed_everything(7)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    env.seed_everything(7)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_seeded_draws_depend_on_the_seed_alone_and_restore_the_callers_stream():
    torch.manual_seed(1)
    with env.seeded(5):
        a = torch.rand(3)
    after = torch.rand(3)
    torch.manual_seed(2)
    torch.rand(10)  # another history before the block
    with env.seeded(5):
        b = torch.rand(3)
    assert torch.equal(a, b)
    torch.manual_seed(1)
    assert torch.equal(torch.rand(3), after)  # the block drew nothing from the caller's stream
