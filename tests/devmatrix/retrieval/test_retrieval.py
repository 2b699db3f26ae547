"""Offline embeddings and the embedded Chroma store: real model weights, real Chroma folder."""

from __future__ import annotations

import numpy as np
import pytest

from devmatrix.config import load_settings
from devmatrix.errors import ConfigError
from devmatrix.retrieval.embedding import default_encoder
from devmatrix.retrieval.store import Example, ExampleStore


def test_embeddings_are_unit_vectors_that_track_meaning() -> None:
    vectors = default_encoder().encode(
        ["A man is eating food.", "A man is eating a piece of bread.", "The stock market fell."]
    )
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    # The model card's example pair scores about 0.755 with the reference implementation.
    assert similarity[0, 1] == pytest.approx(0.755, abs=0.01)
    assert similarity[0, 2] < 0.2


def test_padding_does_not_change_an_embedding() -> None:
    encoder = default_encoder()
    alone = encoder.encode(["def add(a, b): return a + b"])[0]
    padded = encoder.encode(["def add(a, b): return a + b", "a much longer text " * 20])[0]
    assert np.allclose(alone, padded, atol=1e-4)


def test_store_finds_the_nearest_example_and_persists() -> None:
    settings = load_settings()
    store = ExampleStore(settings)
    store.add(
        [
            Example("add", "def add(a, b):\n    return a + b", {"lang": "python"}),
            Example("cfg", "def read_config(path):\n    return json.loads(path.read_text())", {}),
        ]
    )
    best, distance = store.search("a function that sums two numbers", limit=2)[0]
    assert best.id == "add"
    assert distance < 0.8
    assert ExampleStore(settings).count() == 2  # reopened from the same folder


def test_bad_chroma_url_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="DEVMATRIX_CHROMA_URL"):
        ExampleStore(load_settings(chroma_url="not a url"))
