"""Keys: one per purpose, derived once from SECRET_KEY when the app starts."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import fields

from ringround.keys import app_keys, derive_keys, install_keys
from ringround.optouts import optout_key, phone_hmac
from ringround.people.merge import household_secret
from tests.conftest import TEST_SECRET


def test_every_purpose_has_its_own_key():
    keys = derive_keys("one secret")
    values = [getattr(keys, field.name) for field in fields(keys)]
    assert len(set(values)) == len(values)
    assert all(len(value) == 32 for value in values)


def test_keys_depend_on_the_secret():
    assert derive_keys("one") != derive_keys("another")


def test_the_keys_are_the_ones_stored_data_was_hashed_with():
    # Opt-outs, households, sealed join tokens and the erasure ledger outlive a release:
    # the derivation (HMAC-SHA256 of the purpose label) must never change.
    keys = derive_keys("s")
    for name, label in (("join_seal", b"ringround-join-seal-v1"),
                        ("phone_code", b"ringround-phone-code-v1"),
                        ("optout", b"ringround-optout-v1"),
                        ("household", b"ringround-household-v1"),
                        ("erasure_ledger", b"ringround-erasure-ledger-v1"),
                        ("lease_proof", b"ringround-lease-proof-v1"),
                        ("job_seal", b"ringround-job-seal-v1")):
        assert getattr(keys, name) == hmac.new(b"s", label, hashlib.sha256).digest()


def test_the_app_installs_its_keys_when_it_starts(app):
    assert app_keys() == derive_keys(TEST_SECRET)
    assert optout_key() == app_keys().optout
    assert household_secret() == app_keys().household


def test_a_later_change_of_the_setting_changes_no_key(app):
    # Keys are derived once: what the core hashes does not follow app.config at run time.
    before = phone_hmac("+16175550101")
    app.config["SECRET_KEY"] = "changed at run time"
    assert phone_hmac("+16175550101") == before


def test_installed_keys_are_what_the_core_uses(app):
    try:
        install_keys(derive_keys("another secret"))
        assert phone_hmac("+16175550101") == phone_hmac(
            "+16175550101", derive_keys("another secret").optout)
    finally:
        install_keys(derive_keys(TEST_SECRET))
