"""The live moderation log: which rows are posted, and the embed each kind of event becomes.

`kinds.kind_of(row)` names a row's log kind (or None: not posted); `render.render(row, context)`
turns it into one embed (and, for a bulk delete, a transcript file), one renderer per kind in
`messages`, `members`, `server` and `voice`. Rows are read as dicts (the SQS message carries the
row's JSON), so columns added later (`changes`) are read when present and never required.
"""
