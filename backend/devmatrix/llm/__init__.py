"""The LLM layer: one provider interface, its providers, and the client that adds cache, budget and usage."""
