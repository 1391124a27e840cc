"""Fair Reply's Chalice app: wiring only. Each handler calls one function in chalicelib.

Handlers import their modules on first call so that a cold start pays only for what it serves.
"""

from chalice import Chalice, Rate, Response

from chalicelib.api.routes import api
from chalicelib.jobs.schedules import SCHEDULES, lambda_handler
from chalicelib.notify.routes import subscriptions
from chalicelib.runtime import freeze_startup_heap, preload

app = Chalice(app_name="fair-reply")
app.register_blueprint(subscriptions)
app.register_blueprint(api)


@app.route("/", methods=["GET"])
def index() -> Response:
    from chalicelib.web.pages import index_page

    return index_page(app.current_request)


@app.route("/companies/{slug}", methods=["GET"])
def company_html_page(slug: str) -> Response:
    from chalicelib.web.pages import company_page

    return company_page(app.current_request, slug)


@app.route("/static/{name}", methods=["GET"])
def static_file(name: str) -> Response:
    from chalicelib.web.pages import static_asset

    return static_asset(app.current_request, name)


@app.route("/health", methods=["GET"])
def health() -> Response:
    from chalicelib.health import health_response

    return health_response()


@app.on_sns_message(topic="fair-reply-ses-events", name="ses_events")
def ses_events(event: object) -> None:
    """SES bounces and complaints, delivered through SNS, suppress the address."""
    from chalicelib.notify.bounces import handle_sns_event

    handle_sns_event(event)


for _schedule in SCHEDULES:
    app.schedule(Rate(_schedule.minutes, unit=Rate.MINUTES), name=_schedule.name, description=_schedule.description)(
        lambda_handler(_schedule)
    )

preload()  # the modules nearly every request needs, so that the first one does not wait for them (see runtime)
# Everything loaded so far lives as long as the process: keep it out of garbage collection (see runtime).
freeze_startup_heap()
