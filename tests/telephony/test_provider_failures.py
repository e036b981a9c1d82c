"""Issue #16, items 1-4 and 6: the provider unreachable, timeouts, error codes told apart, a new
tap after a dropped call, reconciliation; and pacing by the queue (#15). Twilio's side is the
real twilio SDK over a fake HTTP client answering with Twilio's real error bodies, timeouts
and connection errors."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

import pytest
import requests
from huey.exceptions import RetryTask
from sqlalchemy import func, select, update

from ringround.background import huey
from ringround.extensions import db
from ringround.models import (
    Attempt,
    CallLeg,
    Consent,
    ContactPhone,
    FollowUpTemplate,
    LegKind,
    Message,
    PhoneStatus,
    TargetState,
    TextOptOut,
    utcnow,
)
from ringround.optouts import may_contact, may_text
from sms.outbound import send_followup, send_text
from sms.pacing import take_slot
from sms.reconcile import reconcile_calls, reconcile_texts
from sms.voice.bridge import _agent_available
from tests.caller_fixtures import sign_in
from tests.conftest import csrf_token_from
from tests.telephony.conftest import post_signed, twilio_error
from tests.telephony.flows import PhoneBank

NOT_ANSWERING = "The campaign line is not answering; call from your phone instead."
RINGING = "Your phone is ringing: pick up to be connected."
AFTERNOON = datetime.fromisoformat("2026-11-23T20:00:00+00:00")


@pytest.fixture
def bank(app, factories):
    return PhoneBank(app, factories, contacts=2, network=False)


def card(client, bank) -> tuple[str, int, str]:
    """The volunteer's calling page: (html, target id, the card's client id)."""
    html = client.get(f"/call/{bank.op.id}").get_data(as_text=True)
    target_id = int(re.search(r'data-target="(\d+)"', html).group(1))
    client_id = re.search(r'name="client_id" value="([^"]+)"', html).group(1)
    return html, target_id, client_id


def tap(client, bank):
    """Tap "call through the campaign line" as the phone's script does (JSON)."""
    html, target_id, client_id = card(client, bank)
    return client.post(f"/call/{bank.op.id}/bridge/{target_id}",
                       data={"csrf_token": csrf_token_from(html), "client_id": client_id},
                       headers={"Accept": "application/json"})


def agent_legs() -> list[CallLeg]:
    db.session.expire_all()
    return list(db.session.scalars(select(CallLeg).where(
        CallLeg.kind == LegKind.BRIDGE_AGENT).order_by(CallLeg.id)))


def run_later_jobs() -> int:
    """Run the retries Huey scheduled for later (what a worker does when their time comes)."""
    future = datetime.utcnow() + timedelta(hours=2)  # Huey keeps naive UTC times  # noqa: DTZ003
    tasks = huey.read_schedule(future)
    for task in tasks:
        huey.execute(task, timestamp=future)
    db.session.expire_all()
    return len(tasks)


def retry_delays() -> list[float]:
    now = datetime.utcnow()  # noqa: DTZ003
    return sorted(round((t.eta - now).total_seconds()) for t in huey.scheduled())


# ---- item 1: an unreachable provider ----------------------------------------------------

@pytest.mark.twilio
@pytest.mark.parametrize("failure", [
    requests.exceptions.ConnectionError("Connection refused"),
    requests.exceptions.ConnectTimeout("connect timed out"),
    requests.exceptions.ReadTimeout("read timed out"),
])
def test_unreachable_provider_keeps_the_call_and_says_call_from_your_phone(
        app, client, bank, http_client, failure):
    sign_in(client, bank.agent)
    http_client.fail_next = failure
    response = tap(client, bank)
    assert response.status_code == 409  # was a 500 with the record left "queued"
    assert response.get_json()["message"] == NOT_ANSWERING
    [leg] = agent_legs()
    assert (leg.status, leg.sid, leg.state["failure"]) == ("failed", None, "unreachable")
    [attempt] = db.session.scalars(select(Attempt)).all()
    assert attempt.provider_status == "line_unreachable" and attempt.recorded_at is None
    # The person stays on the card, with the button that calls from the volunteer's phone.
    html, target_id, _ = card(client, bank)
    assert target_id == attempt.target_id
    assert re.search(r'class="button primary big call-button" href="tel:\+1617555\d{4}"', html)


@pytest.mark.twilio
def test_with_the_campaign_line_only_a_call_not_placed_says_try_again_not_your_phone(
        app, client, bank, http_client):
    """The card has no number then (`operation_fields.number_shown`): the words must not send
    the volunteer to a button that is not there."""
    bank.op.allow_own_phone = False
    db.session.commit()
    sign_in(client, bank.agent)
    http_client.fail_next = requests.exceptions.ConnectionError("Connection refused")
    response = tap(client, bank)
    assert response.status_code == 409
    assert response.get_json()["message"] == \
        "The campaign line is not answering; try again in a moment."
    [attempt] = db.session.scalars(select(Attempt)).all()
    status = client.get(f"/call/{bank.op.id}/bridge/{attempt.target_id}/status",
                        query_string={"client_id": attempt.client_id}).get_json()
    assert status["message"] == "The campaign line is not answering; try again in a moment."
    html, _target_id, _ = card(client, bank)
    assert "tel:" not in html and "call-button" not in html


@pytest.mark.twilio
def test_unreachable_provider_keeps_a_text_and_retries_it_as_a_job_with_backoff(
        app, bank, http_client):
    http_client.failures = [requests.exceptions.ConnectionError("reset"),
                            requests.exceptions.ReadTimeout("read timed out")]
    message = send_text(db.session, bank.org, "+16175550123", "See you Saturday", kind="test",
                        now=AFTERNOON)
    db.session.commit()  # the job runs at once in tests: the provider does not answer
    db.session.refresh(message)
    assert (message.status, message.sid) == ("queued", None)  # kept, to try again
    assert retry_delays() == [20]
    assert run_later_jobs() == 1
    assert retry_delays() == [40]  # backoff
    run_later_jobs()
    db.session.refresh(message)
    assert message.status == "sent" and message.sid.startswith("SM")
    assert len(http_client.posted("Messages")) == 3  # two tries that failed, one text sent


# ---- item 2: timeouts on the Twilio client ------------------------------------------------

class TimingOutAdapter(requests.adapters.BaseAdapter):
    """The network under the real TwilioHttpClient: records the timeout it is given and
    never answers in time."""

    def __init__(self):
        super().__init__()
        self.timeouts = []

    def send(self, request, timeout=None, **kwargs):
        self.timeouts.append(timeout)
        raise requests.exceptions.ReadTimeout("read timed out", request=request)

    def close(self):
        pass


def test_the_twilio_client_gives_up_after_its_connect_and_read_timeouts(tmp_path):
    from ringround.config import TelephonySettings
    from sms.provider import ProviderError
    from tests.conftest import make_app
    from tests.telephony.conftest import ACCOUNT_SID, AUTH_TOKEN, CAMPAIGN

    app = make_app(f"sqlite:///{tmp_path / 't.sqlite'}", tmp_path / "instance",
                   TELEPHONY=TelephonySettings("twilio", ACCOUNT_SID, AUTH_TOKEN, CAMPAIGN),
                   PUBLIC_BASE_URL="https://calls.example.org", TWILIO_READ_TIMEOUT=7.5)
    provider = app.extensions["telephony"]
    http = provider.client.http_client
    assert http.timeout == (5.0, 7.5)  # (connect, read) seconds
    adapter = TimingOutAdapter()
    http.session = requests.Session()
    http.session.mount("https://", adapter)
    with pytest.raises(ProviderError) as error:
        provider.send_sms("+16175550123", "Hi", CAMPAIGN)
    assert adapter.timeouts == [(5.0, 7.5)]
    assert error.value.unreachable and error.value.transient


# ---- item 3: error codes told apart -------------------------------------------------------

@pytest.mark.twilio
@pytest.mark.parametrize("code", [21211, 21214])
def test_a_text_to_an_invalid_number_marks_it_a_wrong_number(app, client, bank, http_client,
                                                             factories, code):
    person = bank.people[0]
    http_client.fail_next = twilio_error(code)
    message = send_text(db.session, bank.org, person.phones[0].e164, "Hi", kind="test",
                        contact=person, now=AFTERNOON)
    db.session.commit()
    db.session.refresh(message)
    assert (message.status, message.error_code) == ("failed", code)
    phone = db.session.scalar(select(ContactPhone).where(ContactPhone.contact_id == person.id))
    assert phone.status is PhoneStatus.WRONG_NUMBER  # as a caller's "wrong number" result
    assert huey.scheduled() == []  # never tried again
    db.session.commit()
    sign_in(client, bank.admin)
    page = client.get("/telephony/").get_data(as_text=True)
    assert f">{code}</a>" in page and "marked as a wrong number" in page


@pytest.mark.twilio
@pytest.mark.parametrize("code", [20429, 20500, 20503])
def test_too_many_requests_and_server_errors_back_off_and_retry(app, bank, http_client, code):
    http_client.fail_next = twilio_error(code)
    message = send_text(db.session, bank.org, "+16175550123", "Hi", kind="test", now=AFTERNOON)
    db.session.commit()
    db.session.refresh(message)
    assert (message.status, message.error_code) == ("queued", code)
    assert retry_delays() == [20]
    run_later_jobs()
    db.session.refresh(message)
    assert message.status == "sent" and len(http_client.posted("Messages")) == 2


@pytest.mark.twilio
def test_21610_opts_out_of_texts_only(app, bank, http_client):
    number = bank.people[0].phones[0].e164
    http_client.fail_next = twilio_error(21610)
    message = send_text(db.session, bank.org, number, "Hi", kind="test", now=AFTERNOON)
    db.session.commit()
    db.session.refresh(message)
    assert (message.status, message.error_code) == ("failed", 21610)
    assert not may_text(db.session, bank.org.id, number)
    assert may_contact(db.session, bank.org.id, number)  # still called
    assert bank.target(bank.people[0]).state is TargetState.WAITING
    assert db.session.scalar(select(func.count(TextOptOut.id))) == 1


@pytest.mark.twilio
def test_a_call_refused_with_an_error_code_keeps_it_and_the_phone_line_page_shows_it(
        app, client, bank, http_client):
    sign_in(client, bank.agent)
    http_client.fail_next = twilio_error(21211)  # the volunteer's own number is invalid
    response = tap(client, bank)
    assert response.status_code == 409
    assert "cannot reach your phone number" in response.get_json()["message"]
    [leg] = agent_legs()
    assert (leg.status, leg.error_code) == ("failed", 21211)
    admin = client.application.test_client()
    sign_in(admin, bank.admin)
    page = admin.get("/telephony/").get_data(as_text=True)
    refusals = page[page.index("Refused by the provider"):page.index("Missed call-backs")]
    assert "<td>Call</td>" in refusals and ">21211</a>" in refusals


@pytest.mark.twilio
@pytest.mark.parametrize("code", [20429, 20503])
def test_a_call_refused_for_a_moment_is_placed_by_a_later_try(app, client, bank, http_client,
                                                             code):
    sign_in(client, bank.agent)
    http_client.fail_next = twilio_error(code)
    response = tap(client, bank)
    body = response.get_json()
    assert (response.status_code, body["pending"], body["message"]) == (
        200, True, "Calling your phone…")
    [leg] = agent_legs()
    assert (leg.status, leg.error_code) == ("queued", code)
    assert retry_delays() == [2]
    run_later_jobs()
    assert client.get(body["status_url"]).get_json()["message"] == RINGING
    [leg] = agent_legs()
    assert leg.status == "ringing" and leg.sid and leg.error_code is None
    assert len(http_client.posted("Calls")) == 2


def test_a_contacts_number_the_provider_calls_invalid_becomes_a_wrong_number(app, factories):
    from tests.telephony.test_bridged_calls import connect, start

    bank = PhoneBank(app, factories)
    start(bank)
    connect(bank)
    contact_leg = next(leg for leg in bank.legs() if leg.kind == LegKind.BRIDGE_CONTACT)
    client = app.test_client()
    post_signed(client, f"/telephony/hooks/voice/status/{contact_leg.token}", {
        "CallSid": "CA" + "2" * 32, "CallStatus": "failed", "ErrorCode": "21211"})
    [attempt] = bank.attempts()
    assert attempt.disposition == "wrong_number"
    db.session.refresh(contact_leg)
    assert contact_leg.error_code == 21211
    phone = bank.people[0].phones[0]
    db.session.refresh(phone)
    assert phone.status is PhoneStatus.WRONG_NUMBER


# ---- item 4: a new tap after a dropped call ----------------------------------------------

@pytest.mark.twilio
def test_a_new_tap_after_the_call_dropped_places_a_new_call(app, client, bank, http_client):
    sign_in(client, bank.agent)
    assert tap(client, bank).get_json()["message"] == RINGING
    assert tap(client, bank).status_code == 200  # a double tap while it rings: one call
    assert len(http_client.posted("Calls")) == 1
    [first] = agent_legs()
    post_signed(client, f"/telephony/hooks/voice/status/{first.token}",
                {"CallSid": first.sid, "CallStatus": "completed"})  # the call dropped
    assert tap(client, bank).get_json()["message"] == RINGING
    assert len(http_client.posted("Calls")) == 2  # was 1: the old leg kept its SID
    legs = agent_legs()
    assert len(legs) == 2 and legs[1].sid != first.sid
    assert legs[0].attempt_id == legs[1].attempt_id  # still one attempt for the card
    assert db.session.scalar(select(func.count(Attempt.id))) == 1


# ---- item 6: reconciliation -------------------------------------------------------------

def _age_everything(minutes: int = 15) -> None:
    then = utcnow() - timedelta(minutes=minutes)
    db.session.execute(update(CallLeg).values(updated_at=then))
    db.session.execute(update(Message).values(updated_at=then))
    db.session.commit()


@pytest.mark.twilio
def test_calls_whose_callbacks_were_lost_are_asked_about(app, client, bank, http_client):
    sign_in(client, bank.agent)
    tap(client, bank)
    [leg] = agent_legs()
    post_signed(client, f"/telephony/hooks/voice/status/{leg.token}",
                {"CallSid": leg.sid, "CallStatus": "in-progress"})
    # The "completed" callback never comes: the volunteer looks busy.
    assert not _agent_available(db.session, bank.agent)
    http_client.states[leg.sid] = {"status": "completed"}
    assert reconcile_calls() == 0  # too recent to ask
    _age_everything()
    assert reconcile_calls() == 2  # and the contact leg, never dialled, is over
    db.session.commit()  # as the periodic job does
    [leg] = agent_legs()
    assert leg.status == "completed" and leg.ended_at is not None
    assert _agent_available(db.session, bank.agent)
    assert http_client.requests[-1]["method"] == "GET"


def test_the_simulator_answers_reconciliation_too(app, factories):
    from ringround.models import SimCall
    from tests.telephony.test_bridged_calls import start

    bank = PhoneBank(app, factories)
    start(bank)
    sim = db.session.scalar(select(SimCall))
    sim.status, sim.phase = "no-answer", "ended"  # and its callback got lost
    db.session.commit()
    _age_everything()
    assert reconcile_calls() == 2
    db.session.commit()  # as the periodic job does; its follow-ups run after
    [leg] = agent_legs()
    assert leg.status == "no-answer"
    # The volunteer's phone did not answer: the person waits in line again (a follow-up job).
    assert bank.target(bank.people[0]).state is TargetState.WAITING


@pytest.mark.twilio
def test_texts_without_a_final_status_are_asked_about_and_lost_jobs_settled(
        app, bank, http_client):
    number = bank.people[0].phones[0].e164
    sent = send_text(db.session, bank.org, number, "One", kind="test", now=AFTERNOON)
    db.session.commit()
    sent.status = "sending"  # Twilio's last report; the final one got lost
    handed = Message(organization_id=bank.org.id, direction="outbound", remote_e164=number,
                     body="Two", kind="test", status="dispatching")  # its worker was killed
    lost = Message(organization_id=bank.org.id, direction="outbound", remote_e164=number,
                   body="Three", kind="test", status="queued")  # its job was lost
    db.session.add_all([handed, lost])
    db.session.commit()
    http_client.states[sent.sid] = {"status": "undelivered", "error_code": 21610}
    _age_everything()
    assert reconcile_texts() == 3
    db.session.commit()  # the lost text's job runs after the commit
    for message in (sent, handed, lost):
        db.session.refresh(message)
    assert (sent.status, sent.error_code) == ("undelivered", 21610)
    assert not may_text(db.session, bank.org.id, number)  # the effect of 21610, as a job
    assert handed.status == "failed"  # never sent twice: it may have gone out
    assert lost.status == "failed"  # its job ran again, after 21610 stopped texts to the number
    assert [r["data"]["Body"] for r in http_client.posted("Messages")] == ["One"]


@pytest.mark.twilio
def test_a_queued_text_whose_job_was_lost_is_sent_once(app, bank, http_client):
    lost = Message(organization_id=bank.org.id, direction="outbound",
                   remote_e164="+16175550123", body="Three", kind="test", status="queued")
    db.session.add(lost)
    db.session.commit()
    _age_everything()
    reconcile_texts()
    db.session.commit()
    reconcile_texts()
    db.session.commit()
    db.session.refresh(lost)
    assert lost.status == "sent"
    assert [r["data"]["Body"] for r in http_client.posted("Messages")] == ["Three"]


# ---- pacing by the queue ----------------------------------------------------------------

def _window_start() -> None:
    """Wait for the start of a one-second window (Huey's rate limit counts per window)."""
    while time.time() % 1 > 0.2:
        time.sleep(0.05)


def test_a_job_without_a_free_slot_is_tried_again_when_the_window_ends(app):
    _window_start()
    take_slot("calls", 2)
    take_slot("calls", 2)
    with pytest.raises(RetryTask) as again:
        take_slot("calls", 2)
    assert 0 < again.value.delay <= 1
    take_slot("texts:+15005550006", 2)  # another number has its own slots


@pytest.mark.twilio
def test_texts_are_paced_by_the_queue_not_by_sleeping(app, bank, http_client, monkeypatch):
    app.config["TEXTS_PER_SECOND"] = 1

    def no_sleeping(seconds):
        raise AssertionError(f"slept {seconds} s")

    monkeypatch.setattr(time, "sleep", no_sleeping)
    messages = [send_text(db.session, bank.org, f"+1617555012{i}", f"Text {i}", kind="test",
                          now=AFTERNOON) for i in range(3)]
    db.session.commit()  # the jobs run: those without a slot wait in the schedule
    assert 1 <= len(http_client.posted("Messages")) < 3
    assert all(d <= 1 for d in retry_delays())
    monkeypatch.undo()
    for _ in range(6):  # the worker runs each retry when it is due
        if len(http_client.posted("Messages")) == 3:
            break
        time.sleep(1.05)
        run_later_jobs()
    for message in messages:
        db.session.refresh(message)
    assert [m.status for m in messages] == ["sent"] * 3
    windows = [int(r["at"]) for r in http_client.posted("Messages")]
    assert len(set(windows)) == 3  # one text per one-second window


def test_follow_up_text_is_sent_by_a_job(app, bank):
    """The follow-up button's text: queued in the request, sent by its job."""
    person = bank.people[0]
    db.session.add(Consent(contact_id=person.id, channel="sms", text="OK", source="import"))
    template = FollowUpTemplate(organization_id=bank.org.id, name="Event", body="Hi")
    attempt = Attempt(client_id="att-f", operation_id=bank.op.id, contact_id=person.id,
                      agent_id=bank.agent.id)
    db.session.add_all([template, attempt])
    db.session.commit()
    message = send_followup(db.session, template, attempt, bank.agent, now=AFTERNOON)
    assert message.status == "queued" and message.sid is None
    db.session.commit()
    db.session.refresh(message)
    assert message.status == "sent" and message.sid
