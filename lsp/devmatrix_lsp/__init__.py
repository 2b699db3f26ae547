"""DevMatrix language server. Talks to a backend over HTTP + WebSocket; never imports the engine."""
