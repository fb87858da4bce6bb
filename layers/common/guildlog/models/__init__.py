"""Pydantic models, no I/O: our own envelopes and rows (extra="forbid") and inbound Discord shapes (extra="ignore")."""
