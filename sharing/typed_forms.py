"""A refused form answered by a redirect to its own page (redirect after POST), with what was
typed and the messages waiting in the session for that page."""

from __future__ import annotations

from flask import redirect, request, session
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

TYPED_KEY = "typed_form"


def ask_again(form: FlaskForm):
    """Answer a refused form by redirecting to its own page (redirect after POST).

    What was typed and the messages wait in the session for that page, so the address bar
    names the page on screen, a reload shows it again and never re-sends the form.
    """
    typed = {key: value for key, value in request.form.items() if key != "csrf_token"}
    errors = {field.name: list(field.errors) for field in form
              if field.errors and field.name != "csrf_token"}
    session[TYPED_KEY] = {"path": request.path, "typed": typed, "errors": errors}
    return redirect(request.full_path.rstrip("?"))


def restore_typed(form: FlaskForm) -> bool:
    """Fill a page's form with what was typed on it and refused (see `ask_again`)."""
    kept = session.get(TYPED_KEY)
    if request.method != "GET" or not kept or kept["path"] != request.path:
        return False
    form.process(formdata=MultiDict(kept["typed"]))
    for name, errors in kept["errors"].items():
        if name in form:
            form[name].errors = errors
    return True
