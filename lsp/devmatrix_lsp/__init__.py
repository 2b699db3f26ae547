"""DevMatrix language server. Talks to a backend over HTTP + WebSocket; never imports the engine."""

__version__ = "0.1.0"
