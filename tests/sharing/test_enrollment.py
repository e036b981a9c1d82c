"""Join links, phone codes and operation membership in the core (no HTTP)."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select, update

from ringround.enrollment import (
    CODE_MAX_ATTEMPTS,
    EnrollmentError,
    LinkStatus,
    check_phone_code,
    create_join_link,
    enroll,
    find_link,
    find_or_create_phone_user,
    issue_phone_code,
    link_status,
    link_token,
    revoke_link,
    search_people,
    typed_phone,
)
from ringround.keys import derive_keys, install_keys
from ringround.models import (
    JoinLink,
    JoinLinkUse,
    LinkRole,
    Membership,
    OperationMember,
    OperationRole,
    OperationState,
    OrgRole,
    PhoneCode,
    utcnow,
)


def _member(db, operation, user):
    return db.session.scalar(select(OperationMember).where(
        OperationMember.operation_id == operation.id, OperationMember.user_id == user.id))


def test_tokens_are_128_bit_and_only_their_hash_is_looked_up(db, world):
    assert len(base64.urlsafe_b64decode(world.token + "==")) == 16
    row = db.session.execute(select(JoinLink.__table__).where(
        JoinLink.id == world.link.id)).mappings().one()
    assert all(world.token not in str(value) for value in row.values())
    assert find_link(db.session, world.token).id == world.link.id
    assert find_link(db.session, world.token[:-1] + ("A" if world.token[-1] != "A" else "B")) \
        is None
    assert find_link(db.session, "../../etc/passwd") is None


def test_owners_can_show_the_same_link_again_but_not_with_another_secret_key(app, db, world):
    assert link_token(world.link) == world.token
    # As after a restart with another SECRET_KEY: keys are derived from it when the app starts.
    install_keys(derive_keys("a-different-secret"))
    try:
        assert link_token(world.link) is None
    finally:
        install_keys(derive_keys(app.config["SECRET_KEY"]))
    # The link itself keeps working: look-up needs only the hash.
    assert find_link(db.session, world.token).id == world.link.id


def test_each_new_link_has_a_different_token(db, world):
    tokens = {create_join_link(db.session, org=world.org, actor=world.owner,
                               operation=world.operation)[1] for _ in range(20)}
    assert len(tokens) == 20


def test_link_kinds_only_give_the_roles_they_may(db, world):
    with pytest.raises(EnrollmentError):
        create_join_link(db.session, org=world.org, actor=world.admin, role=LinkRole.OWNER)
    with pytest.raises(EnrollmentError):
        create_join_link(db.session, org=world.org, actor=world.admin,
                         operation=world.operation, role=LinkRole.ORGANIZER)
    with pytest.raises(EnrollmentError):
        create_join_link(db.session, org=world.other_org, actor=world.other_admin,
                         operation=world.operation)
    with pytest.raises(EnrollmentError):
        create_join_link(db.session, org=world.org, actor=world.owner,
                         operation=world.operation, max_uses=0)


def test_agent_link_makes_an_agent_and_records_who_joined(db, world, factories):
    volunteer = factories.phone_user()
    result = enroll(db.session, world.link, volunteer)
    db.session.commit()
    member = _member(db, world.operation, volunteer)
    assert member.role == OperationRole.AGENT and member.joined_via_link_id == world.link.id
    assert result.role == LinkRole.AGENT and not result.already_member
    assert world.link.uses == 1
    assert [use.user_id for use in world.link.joins] == [volunteer.id]


def test_an_agent_link_never_makes_an_owner_nor_demotes_one(db, world):
    enroll(db.session, world.link, world.owner)
    assert _member(db, world.operation, world.owner).role == OperationRole.OWNER
    enroll(db.session, world.link, world.agent)
    assert _member(db, world.operation, world.agent).role == OperationRole.AGENT
    assert world.link.uses == 0  # neither joined anew


def test_an_owner_link_makes_an_owner(db, world, factories):
    link, _token = create_join_link(db.session, org=world.org, actor=world.owner,
                                    operation=world.operation, role=LinkRole.OWNER)
    volunteer = factories.phone_user()
    enroll(db.session, link, volunteer)
    enroll(db.session, link, world.agent)
    assert _member(db, world.operation, volunteer).role == OperationRole.OWNER
    assert _member(db, world.operation, world.agent).role == OperationRole.OWNER


def test_joining_twice_counts_once(db, world, factories):
    volunteer = factories.phone_user()
    enroll(db.session, world.link, volunteer)
    again = enroll(db.session, world.link, volunteer)
    assert again.already_member and world.link.uses == 1
    assert db.session.scalar(select(JoinLinkUse.id).where(
        JoinLinkUse.user_id == volunteer.id)) is not None


def test_organization_link_makes_an_organizer(db, world, factories):
    volunteer = factories.phone_user()
    enroll(db.session, world.org_link, volunteer)
    role = db.session.scalar(select(Membership.role).where(
        Membership.user_id == volunteer.id, Membership.organization_id == world.org.id))
    assert role == OrgRole.ORGANIZER


def test_links_are_capped(db, world, factories):
    link, _token = create_join_link(db.session, org=world.org, actor=world.owner,
                                    operation=world.operation, max_uses=2)
    enroll(db.session, link, factories.phone_user())
    enroll(db.session, link, factories.phone_user())
    assert link_status(link) is LinkStatus.USED_UP
    with pytest.raises(EnrollmentError, match="used_up"):
        enroll(db.session, link, factories.phone_user())
    assert link.uses == 2


def test_the_last_use_cannot_be_taken_twice_by_a_race(db, world, factories):
    link, _token = create_join_link(db.session, org=world.org, actor=world.owner,
                                    operation=world.operation, max_uses=1)
    db.session.commit()
    assert link_status(link) is LinkStatus.OPEN  # this session saw it open ...
    # ... while another request took the last use.
    db.session.execute(update(JoinLink).where(JoinLink.id == link.id).values(uses=1)
                       .execution_options(synchronize_session=False))
    with pytest.raises(EnrollmentError):
        enroll(db.session, link, factories.phone_user())


def test_links_expire(db, world, factories):
    with freeze_time("2030-01-01 12:00:00"):
        link, _token = create_join_link(db.session, org=world.org, actor=world.owner,
                                        operation=world.operation,
                                        expires_at=utcnow() + timedelta(hours=1))
        assert link_status(link) is LinkStatus.OPEN
    with freeze_time("2030-01-01 12:59:59"):
        enroll(db.session, link, factories.phone_user())
    with freeze_time("2030-01-01 13:00:00"):
        assert link_status(link) is LinkStatus.EXPIRED
        with pytest.raises(EnrollmentError, match="expired"):
            enroll(db.session, link, factories.phone_user())


def test_revoked_links_stop_working_but_members_stay(db, world, factories):
    volunteer = factories.phone_user()
    enroll(db.session, world.link, volunteer)
    revoke_link(db.session, world.link, world.owner)
    assert link_status(world.link) is LinkStatus.REVOKED
    with pytest.raises(EnrollmentError, match="revoked"):
        enroll(db.session, world.link, factories.phone_user())
    assert _member(db, world.operation, volunteer) is not None


def test_links_of_an_ended_operation_are_closed(db, world):
    world.operation.state = OperationState.ENDED
    assert link_status(world.link) is LinkStatus.CLOSED


# ---- phones and codes ----------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "region", "expected"), [
    ("(202) 555-0123", "US", "+12025550123"),
    ("+44 7911 123456", "US", "+447911123456"),
    ("06 12 34 56 78", "FR", "+33612345678"),
])
def test_phone_numbers_become_e164(raw, region, expected):
    assert typed_phone(raw, region) == expected


@pytest.mark.parametrize("raw", ["", "hello", "12", "+1 202 555"])
def test_bad_phone_numbers_get_a_clear_message(raw):
    with pytest.raises(EnrollmentError, match="phone number"):
        typed_phone(raw, "US")


def test_codes_are_stored_hashed_and_work_once(db):
    row, code = issue_phone_code(db.session, "+12025550123", "join")
    assert len(code) == 6 and code.isdigit() and code not in row.code_hash
    assert not check_phone_code(db.session, row.id, "+12025550124", "join", code)
    assert not check_phone_code(db.session, row.id, "+12025550123", "signin", code)
    assert check_phone_code(db.session, row.id, "+12025550123", "join", code)
    assert not check_phone_code(db.session, row.id, "+12025550123", "join", code)


def test_codes_allow_a_few_attempts_only(db):
    row, code = issue_phone_code(db.session, "+12025550123", "join")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(CODE_MAX_ATTEMPTS):
        assert not check_phone_code(db.session, row.id, "+12025550123", "join", wrong)
    assert not check_phone_code(db.session, row.id, "+12025550123", "join", code)


def test_codes_expire(db):
    with freeze_time("2030-01-01 12:00:00"):
        row, code = issue_phone_code(db.session, "+12025550123", "join")
    with freeze_time("2030-01-01 12:10:01"):
        assert not check_phone_code(db.session, row.id, "+12025550123", "join", code)


def test_a_number_gets_only_a_few_codes_at_a_time(db):
    with freeze_time("2030-01-01 12:00:00"):
        for _ in range(3):
            issue_phone_code(db.session, "+12025550123", "join")
        with pytest.raises(EnrollmentError, match="Too many codes"):
            issue_phone_code(db.session, "+12025550123", "join")
        issue_phone_code(db.session, "+12025550199", "join")  # other numbers are not affected
    with freeze_time("2030-01-01 12:16:00"):
        issue_phone_code(db.session, "+12025550123", "join")
    assert db.session.scalar(select(PhoneCode.id).limit(1)) is not None


def test_volunteers_are_phone_only_users(db, world):
    user, new = find_or_create_phone_user(db.session, phone_e164="+12025550177",
                                          display_name="Sam", email=world.admin.email)
    assert new and user.password_hash is None and user.phone_e164 == "+12025550177"
    assert user.email is None  # someone else's address is never attached
    again, new_again = find_or_create_phone_user(db.session, phone_e164="+12025550177",
                                                 display_name="Other name")
    assert again.id == user.id and not new_again and again.display_name == "Sam"


# ---- members ------------------------------------------------------------------------------

def test_search_finds_people_the_organization_knows_by_name_email_or_phone(db, world, factories):
    caller = factories.phone_user("Zed", phone="+12025550188")
    enroll(db.session, world.link, caller)
    db.session.commit()
    assert search_people(db.session, world.org.id, "cand") == [world.candidate]
    assert search_people(db.session, world.org.id, world.organizer.email) == [world.organizer]
    assert search_people(db.session, world.org.id, "555 0188") == [caller]
    assert search_people(db.session, world.org.id, "x") == []


def test_search_never_finds_other_organizations_people(db, world, factories):
    stranger = factories.phone_user("Stranger")
    assert search_people(db.session, world.org.id, "Stranger") == []
    assert search_people(db.session, world.org.id, world.other_admin.email) == []
    assert stranger.id


def test_search_treats_wildcards_as_plain_text(db, world):
    assert search_people(db.session, world.org.id, "%%") == []
    assert search_people(db.session, world.org.id, "__") == []
