"""The web viewer (WebFunction, `GET|POST /app/...`): a guild's log in a browser, signed in with Discord.

`app.py` routes a request and renders a page (Jinja2, autoescaped); `sessions.py` signs the cookies;
`oauth.py` is Discord's OAuth2 code flow with PKCE; `reads.py` reads the hot table through
`adapters.hot_reader`; `markdown.py` renders Discord markdown from escaped text; `charts.py` draws SVG.
"""
