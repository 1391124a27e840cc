"""Fair Reply's Chalice app: wiring only. Each handler calls one function in chalicelib.

Handlers import their modules on first call so that a cold start pays only for what it serves.
"""

from chalice import Chalice, Response

app = Chalice(app_name="fair-reply")


@app.route("/", methods=["GET"])
def index() -> Response:
    from chalicelib.web.pages import index_page

    return index_page()


@app.route("/health", methods=["GET"])
def health() -> Response:
    from chalicelib.health import health_response

    return health_response()
