"""guildlog: a serverless, lossless Discord logger."""

__version__ = "0.1.0"
