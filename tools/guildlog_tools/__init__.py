"""Developer tooling, never shipped to Lambda: the `guildlog` CLI, the embedded local stack and its fakes."""
