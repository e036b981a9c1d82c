"""Every HTML page: the organizer console and the caller app."""

from __future__ import annotations

from flask import Flask

# The console's route modules add their routes to their blueprint (`contacts.bp`,
# `operation_pages.bp`) when imported: every one of them is imported here, before registering.
from pwa.auth import bp as auth_bp
from pwa.caller import bp as caller_bp
from pwa.caller.share_contact import bp as share_contact_bp
from pwa.console import (  # noqa: F401
    contact_editing,
    contact_imports,
    contact_page,
    operation_dashboard,
    operation_people,
    operation_questions,
    operation_wizard,
)
from pwa.console.audit_log import bp as audit_bp
from pwa.console.audit_log import register_nav as register_audit_nav
from pwa.console.contacts import bp as contacts_bp
from pwa.console.contacts import register_nav as register_contacts_nav
from pwa.console.failed_jobs import bp as failed_jobs_bp
from pwa.console.operation_pages import bp as operations_bp
from pwa.console.operation_pages import register_nav as register_operations_nav
from pwa.console.overview import bp as console_bp
from pwa.console.overview import register_nav as register_console_nav
from pwa.shell import bp as shell_bp


def register(app: Flask) -> None:
    """Register the console's and the caller app's blueprints and navigation."""
    app.register_blueprint(shell_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(console_bp)
    app.register_blueprint(caller_bp)
    app.register_blueprint(share_contact_bp)
    app.register_blueprint(contacts_bp)
    app.register_blueprint(failed_jobs_bp)
    register_contacts_nav()
    app.register_blueprint(operations_bp)
    register_operations_nav()
    register_console_nav()
    app.register_blueprint(audit_bp)
    register_audit_nav()
