"""Execution: generate atoms in dependency order, validate at four levels, retry, review."""
