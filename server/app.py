"""The server's Flask application factory: one blueprint per area."""

from __future__ import annotations

from flask import Flask

from . import migrations
from .db import engine_for
from .settings import Settings, load


def create_app(settings: Settings | None = None, migrate: bool = True) -> Flask:
    """`gunicorn 'server.app:create_app()'` in production; settings from file and environment."""
    settings = settings or load()
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      MAX_CONTENT_LENGTH=2_000_000)  # fmt: skip
    engine = engine_for(settings.database_url)
    if migrate:
        migrations.upgrade(engine)
    app.extensions["hangcho.engine"] = engine
    app.extensions["hangcho.settings"] = settings

    from . import sync_api

    app.register_blueprint(sync_api.bp)
    return app
