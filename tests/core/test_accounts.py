import hashlib
import subprocess
import sys

import pytest
from sqlalchemy import select

from ringround.accounts import (
    AccountError,
    add_organizer,
    authenticate,
    is_fresh_instance,
    organizations_of,
    role_in,
    set_up_instance,
    slugify,
)
from ringround.models import AuditEntry, OrgRole, User


def test_first_run_creates_organization_and_admin(any_app, db):
    assert is_fresh_instance(db.session)
    org, user = set_up_instance(
        db.session, org_name="Les Verts – Lyon", email=" Ana@Example.ORG ",
        password="long enough pw", display_name="Ana",
    )
    db.session.commit()
    assert org.slug == "les-verts-lyon"
    assert user.email == "ana@example.org"
    assert role_in(db.session, user, org.id) is OrgRole.ADMIN
    assert not is_fresh_instance(db.session)
    assert db.session.scalar(select(AuditEntry.action)) == "organization.created"


def test_first_run_is_refused_once_set_up(any_app, db):
    set_up_instance(db.session, org_name="A", email="a@example.org", password="long enough pw")
    db.session.commit()
    with pytest.raises(AccountError, match="already set up"):
        set_up_instance(db.session, org_name="B", email="b@example.org", password="long enough pw")


def test_passwords_are_hashed_with_scrypt_and_checked(any_app, db):
    _, user = set_up_instance(
        db.session, org_name="A", email="a@example.org", password="long enough pw"
    )
    db.session.commit()
    assert user.password_hash.startswith("scrypt:")
    assert "long enough pw" not in user.password_hash
    assert authenticate(db.session, "A@example.org", "long enough pw") == user
    assert authenticate(db.session, "a@example.org", "wrong password") is None
    assert authenticate(db.session, "nobody@example.org", "long enough pw") is None


def test_short_passwords_are_refused(app, db):
    with pytest.raises(AccountError, match="at least 10"):
        set_up_instance(db.session, org_name="A", email="a@example.org", password="short")


def test_inactive_users_cannot_sign_in(app, db, factories):
    _, user = factories.org_with_admin()
    user.active = False
    db.session.commit()
    assert authenticate(db.session, user.email, factories.PASSWORD) is None


def test_a_user_can_belong_to_several_organizations(app, db, factories):
    first, admin = factories.org_with_admin(name="First")
    second, other_admin = factories.org_with_admin(name="Second")
    add_organizer(db.session, org=second, actor=other_admin, email=admin.email, password=None)
    db.session.commit()
    names = [(org.name, role) for org, role in organizations_of(db.session, admin)]
    assert names == [("First", OrgRole.ADMIN), ("Second", OrgRole.ORGANIZER)]


def test_adding_a_member_twice_is_refused(app, db, factories):
    org, admin = factories.org_with_admin()
    user = factories.organizer(org, admin)
    with pytest.raises(AccountError, match="already a member"):
        add_organizer(db.session, org=org, actor=admin, email=user.email, password=None)


def test_a_new_organizer_needs_a_password(app, db, factories):
    org, admin = factories.org_with_admin()
    with pytest.raises(AccountError, match="first password"):
        add_organizer(db.session, org=org, actor=admin, email="new@example.org", password=None)


def test_volunteers_can_exist_with_a_phone_and_no_password(any_app, db):
    db.session.add(User(display_name="Sam", phone_e164="+14155550100"))
    db.session.commit()
    user = db.session.scalar(select(User).where(User.phone_e164 == "+14155550100"))
    assert user.email is None and user.password_hash is None
    assert authenticate(db.session, "", "anything") is None


@pytest.mark.parametrize(("name", "slug"), [
    ("Göteborgs Fackförening", "goteborgs-fackforening"),
    ("  !!! ", "org"),
    ("Union Local 42", "union-local-42"),
])
def test_slugs_are_ascii_and_readable(name, slug):
    assert slugify(name) == slug


def test_an_unknown_email_costs_one_password_check_like_a_known_one(app, db, monkeypatch):
    """The dummy hash checked for unknown emails is written out (not computed at start-up)
    but has the parameters of a real hash, so both answers take as long."""
    from werkzeug.security import generate_password_hash

    from ringround.accounts import _DUMMY_HASH, PASSWORD_METHOD

    real = generate_password_hash("long enough pw", method=PASSWORD_METHOD)
    assert _DUMMY_HASH.split("$")[0] == real.split("$")[0]  # scrypt:32768:8:1
    calls = []
    original = hashlib.scrypt
    monkeypatch.setattr(hashlib, "scrypt", lambda *a, **k: calls.append(k) or original(*a, **k))
    assert authenticate(db.session, "nobody@example.org", "long enough pw") is None
    assert len(calls) == 1 and calls[0]["n"] == 32768


def test_starting_the_app_computes_no_password_hash(tmp_path):
    """Every web worker builds the app when it starts: no scrypt there (it cost half a second
    of CPU per worker, and restarts waited for it)."""
    code = ("import hashlib, sys\n"
            "calls = []\n"
            "original = hashlib.scrypt\n"
            "hashlib.scrypt = lambda *a, **k: calls.append(1) or original(*a, **k)\n"
            "from ringround import create_app\n"
            "create_app({'SECRET_KEY': 'x', 'JOB_QUEUE_URL': 'memory://'},"
            f" instance_path={str(tmp_path)!r})\n"
            "sys.exit(len(calls))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr or f"{done.returncode} scrypt calls at start-up"
