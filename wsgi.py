"""Entry point for gunicorn and `flask --app wsgi`."""

from ringround import create_app

app = create_app()
