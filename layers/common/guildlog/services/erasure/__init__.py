"""Erasure of a member's data in one guild: a tombstone first, then the hot table, the archive and the
exports rewritten, then a receipt (docs/data-rights.md).

- `scrub.py`: what of an event, a row or a hot item is the member's, and its redaction;
- `planner.py`: which archive days and objects hold the member;
- `rewriter.py`: the passes over the hot table, the archive datasets, the exports and attachment copies;
- `receipt.py`: the counts per dataset and day, and the verification that nothing is left;
- `job.py`: the resumable job that runs them in order, recording its progress.
"""
