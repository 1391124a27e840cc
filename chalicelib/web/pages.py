"""Server-rendered HTML pages. Self-contained: no CDN, no external requests, works offline."""

from __future__ import annotations

from html import escape

from chalice import Response

from chalicelib import runtime

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem; color: #1a1a1a; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #ccc; }}
.sample {{ background: #fff3cd; color: #5c4400; padding: .1rem .4rem; border-radius: .2rem; font-size: .85em; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""


def html_response(title: str, body: str, status: int = 200) -> Response:
    return Response(
        body=_PAGE.format(title=escape(title), body=body),
        status_code=status,
        headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "public, max-age=60"},
    )


def index_page() -> Response:
    """The leaderboard's entry page: which companies are tracked (sample ones clearly labelled)."""
    companies = sorted(runtime.registry().values(), key=lambda c: c.name.casefold())
    rows = "\n".join(
        f"<tr><td>{escape(c.name)}{' <span class=sample>sample data</span>' if c.sample else ''}</td>"
        f"<td>{escape(c.sector or '')}</td><td>{', '.join(sorted(c.handles))}</td></tr>"
        for c in companies
        if not c.retired
    )
    body = (
        "<h1>Fair Reply</h1>"
        "<p>How fast companies answer complaints on social media, and whether famous customers get faster answers.</p>"
        '<table><caption>Tracked companies</caption><thead><tr><th scope="col">Company</th>'
        '<th scope="col">Sector</th><th scope="col">Platforms</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )
    return html_response("Fair Reply", body)
