"""Same seed, same result, on a CPU with two threads, at the cpu tier's widths.

The conditional and self-conditioned GANs used to differ between two identical runs on two threads: the
backward of advanced indexing (``V[y]`` in the projection discriminator) adds the gradients of repeated labels
in whatever order the threads finish. These tests train every registered model at the cpu tier's network widths
and batch size (a few steps, on a slice of the data) with two threads, and compare bit for bit: two uninterrupted
runs, and a run interrupted and resumed from its checkpoint.
"""

from __future__ import annotations

import pytest
import torch

from gan_tutor import models, selfcond
from gan_tutor.data import load_dataset

STEPS, N = 8, 512


@pytest.fixture(scope="module")
def digits():
    d = load_dataset("mnist-5k", "train")
    return d.images[:N], d.labels[:N]


def weights(state) -> dict[str, torch.Tensor]:
    return {f"{name}/{k}": v.detach().clone() for name, m in state.modules.items() for k, v in m.state_dict().items()}


def cpu_config(name: str):
    spec = models.get_model(name)
    # the cpu tier's widths and batch size; dcgan's clusters by k-means, which is quicker on a slice than spectral
    return spec, spec.config("cpu", **({"cluster_method": "kmeans"} if name == "dcgan" else {}))


def run(name, digits, run_dir=None, steps=STEPS):
    spec, cfg = cpu_config(name)
    images, labels = digits
    return spec.train(cfg, images, labels if spec.conditional else None, data="slice", run_dir=run_dir, steps=steps,
                      progress=False, checkpoint_every=3)


@pytest.mark.usefixtures("two_threads")
@pytest.mark.parametrize("name", ["gan", "dcgan", "cgan", "vae", "stylegan"])
def test_two_runs_and_a_resumed_run_are_bit_identical_on_two_threads(name, digits, tmp_path, monkeypatch):
    assert torch.get_num_threads() == 2
    found = {}
    clusters = selfcond.cluster_labels  # the clusters are found once: what is tested is the training

    def cluster_once(images, k, seed, **kw):
        if k not in found:
            found[k] = clusters(images, k, seed, **kw)
        return found[k]

    monkeypatch.setattr(selfcond, "cluster_labels", cluster_once)
    first = weights(run(name, digits))
    second = weights(run(name, digits))
    assert first.keys() == second.keys()
    assert [k for k in first if not torch.equal(first[k], second[k])] == []
    run(name, digits, tmp_path / "run", steps=5)  # stopped after step 5 (checkpoint at 5 on the way out)
    resumed = weights(run(name, digits, tmp_path / "run"))
    assert [k for k in first if not torch.equal(first[k], resumed[k])] == []


@pytest.mark.usefixtures("two_threads")
def test_the_projection_term_has_a_deterministic_backward():
    """The operation that was not: many repeated labels, the gradient of V summed over them, twenty times."""
    torch.manual_seed(0)
    V = torch.randn(10, 3136, requires_grad=True)
    phi, y = torch.randn(128, 3136), torch.randint(10, (128,))
    grads = []
    for _ in range(20):
        V.grad = None
        selfcond.projection_logits(torch.zeros(128), phi, V, y).sum().backward()
        grads.append(V.grad.clone())
    assert all(torch.equal(grads[0], g) for g in grads)
    # and it is the same quantity: the gradient of sum_i <V_{y_i}, phi_i> is sum of phi_i over each class
    expected = torch.zeros_like(V).index_add_(0, y, phi)
    assert torch.allclose(grads[0], expected, atol=1e-5)
