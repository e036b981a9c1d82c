"""The simulated phone network: plays the other side of every call and text.

It answers, rings busy or out, plays voicemail, presses keys and replies to texts, and reports
each event to Ringround through the very same webhooks Twilio would call, signed the same way.
It reads and runs the TwiML those webhooks answer, like Twilio does (Say, Play, Pause, Gather,
Dial/Number with url, statusCallback and AMD, Redirect, Hangup; Message for texts).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import select

from ringround.extensions import db
from ringround.models import SimCall, SimText
from sms.links import hook_url
from sms.provider.simulated import SimulatedProvider, new_sid

MACHINE = {"Enable": "machine_start", "DetectMessageEnd": "machine_end_beep"}


class SimulatorError(ValueError):
    """An action that does not fit the call's state (e.g. answering a finished call)."""


class SimulatedNetwork:
    """Drive simulated phones. Commits the caller's session before each webhook."""

    def __init__(self, app: Flask):
        provider = app.extensions["telephony"]
        if not isinstance(provider, SimulatedProvider):
            raise SimulatorError("The simulator is not the active telephony provider.")
        self.app, self.provider = app, provider

    # --- plumbing -----------------------------------------------------------------------

    def _post(self, url: str, params: dict[str, str]) -> str:
        """POST a signed webhook to Ringround, as Twilio would; returns the response body."""
        db.session.commit()
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"X-Twilio-Signature": self.provider.sign(url, params)}
        with self.app.app_context():
            client = self.app.test_client()
            response = client.post(path, base_url=f"{parts.scheme}://{parts.netloc}",
                                   data=params, headers=headers)
        db.session.expire_all()
        if response.status_code >= 400:
            raise SimulatorError(f"webhook {parts.path} answered {response.status_code}")
        return response.get_data(as_text=True)

    def call(self, sid: str) -> SimCall:
        call = db.session.scalar(select(SimCall).where(SimCall.sid == sid))
        if call is None:
            raise SimulatorError("No such call.")
        return call

    def _params(self, call: SimCall, **extra) -> dict[str, str]:
        params = {"CallSid": call.sid, "AccountSid": self.provider.account_sid,
                  "From": call.from_number, "To": call.to_number, "CallStatus": call.status,
                  "Direction": call.direction, "ApiVersion": "2010-04-01"}
        if call.parent_sid:
            params["ParentCallSid"] = call.parent_sid
        params.update({key: str(value) for key, value in extra.items() if value is not None})
        return params

    def _set(self, call: SimCall, **params) -> None:
        call.params = {**call.params, **params}

    def _say(self, call: SimCall, line: str) -> None:
        call.transcript = [*call.transcript, line]

    def _status(self, call: SimCall, event: str) -> None:
        callback = call.params.get("status_callback")
        events = call.params.get("status_events") or ["completed"]
        if callback and event in events:
            self._post(callback, self._params(call))

    # --- running TwiML ------------------------------------------------------------------

    def _fetch_and_run(self, call: SimCall, url: str, screen: bool = False, **extra) -> None:
        self._run(call, self._post(url, self._params(call, **extra)), screen)

    def _run(self, call: SimCall, xml: str, screen: bool = False) -> None:
        # Our own app's TwiML, not untrusted input.
        root = ET.fromstring(xml) if xml.strip() else ET.Element("Response")  # noqa: S314
        for index, node in enumerate(root):
            if node.tag == "Say":
                self._say(call, f"Say: {(node.text or '').strip()}")
            elif node.tag == "Play":
                self._say(call, f"Play: {(node.text or '').strip()}")
            elif node.tag == "Gather":
                for part in node:
                    if part.tag == "Say":
                        self._say(call, f"Say: {(part.text or '').strip()}")
                call.phase = "gather"
                # What follows the Gather runs if no key is pressed (see `no_key`).
                rest = ET.Element("Response")
                rest.extend(list(root)[index + 1:])
                self._set(call, gather={"action": node.get("action"),
                                        "num_digits": int(node.get("numDigits") or 0),
                                        "rest": ET.tostring(rest, encoding="unicode"),
                                        "screen": screen})
                return
            elif node.tag == "Dial":
                self._dial(call, node)
                return
            elif node.tag == "Redirect":
                self._fetch_and_run(call, (node.text or "").strip(), screen)
                return
            elif node.tag == "Hangup":
                self._end(call, "completed")
                return
        if not screen:  # the end of the document hangs up (a screened leg gets connected)
            self._end(call, "completed")

    def _dial(self, call: SimCall, node: ET.Element) -> None:
        number = node.find("Number")
        if number is None:
            raise SimulatorError("Dial without a Number is not simulated.")
        child = SimCall(
            sid=new_sid("CA"), parent_sid=call.sid, direction="outbound-dial",
            to_number=(number.text or "").strip(),
            from_number=node.get("callerId") or call.to_number, status="ringing",
            phase="ringing",
            params={"url": number.get("url"), "status_callback": number.get("statusCallback"),
                    "status_events": (number.get("statusCallbackEvent") or "completed").split(),
                    "machine_detection": number.get("machineDetection"),
                    "amd_callback": number.get("amdStatusCallback"),
                    "timeout": int(node.get("timeout") or 30)},
        )
        call.phase = "dialing"
        self._set(call, dial={"action": node.get("action"),
                              "hangup_on_star": node.get("hangupOnStar") == "true"})
        db.session.add(child)
        db.session.flush()
        self._status(child, "initiated")
        self._status(child, "ringing")

    def _end(self, call: SimCall, status: str) -> None:
        if call.phase in ("ended", "ending"):
            return
        call.phase = "ending"
        for child in db.session.scalars(select(SimCall).where(
                SimCall.parent_sid == call.sid, SimCall.phase != "ended")).all():
            self._end(child, "completed" if child.status == "in-progress" else "canceled")
        call.status, call.phase = status, "ended"
        self._status(call, "completed")
        if call.parent_sid:
            self._child_ended(call)

    def _child_ended(self, child: SimCall) -> None:
        parent = self.call(child.parent_sid)
        if parent.phase not in ("dialing", "bridged"):
            return
        parent.phase = "talking"
        action = (parent.params.get("dial") or {}).get("action")
        if not action:
            self._end(parent, "completed")
            return
        self._fetch_and_run(parent, action, DialCallStatus=child.status, DialCallSid=child.sid)

    # --- what a simulated phone can do --------------------------------------------------

    def answer(self, sid: str, by: str = "human") -> None:
        """The phone is picked up, by a person (`human`) or by voicemail (`machine`)."""
        call = self.call(sid)
        if call.phase != "ringing":
            raise SimulatorError("This call is not ringing.")
        detection = call.params.get("machine_detection")
        answered_by = (MACHINE.get(detection, "machine_start") if by == "machine" else "human")
        call.status, call.phase = "in-progress", "talking"
        call.answered_by = answered_by if detection else None
        self._say(call, "Answered by voicemail" if by == "machine" else "Answered")
        self._status(call, "answered")
        amd = call.params.get("amd_callback") if detection else None
        if call.direction == "outbound-dial":
            if amd:
                self._post(amd, self._params(call, AnsweredBy=answered_by,
                                             MachineDetectionDuration=2300))
            if call.params.get("url"):
                self._fetch_and_run(call, call.params["url"], screen=True,
                                    AnsweredBy=call.answered_by)
                call = self.call(sid)
            self._connect_screened(call)
            return
        self._fetch_and_run(call, call.params["url"])
        if amd:
            self._post(amd, self._params(self.call(sid), AnsweredBy=answered_by,
                                         MachineDetectionDuration=2300))

    def _connect_screened(self, call: SimCall) -> None:
        """A dialled leg whose whisper is over (not waiting for keys, not hung up) is
        connected to the caller, as on Twilio."""
        if call.phase not in ("ended", "gather"):
            call.phase = self.call(call.parent_sid).phase = "bridged"

    def ring_out(self, sid: str, outcome: str) -> None:
        """The phone does not pick up: `busy`, `no-answer` or `failed`."""
        if outcome not in ("busy", "no-answer", "failed"):
            raise SimulatorError("Unknown outcome.")
        call = self.call(sid)
        if call.phase != "ringing":
            raise SimulatorError("This call is not ringing.")
        self._say(call, outcome)
        self._end(call, outcome)

    def press(self, sid: str, digits: str) -> None:
        """Keypad digits on a call waiting for them (or `*` to leave a bridged call)."""
        call = self.call(sid)
        if call.phase == "gather":
            action, screen = call.params["gather"]["action"], call.params["gather"]["screen"]
            call.phase = "talking"
            self._say(call, f"Pressed {digits}")
            self._fetch_and_run(call, action, screen, Digits=digits)
            if screen:
                self._connect_screened(self.call(sid))
        elif call.phase == "bridged" and digits == "*" and call.params["dial"]["hangup_on_star"]:
            self._say(call, "Pressed *")
            for child in db.session.scalars(select(SimCall).where(
                    SimCall.parent_sid == call.sid, SimCall.phase != "ended")).all():
                self._end(child, "completed")
        else:
            raise SimulatorError("This call is not waiting for keys.")

    def no_key(self, sid: str) -> None:
        """Nobody presses anything until the Gather times out (a voicemail, say): the TwiML
        after the Gather runs, as on Twilio."""
        call = self.call(sid)
        if call.phase != "gather":
            raise SimulatorError("This call is not waiting for keys.")
        gather = call.params["gather"]
        call.phase = "talking"
        self._say(call, "No key pressed")
        self._run(call, gather["rest"], gather.get("screen", False))
        if gather.get("screen"):
            self._connect_screened(self.call(sid))

    def hang_up(self, sid: str) -> None:
        """The phone hangs up."""
        call = self.call(sid)
        if call.phase == "ended":
            raise SimulatorError("This call is over.")
        self._end(call, "completed" if call.status == "in-progress" else "canceled")

    def dial_in(self, from_number: str, to_number: str) -> str:
        """A simulated phone calls a campaign number; returns the call's SID."""
        call = SimCall(sid=new_sid("CA"), direction="inbound", to_number=to_number,
                       from_number=from_number, status="in-progress", phase="talking",
                       # What the console's "A call comes in" / "Call status changes" say.
                       params={"url": hook_url("telephony_hooks.inbound_voice"),
                               "status_callback": hook_url("telephony_hooks.inbound_call_status"),
                               "status_events": ["completed"]})
        db.session.add(call)
        db.session.flush()
        self._fetch_and_run(call, call.params["url"])
        return call.sid

    def text_in(self, from_number: str, to_number: str, body: str) -> list[str]:
        """A simulated phone texts a campaign number; returns the replies it gets."""
        text = SimText(sid=new_sid("SM"), direction="inbound", to_number=to_number,
                       from_number=from_number, body=body, status="received")
        db.session.add(text)
        db.session.flush()
        xml = self._post(hook_url("telephony_hooks.inbound_sms"), {
            "MessageSid": text.sid, "SmsSid": text.sid, "AccountSid": self.provider.account_sid,
            "From": from_number, "To": to_number, "Body": body, "NumMedia": "0",
        })
        root = ET.fromstring(xml)  # noqa: S314 - our own app's TwiML
        replies = [(node.text or "") for node in root if node.tag == "Message"]
        for reply in replies:
            db.session.add(SimText(sid=new_sid("SM"), direction="outbound-api",
                                   to_number=from_number, from_number=to_number, body=reply,
                                   status="delivered"))
        db.session.commit()
        return replies

    def report_text(self, sid: str, status: str = "delivered",
                    error_code: int | None = None) -> None:
        """The network reports on a text Ringround sent (delivered, undelivered, failed)."""
        text = db.session.scalar(select(SimText).where(SimText.sid == sid))
        if text is None or text.direction != "outbound-api":
            raise SimulatorError("No such text.")
        text.status = status
        if text.status_callback:
            params = {"MessageSid": sid, "MessageStatus": status, "To": text.to_number,
                      "From": text.from_number, "AccountSid": self.provider.account_sid}
            if error_code:
                params["ErrorCode"] = str(error_code)
            self._post(text.status_callback, params)
        db.session.commit()
