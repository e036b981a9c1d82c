"""The application factory: one screen that names every part of Ringround."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import pwa
import sharing
import sms
import web
from ringround.background import init_queue
from ringround.cli import register_cli
from ringround.config import build_config, check_dev_mode
from ringround.extensions import babel, csrf, db, htmx, limiter, login_manager, migrate
from ringround.forking import track_engine
from ringround.keys import derive_keys, install_keys
from ringround.migration_types import render_item
from ringround.queue._sql import RULES
from ringround.sessions import load_user
from web.language import page_locale

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def create_app(overrides: dict | None = None, instance_path: str | None = None) -> Flask:
    """Build a Ringround app; `overrides` replaces settings (tests use it)."""
    app = Flask(
        __name__, instance_path=instance_path or os.environ.get("INSTANCE_PATH") or None,
        static_folder=None,
    )
    app.config.from_mapping(build_config(Path(app.instance_path)))
    app.config.update(overrides or {})
    check_dev_mode(app.config)
    install_keys(derive_keys(app.config["SECRET_KEY"]))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config["BEHIND_PROXY"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1)

    register_extensions(app)
    register_web(app)
    register_blueprints(app)
    register_commands(app)
    register_jobs(app)
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():  # a forked worker (gunicorn --preload) opens connections of its own
        for engine in db.engines.values():
            track_engine(engine)
    migrate.init_app(
        app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True, compare_type=True,
        render_item=render_item,
    )
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=page_locale)
    # Flask-Babel keeps loaded catalogues on the (module-wide) extension, not per app: a new
    # app must not see another app's translations (tests make many apps in one process).
    with app.app_context():
        babel.domain_instance.cache.clear()
    # The queue's rules cache is module-wide too, keyed by (operation id, updated_at): a new
    # app may use another database with the same ids and times (tests under a frozen clock).
    RULES.clear()
    htmx.init_app(app)
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"


def register_web(app: Flask) -> None:
    """The base every page stands on: error pages, security headers, formats, layout."""
    web.register(app)


def register_blueprints(app: Flask) -> None:
    pwa.register(app)
    sharing.register(app)
    sms.register(app)


# Modules that declare background jobs: imported so that every worker knows every job.
JOB_MODULES = ("ringround.background", "ringround.people.jobs", "ringround.periodic_jobs",
               "sms.jobs", "sms.voice.legs", "sms.outbound", "sms.voice.bridge", "sms.reconcile")


def register_jobs(app: Flask) -> None:
    init_queue(app)
    for module in JOB_MODULES:
        importlib.import_module(module)


def register_commands(app: Flask) -> None:
    register_cli(app)
