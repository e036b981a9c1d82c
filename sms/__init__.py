"""Everything that crosses the phone network: the telephony provider and its webhooks."""

from flask import Blueprint

bp = Blueprint("sms", __name__, url_prefix="/telephony", template_folder="templates")
