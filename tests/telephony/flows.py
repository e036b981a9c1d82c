"""A phone bank on the simulator, for the flow tests."""

from __future__ import annotations

from datetime import time

from sqlalchemy import select

from ringround.extensions import db
from ringround.models import (
    Attempt,
    CallLeg,
    OperationMember,
    OperationRole,
    OperationState,
    SimCall,
    Target,
)
from ringround.queue import materialize_targets
from sms.simulator import SimulatedNetwork
from tests.telephony.conftest import CAMPAIGN

ALL_DAY = {"window_start": time(0, 0), "window_end": time(23, 59, 59)}
QUESTIONNAIRE = {"template": None, "questions": [
    {"id": "q1", "type": "yes_no", "text": "Will you come to the rally?",
     "choices": [{"value": "yes", "label": "Yes", "next": None},
                 {"value": "no", "label": "No", "next": None}], "next": None},
]}


class PhoneBank:
    """An organization with a campaign number, an active operation, a volunteer, contacts."""

    def __init__(self, app, factories, contacts: int = 1, leave_message: bool = False,
                 network: bool = True):
        self.app = app
        self.org, self.admin = factories.org_with_admin()
        self.org.campaign_number = CAMPAIGN
        self.op = factories.operation(
            self.org, self.admin, state=OperationState.ACTIVE, allow_campaign_line=True,
            voicemail_policy={"leave_message": leave_message,
                              "message": "Hello from Local 42, we will call again."},
            questionnaire=QUESTIONNAIRE, **ALL_DAY)
        self.agent = factories.phone_user("Sam", phone="+14155550111")
        db.session.add(OperationMember(operation_id=self.op.id, user_id=self.agent.id,
                                       role=OperationRole.AGENT))
        self.people = [factories.contact(self.org, first_name=name, time_zone="UTC",
                                         phone=f"+1617555{7000 + i:04d}")
                       for i, name in enumerate(["Maria", "Ahmed", "Lena"][:contacts])]
        db.session.commit()
        materialize_targets(db.session, self.op, [p.id for p in self.people])
        db.session.commit()
        self.net = SimulatedNetwork(app) if network else None

    def target(self, person) -> Target:
        db.session.expire_all()
        return db.session.scalar(select(Target).where(Target.operation_id == self.op.id,
                                                      Target.contact_id == person.id))

    def ringing(self, number: str) -> SimCall:
        db.session.expire_all()
        return db.session.scalar(select(SimCall).where(
            SimCall.to_number == number, SimCall.phase == "ringing").order_by(SimCall.id.desc()))

    def calls(self) -> list[SimCall]:
        db.session.expire_all()
        return list(db.session.scalars(select(SimCall).order_by(SimCall.id)))

    def attempts(self) -> list[Attempt]:
        db.session.expire_all()
        return list(db.session.scalars(select(Attempt).order_by(Attempt.id)))

    def legs(self) -> list[CallLeg]:
        db.session.expire_all()
        return list(db.session.scalars(select(CallLeg).order_by(CallLeg.id)))
