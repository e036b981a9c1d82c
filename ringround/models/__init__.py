"""All models, imported here so that `db.create_all()` and Alembic see every table."""

from ringround.models.accounts import Membership, Organization, OrgRole, User
from ringround.models.audit import AuditEntry
from ringround.models.base import Base, utcnow
from ringround.models.calls import Attempt, CallMethod, DispositionGroup
from ringround.models.imports import ImportJob, ImportStatus
from ringround.models.jobs import FailedJob
from ringround.models.messaging import (
    CallInCode,
    CallLeg,
    Conversation,
    ConversationState,
    Direction,
    FollowUpTemplate,
    LegKind,
    Message,
    ProviderEvent,
)
from ringround.models.operations import (
    LeaseGrant,
    Operation,
    OperationMember,
    OperationMode,
    OperationRemoval,
    OperationRole,
    OperationState,
    Target,
    TargetState,
)
from ringround.models.people import (
    Consent,
    Contact,
    ContactPhone,
    CustomField,
    CustomFieldType,
    Household,
    OptOut,
    PhoneLabel,
    PhoneStatus,
    SavedList,
    Tag,
    TextOptOut,
    contact_tags,
)
from ringround.models.sharing import (
    JoinLink,
    JoinLinkUse,
    LinkRole,
    PhoneCode,
    SigninLink,
    SignupForm,
)
from ringround.models.simulator import SimCall, SimText

__all__ = [
    "Attempt", "AuditEntry", "Base", "CallMethod", "Consent", "Contact", "ContactPhone",
    "CustomField", "CustomFieldType", "DispositionGroup", "FailedJob", "Household", "ImportJob",
    "ImportStatus",
    "JoinLink", "JoinLinkUse", "LeaseGrant", "LinkRole", "Membership", "OptOut", "PhoneCode",
    "SignupForm", "SigninLink",
    "OrgRole", "Operation", "OperationMember", "OperationMode", "OperationRemoval",
    "OperationRole",
    "OperationState", "Organization", "PhoneLabel", "PhoneStatus", "SavedList", "Tag",
    "Target", "TargetState", "TextOptOut", "User", "contact_tags", "utcnow",
    # telephony
    "CallInCode", "CallLeg", "Conversation", "ConversationState", "Direction",
    "FollowUpTemplate", "LegKind", "Message", "ProviderEvent", "SimCall", "SimText",
]
