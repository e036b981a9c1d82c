"""Voice flows: bridged calls, call-backs and call-in shifts, as provider-neutral steps."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from sms.provider.steps import Hangup, Say, VoiceStep


def answer_inbound_call(session: Session, form: Mapping[str, str]) -> list[VoiceStep]:
    """What a caller to a campaign number hears."""
    return [Say(_("This number does not take calls. Goodbye.")), Hangup()]
