"""The embedded local stack (`guildlog dev`, `guildlog demo`): moto, loopback HTTP, template.yaml's own definitions.

Dev-only dependencies (moto, duckdb, PyYAML) are imported inside the functions that use them;
no Lambda code path imports this package.
"""
