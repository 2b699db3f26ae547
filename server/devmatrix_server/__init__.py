"""DevMatrix backend server: FastAPI app over the engine."""
