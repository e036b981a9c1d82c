from ringround.optouts import is_opted_out, opt_in_number, opt_out_number, phone_hmac


def test_opt_outs_are_kept_as_keyed_hashes(app, db, factories):
    org, _ = factories.org_with_admin()
    assert opt_out_number(db.session, org.id, "+16175550101", "sms_stop")
    assert not opt_out_number(db.session, org.id, "+16175550101", "sms_stop")
    db.session.commit()
    stored = db.session.execute(db.text("SELECT phone_hmac FROM opt_outs")).scalar_one()
    assert "6175550101" not in stored and len(stored) == 64
    assert is_opted_out(db.session, org.id, "+16175550101")
    other, _ = factories.org_with_admin()
    assert not is_opted_out(db.session, other.id, "+16175550101")


def test_the_hash_depends_on_the_server_secret(app):
    assert phone_hmac("+16175550101", b"a" * 32) != phone_hmac("+16175550101", b"b" * 32)


def test_opting_back_in(app, db, factories):
    org, _ = factories.org_with_admin()
    opt_out_number(db.session, org.id, "+16175550101", "sms_stop")
    assert opt_in_number(db.session, org.id, "+16175550101")
    assert not is_opted_out(db.session, org.id, "+16175550101")
    assert not opt_in_number(db.session, org.id, "+16175550101")


def test_opt_out_of_texts_only_leaves_calls(app, db, factories):
    """21610 (the carrier says the person unsubscribed from texts) goes through the same
    `opt_out` with `texts_only`: no more texts, calls go on, the person stays callable."""
    from ringround.optouts import may_contact, may_text, opt_out

    org, _ = factories.org_with_admin()
    assert opt_out(db.session, org.id, "+16175550101", "carrier_21610", texts_only=True)
    assert not opt_out(db.session, org.id, "+16175550101", "carrier_21610", texts_only=True)
    assert may_contact(db.session, org.id, "+16175550101")
    assert not may_text(db.session, org.id, "+16175550101")
    assert not is_opted_out(db.session, org.id, "+16175550101")
