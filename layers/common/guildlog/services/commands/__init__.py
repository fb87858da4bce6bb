"""Slash commands: definitions (one source for registration and routing), one module per command, the
interaction use case (`app.py`) and the deferred work the worker finishes (`worker.py`).

`protocol.py` is the only module here that the PING path imports: stdlib only, no pydantic, no boto3.
"""
