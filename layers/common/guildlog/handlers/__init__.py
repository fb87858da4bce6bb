"""Glue shared by the Lambda entry points: settings, the composition root, HTTP answers."""
