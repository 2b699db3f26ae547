"""Retrieval of examples for prompts: a local sentence embedding and a Chroma collection."""
