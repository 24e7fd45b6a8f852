"""The server's Flask application factory: one blueprint per area.

sync       /api/v1/sync                       gateways push (token)
auth       /login /logout /lang/<code>        users (session, CSRF)
dashboard  / /centers/<id> /days /compare /export.* and their /api/v1 JSON
public     /c/<center>/t/<day>/<ticket>       a citizen's ticket status
users      /users                             managing the users of one's scope (server/scopes.py)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from . import apidoc, auth, dashboard, i18n, migrations, monthly_views, public, sync_api, users_page, web_sessions
from .db import DatabaseTrouble, engine_for, sync_engine_for
from .settings import Settings, load

# Scripts, styles and data only from this server (the pages' words ride in JSON, not inline
# script); no framing, no <base>, forms post here only.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")  # fmt: skip
SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                    ("Referrer-Policy", "same-origin"), ("Content-Security-Policy", CSP))  # fmt: skip
# Over plain HTTP the HSTS header means nothing to a browser: sent over HTTPS only.
SECURE_HEADERS = (*SECURITY_HEADERS, ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie session, left unopened for the sync API: a gateway sends its token,
    never a cookie, and reading one on every batch would cost a signer for nothing (the request
    gets Flask's null session, which nothing on that path writes)."""

    def open_session(self, app, request):
        if request.path == sync_api.SYNC_PATH:
            return None
        return super().open_session(app, request)


def create_app(settings: Settings | None = None, migrate: bool = True, clock: Callable[[], float] = time.time) -> Flask:
    """`gunicorn 'server.app:create_app()'` in production; settings from file and environment.
    `clock` is the server's (a simulated day's in the demo and the fault tests): it bounds the
    days and `taken_at` a gateway may send."""
    settings = settings or load()
    app = Flask(__name__)
    app.session_interface = CookieSessions()
    app.config.update(SECRET_KEY=settings.secret_key, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=settings.cookies_secure,
                      PERMANENT_SESSION_LIFETIME=web_sessions.ABSOLUTE_S, MAX_CONTENT_LENGTH=2_000_000,
                      JSON_SORT_KEYS=False)  # fmt: skip
    app.wsgi_app = sync_api.SyncFront(app, app.wsgi_app, SECURITY_HEADERS, SECURE_HEADERS)
    if settings.proxy_hops:  # the client's address (login throttling) and https, as the proxy saw them
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)
    app.json.ensure_ascii = False
    engine = engine_for(settings.database_url)
    if migrate:
        migrations.upgrade(engine)
    elif (at := migrations.current(engine)) < migrations.LATEST:
        raise DatabaseTrouble(f"the database is at schema version {at}, this server needs {migrations.LATEST}: "
                              "run hangcho-server migrate")  # fmt: skip
    app.extensions["hangcho.engine"] = engine
    app.extensions["hangcho.sync_engine"] = sync_engine_for(engine)
    app.extensions["hangcho.settings"] = settings
    app.extensions["hangcho.tokens"] = sync_api.TokenCache()
    app.extensions["hangcho.clock"] = clock

    for blueprint in (sync_api.bp, auth.bp, dashboard.bp, monthly_views.bp, public.bp, users_page.bp):
        app.register_blueprint(blueprint)
    app.before_request(auth.load_user)
    app.jinja_env.filters["num"] = i18n.number
    app.jinja_env.globals.update(
        t=i18n.text,
        alert_words=i18n.alert_words,
        lang=i18n.lang,
        csrf_token=auth.csrf_token,
        province=settings.province,
    )

    @app.get("/api/v1/openapi.json")
    def openapi():
        return Response(json.dumps(apidoc.served(clock()), ensure_ascii=False), mimetype="application/json")

    @app.get("/favicon.ico")
    def favicon():  # what a browser asks for before it reads a page's <link rel="icon">
        return app.send_static_file("favicon.svg")

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        if request.path.startswith("/api/") or request.path.endswith(".json"):
            body = {"error": (e.name or "error").lower().replace(" ", "_"), "reason": e.description or e.name}
            answer = Response(json.dumps(body, ensure_ascii=False), e.code, mimetype="application/json")
            for name, value in e.get_headers():  # Allow on a 405, Retry-After, …
                if name.lower() != "content-type":
                    answer.headers[name] = value
            if e.code == 401:
                answer.headers.setdefault("WWW-Authenticate", 'Cookie realm="hangcho", login="/login"')
            return answer
        return e

    @app.after_request
    def headers(response: Response) -> Response:
        """Each security header a view did not set itself (one pass over the response's headers:
        this runs on every sync)."""
        present = {name.lower() for name, _ in response.headers}
        wanted = SECURE_HEADERS if request.is_secure else SECURITY_HEADERS
        response.headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
        return response

    return app


def close(app: Flask) -> None:
    """Give back the app's database connections (tests, and a server shutting down)."""
    app.extensions["hangcho.sync_engine"].dispose()
    app.extensions["hangcho.engine"].dispose()
