"""The simulator: the same interface as Twilio, on a phone network kept in the database."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select

from ringround.extensions import db
from ringround.models import SimCall, SimText
from sms.provider.base import (
    UNSUBSCRIBED_RECIPIENT,
    ProviderError,
    ProviderState,
    SentText,
    TelephonyProvider,
)
from sms.provider.steps import CallRequest

SIMULATED_ACCOUNT_SID = "AC" + "5" * 32
SIMULATED_DEFAULT_NUMBER = "+15005550006"
_CARRIER_STOP = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit"}
_CARRIER_START = {"start", "yes", "unstop"}


def new_sid(prefix: str) -> str:
    """A SID shaped like Twilio's: two letters and 32 hex characters."""
    return prefix + secrets.token_hex(16)


class SimulatedProvider(TelephonyProvider):
    """Records texts and calls on simulated phones; the simulator page plays the other side."""

    is_simulated = True
    account_sid = SIMULATED_ACCOUNT_SID

    def __init__(self, default_from: str | None, calls_per_second: float = 1000.0,
                 token: str | None = None, secret_key: str = ""):
        super().__init__(default_from or SIMULATED_DEFAULT_NUMBER, calls_per_second)
        self._token = token or hmac.new(
            secret_key.encode(), b"ringround-simulator-v1", hashlib.sha256
        ).hexdigest()[:32]

    def signature_token(self) -> str:
        return self._token

    def send_sms(self, to: str, body: str, from_number: str | None = None,
                 status_callback: str | None = None) -> str:
        sender = from_number or self.default_from
        if self._carrier_blocked(to, sender):
            # What Twilio answers after the person texted STOP to this number.
            raise ProviderError("Attempt to send to unsubscribed recipient",
                                UNSUBSCRIBED_RECIPIENT)
        text = SimText(sid=new_sid("SM"), direction="outbound-api", to_number=to,
                       from_number=sender, body=body, status="sent",
                       status_callback=status_callback)
        db.session.add(text)
        db.session.flush()
        return text.sid

    def _carrier_blocked(self, to: str, sender: str) -> bool:
        last = db.session.scalars(
            select(SimText.body).where(
                SimText.direction == "inbound", SimText.from_number == to,
                SimText.to_number == sender,
            ).order_by(SimText.id.desc())
        ).all()
        for body in last:
            word = body.strip().lower()
            if word in _CARRIER_STOP:
                return True
            if word in _CARRIER_START:
                return False
        return False

    def place_call(self, request: CallRequest) -> str:
        call = SimCall(
            sid=new_sid("CA"), direction="outbound-api", to_number=request.to,
            from_number=request.from_number, status="ringing", phase="ringing",
            params={
                "url": request.answer_url, "status_callback": request.status_callback,
                "status_events": list(request.status_events), "timeout": request.timeout,
                "machine_detection": request.machine_detection,
                "amd_callback": request.amd_callback, "async_amd": True,
            },
        )
        db.session.add(call)
        db.session.flush()
        return call.sid

    def hang_up(self, call_sid: str) -> None:
        call = db.session.scalar(select(SimCall).where(SimCall.sid == call_sid))
        if call is not None:
            call.params = {**call.params, "hangup_requested": True}

    def fetch_call(self, call_sid: str) -> ProviderState | None:
        status = db.session.scalar(select(SimCall.status).where(SimCall.sid == call_sid))
        return ProviderState(status) if status else None

    def fetch_text(self, message_sid: str) -> ProviderState | None:
        status = db.session.scalar(select(SimText.status).where(SimText.sid == message_sid))
        return ProviderState(status) if status else None

    @property
    def outbox(self) -> list[SentText]:
        """Texts sent so far (oldest first), as the seed's in-memory outbox showed them."""
        rows = db.session.scalars(
            select(SimText).where(SimText.direction == "outbound-api").order_by(SimText.id)
        )
        return [SentText(t.sid, t.to_number, t.body, t.from_number, t.created_at) for t in rows]
