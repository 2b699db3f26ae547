"""Credentials: JWTs, password hashing and policy, TOTP, personal access tokens, sessions, lockout."""
