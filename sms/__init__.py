"""Everything that crosses the phone network: the telephony provider and its webhooks."""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_babel import lazy_gettext as _l

from ringround.bridging import register_campaign_line
from ringround.extensions import csrf
from ringround.texting import register_texting
from sms.cli import telephony_cli
from sms.provider import build_provider
from sms.simulator_views import sim
from sms.texting import ProviderTexting
from sms.voice.bridge import SmsCampaignLine
from sms.webhooks import hooks
from web.nav import add_console_nav

bp = Blueprint("sms", __name__, url_prefix="/telephony", template_folder="templates",
               static_folder="static", static_url_path="/static")


def register(app: Flask) -> None:
    """Check the telephony settings (a clear error now, not mid-call) and add the routes."""
    # Imported here, not above: it adds the console's routes to `bp`, which it imports.
    import sms.views  # noqa: F401

    app.extensions["telephony"] = build_provider(app)
    register_texting(ProviderTexting())
    register_campaign_line(SmsCampaignLine())
    app.register_blueprint(bp)
    app.register_blueprint(sim)
    add_console_nav("sms.settings", _l("Phone line"))
    app.cli.add_command(telephony_cli)
    # Only the webhooks go without CSRF: each of them checks the provider's signature.
    csrf.exempt(hooks)
    app.register_blueprint(hooks)
