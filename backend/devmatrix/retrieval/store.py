"""Examples of validated code kept in Chroma (embedded by default, a Chroma server by URL), found
again by meaning to give the model worked examples in its prompt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from devmatrix.config import Settings
from devmatrix.errors import ConfigError
from devmatrix.retrieval.embedding import default_encoder

COLLECTION = "devmatrix_examples"


@dataclass(frozen=True)
class Example:
    """A piece of validated code and what it does."""

    id: str
    text: str
    metadata: dict[str, str]


class _ChromaEmbedding:
    """Adapter giving Chroma our offline encoder instead of its downloading default."""

    def __init__(self) -> None:
        self._encoder = default_encoder()

    def __call__(self, input: list[str]) -> list[Any]:
        return list(self._encoder.encode(list(input)))

    @staticmethod
    def name() -> str:
        return "devmatrix-minilm-numpy"

    def is_legacy(self) -> bool:
        return False

    def supported_spaces(self) -> list[str]:
        return ["cosine", "l2", "ip"]

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> _ChromaEmbedding:
        return _ChromaEmbedding()

    def embed_query(self, input: list[str]) -> list[Any]:
        return self(input)


class ExampleStore:
    """One Chroma collection of examples."""

    def __init__(self, settings: Settings) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if settings.chroma_url:
            url = urlparse(settings.chroma_url)
            if not url.hostname:
                raise ConfigError(
                    f"DEVMATRIX_CHROMA_URL is not a URL: {settings.chroma_url!r}.",
                    "Use e.g. http://127.0.0.1:8000, or unset it for embedded Chroma.",
                )
            self.client: Any = chromadb.HttpClient(
                host=url.hostname,
                port=url.port or 8000,
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            self.implementation = f"chroma server {settings.chroma_url}"
        else:
            settings.chroma_path.mkdir(parents=True, exist_ok=True)
            self.client = chromadb.PersistentClient(
                path=str(settings.chroma_path), settings=chroma_settings
            )
            self.implementation = f"chroma embedded {settings.chroma_path}"
        self.collection = self.client.get_or_create_collection(
            COLLECTION, embedding_function=_ChromaEmbedding(), metadata={"hnsw:space": "cosine"}
        )

    def add(self, examples: list[Example]) -> None:
        """Add or replace examples by id."""
        if examples:
            self.collection.upsert(
                ids=[e.id for e in examples],
                documents=[e.text for e in examples],
                metadatas=[e.metadata or {"kind": "example"} for e in examples],
            )

    def search(self, query: str, limit: int = 3) -> list[tuple[Example, float]]:
        """The examples nearest in meaning to `query`, with their cosine distance."""
        count = self.collection.count()
        if count == 0:
            return []
        found = self.collection.query(query_texts=[query], n_results=min(limit, count))
        results = []
        for id_, text, meta, distance in zip(
            found["ids"][0],
            found["documents"][0],
            found["metadatas"][0],
            found["distances"][0],
            strict=True,
        ):
            results.append(
                (Example(id_, text, {k: str(v) for k, v in meta.items()}), float(distance))
            )
        return results

    def count(self) -> int:
        """How many examples are stored."""
        return int(self.collection.count())
