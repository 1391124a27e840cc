"""The page shell every HTML page shares, its security headers, and the window/platform switches.

The Content-Security-Policy allows only this origin's own stylesheet and script (no inline script, no
inline style, no other host): the page can make no external request even if a value slipped through
escaping, and it works offline.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from urllib.parse import urlencode

from chalice import Response

from chalicelib.api import caching
from chalicelib.api.params import PLATFORM_CHOICES, WINDOWS
from chalicelib.web.format import PLATFORM_LABELS, WINDOW_LABELS

HTML = "text/html; charset=utf-8"
CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

_SHELL = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/site.css">
<script src="/static/sort.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="site">
<p class="brand"><a href="/">Fair Reply</a></p>
<nav aria-label="Site"><ul>
<li><a href="/">Leaderboard</a></li>
<li><a href="/v1/methodology">Methodology</a></li>
<li><a href="/v1/openapi.json">API</a></li>
</ul></nav>
</header>
<main id="main">
{body}
</main>
<footer class="site">
<p>Fair Reply measures how fast companies answer complaints on social media and whether famous customers
get faster answers. Every figure is open data: see the <a href="/v1/methodology">methodology</a> and the
<a href="/v1/openapi.json">API description</a>.</p>
</footer>
</body>
</html>
"""


def document(title: str, body: str) -> str:
    """A whole page; ``body`` is trusted markup built by this package, ``title`` is escaped here."""
    return _SHELL.format(title=escape(title), body=body)


def html_response(headers: Mapping[str, str] | None, title: str, body: str) -> Response:
    """A page with the API's caching (ETag, 304, max-age) and the security headers."""
    return caching.cached(headers, document(title, body), HTML, extra=SECURITY_HEADERS)


def error_response(status: int, title: str, message: str) -> Response:
    body = f'<h1>{escape(title)}</h1>\n<p class="error">{escape(message)}</p>\n<p><a href="/">Back to the leaderboard</a></p>'
    return Response(
        body=document(title, body), status_code=status,
        headers={"Content-Type": HTML, "Cache-Control": "no-store", **SECURITY_HEADERS},
    )


def url(path: str, **values: str | None) -> str:
    """``path`` with a query string of the non-empty values, in the order given (escape it for HTML)."""
    encoded = urlencode({k: v for k, v in values.items() if v})
    return f"{path}?{encoded}" if encoded else path


def switches(action: str, window: str, platform: str) -> str:
    """A GET form with labelled selects (works without script) plus one-click links for the windows."""
    def options(choices: tuple[str, ...], labels: Mapping[str, str], chosen: str) -> str:
        return "".join(
            f'<option value="{c}"{" selected" if c == chosen else ""}>{escape(labels[c])}</option>' for c in choices
        )

    current = ' aria-current="page"'
    links = "".join(
        f'<li><a href="{escape(url(action, window=w, platform=None if platform == "all" else platform))}"'
        f'{current if w == window else ""}>{escape(WINDOW_LABELS[w])}</a></li>'
        for w in WINDOWS
    )
    return (
        f'<form class="switches" method="get" action="{escape(action)}">'
        f'<span class="field"><label for="window">Period</label> <select id="window" name="window">'
        f"{options(WINDOWS, WINDOW_LABELS, window)}</select></span>"
        f'<span class="field"><label for="platform">Platform</label> <select id="platform" name="platform">'
        f"{options(PLATFORM_CHOICES, PLATFORM_LABELS, platform)}</select></span>"
        '<button type="submit">Show</button></form>'
        f'<nav aria-label="Period"><ul class="windows">{links}</ul></nav>'
    )


def sample_banner() -> str:
    return (
        '<p class="banner" role="note"><strong>Sample data.</strong> Companies marked '
        '<span class="sample">sample data</span> are fictional; their complaints are simulated to demonstrate '
        "the method. Their figures say nothing about any real company.</p>"
    )
