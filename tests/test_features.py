"""Feature extractors: the judge's features, pixels, random weights, batching, and Inception-v3's offline failures."""

from __future__ import annotations

import hashlib
import http.server
import socket
import sys
import threading
import time

import pytest
import torch

from gan_tutor import features, metrics
from gan_tutor.classifier import load_digit_classifier


@pytest.fixture(scope="module")
def digits():
    g = torch.Generator().manual_seed(0)
    return torch.rand(12, 1, 28, 28, generator=g)


def test_digit_features_are_the_judges_penultimate_layer(digits):
    judge = load_digit_classifier()
    ex = features.DigitFeatures(judge)
    with torch.no_grad():
        f, p = ex(digits), ex.probs(digits)
        expected = judge.features(digits)
    assert ex.num_features == 128 and f.shape == (12, 128) and torch.equal(f, expected)
    assert p.shape == (12, 10) and torch.allclose(p.sum(1), torch.ones(12))
    ex.train()
    assert not ex.training and not judge.training  # a fixed yardstick: batch norm never switches to batch statistics
    with pytest.raises(ValueError, match=r"\(x \+ 1\) / 2"):
        ex(digits * 2 - 1)


def test_pixel_and_random_features(digits):
    px = features.PixelFeatures()
    assert px.num_features == 784 and torch.equal(px(digits), digits.flatten(1))
    with pytest.raises(ValueError, match=r"expected \(N, 1, 28, 28\)"):
        px(torch.rand(2, 1, 32, 32))
    state = torch.random.get_rng_state()
    a, b, c = features.random_digit_features(0), features.random_digit_features(0), features.random_digit_features(1)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global random stream is left alone
    with torch.no_grad():
        assert torch.equal(a(digits), b(digits)) and not torch.equal(a(digits), c(digits))
        assert not torch.allclose(a(digits), features.DigitFeatures()(digits))


def test_extract_in_batches_equals_one_pass(digits):
    ex = features.DigitFeatures()
    with torch.no_grad():
        whole = ex(digits)
    assert torch.allclose(metrics.extract(ex, digits, batch_size=5), whole, atol=1e-6)
    with pytest.raises(ValueError, match="N = 0"):
        metrics.extract(ex, digits[:0])


class _StandIn(torch.nn.Module):  # torch-fidelity's interface: uint8 (N, 3, H, W) -> (features, logits)
    def forward(self, x):
        assert x.dtype == torch.uint8 and x.shape[1] == 3
        f = x.double().mean(dim=(2, 3))
        return f, torch.cat([f, -f], dim=1)


def test_inception_wrapper_feeds_8_bit_rgb_and_checks_the_range():
    x = torch.tensor([0.0, 0.5, 0.2, 1.0]).view(1, 1, 2, 2)
    rgb = features.InceptionFeatures.to_uint8_rgb(x)
    assert rgb.dtype == torch.uint8 and rgb.shape == (1, 3, 2, 2)
    assert rgb[0, :, 0].tolist() == [[0, 128]] * 3 and rgb[0, 2, 1].tolist() == [51, 255]  # rounded: 127.5 -> 128
    ex = features.InceptionFeatures(_StandIn())
    assert ex(x).shape == (1, 3) and torch.allclose(ex.probs(x).sum(1), torch.ones(1, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"expected \[0, 1\]"):
        ex(x * 255)
    with pytest.raises(ValueError, match="1 or 3"):
        ex(torch.rand(1, 2, 4, 4))


def _serve(handler_cls):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_cls)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/{features.INCEPTION_FILE}"


def _handler(body: bytes):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


def test_offline_inception_fails_at_once_with_the_fix(tmp_path, monkeypatch):
    pytest.importorskip("torch_fidelity", reason="torch-fidelity is not installed")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty cache: the weights must be fetched
    start = time.perf_counter()
    with pytest.raises(features.FeatureExtractorUnavailable, match="could not fetch.*weights_path=") as e:
        features.inception_v3(timeout=5)
    assert time.perf_counter() - start < 5  # the test's socket guard refuses the connection, as an offline machine does
    assert str(features.inception_cache_path()) in str(e.value) and "DigitFeatures" in str(e.value)
    assert not any(tmp_path.rglob("*.part")) and not features.inception_cache_path().exists()


def test_a_server_that_never_answers_times_out_instead_of_hanging(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection, never sends a byte
    try:
        start = time.perf_counter()
        with pytest.raises(features.FeatureExtractorUnavailable, match="timed out"):
            features.download_inception_weights(tmp_path / "w.pth", url=f"http://127.0.0.1:{listener.getsockname()[1]}/w", timeout=0.5)
        assert time.perf_counter() - start < 10
    finally:
        listener.close()
    assert list(tmp_path.iterdir()) == []  # no half file


def test_download_is_verified_then_renamed(tmp_path, monkeypatch):
    body = b"not the inception weights" * 100
    server, url = _serve(_handler(body))
    try:
        with pytest.raises(features.FeatureExtractorUnavailable, match="damaged or different file"):
            features.download_inception_weights(tmp_path / "w.pth", url=url, timeout=5)
        assert list(tmp_path.iterdir()) == []
        monkeypatch.setattr(features, "INCEPTION_SHA256_PREFIX", hashlib.sha256(body).hexdigest()[:8])
        path = features.download_inception_weights(tmp_path / "w.pth", url=url, timeout=5)
        assert path.read_bytes() == body and [p.name for p in tmp_path.iterdir()] == ["w.pth"]
    finally:
        server.shutdown()


def test_local_weights_are_checked(tmp_path, monkeypatch):
    pytest.importorskip("torch_fidelity", reason="torch-fidelity is not installed")
    with pytest.raises(features.FeatureExtractorUnavailable, match="do not exist.*download"):
        features.inception_v3(weights_path=tmp_path / "missing.pth")
    wrong = tmp_path / "other.pth"
    torch.save({"w": torch.zeros(2)}, wrong)
    with pytest.raises(features.FeatureExtractorUnavailable, match="not the Inception-v3 FID weights"):
        features.inception_v3(weights_path=wrong)


def test_without_torch_fidelity_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)
    monkeypatch.setitem(sys.modules, "torch_fidelity.feature_extractor_inceptionv3", None)
    with pytest.raises(features.FeatureExtractorUnavailable, match="pip install torch-fidelity"):
        features.inception_v3()


def test_inception_v3_runs_torch_fidelitys_network_end_to_end(tmp_path, monkeypatch):
    """The whole path with torch-fidelity's real Inception-v3 (random weights: the true ones need the internet once)."""
    fidelity = pytest.importorskip("torch_fidelity.feature_extractor_inceptionv3", reason="torch-fidelity is not installed")
    weights = tmp_path / features.INCEPTION_FILE
    torch.save({"stand-in": torch.zeros(1)}, weights)
    monkeypatch.setattr(features, "INCEPTION_SHA256_PREFIX", hashlib.sha256(weights.read_bytes()).hexdigest()[:8])
    monkeypatch.setattr(fidelity.FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None)
    torch.manual_seed(0)
    ex = features.inception_v3(weights_path=weights)
    x = torch.rand(2, 1, 28, 28)
    f, p = ex(x), ex.probs(x)
    assert ex.num_features == 2048 and f.shape == (2, 2048) and torch.isfinite(f).all()
    assert p.shape == (2, 1008) and torch.allclose(p.sum(1), torch.ones(2, dtype=torch.float64))
