"""Every sharing endpoint against every role: anonymous, agent, owner, organizer, and the
admin of another organization. Roles are never taken from the request, only from membership."""

from __future__ import annotations

import pytest

from tests.sharing.conftest import build_world, form_post, sign_in

ROLES = ["anonymous", "agent", "owner", "organizer", "other_admin"]

# What each kind of endpoint answers to each role.
#   ok: served (200) or done (302 elsewhere than the sign-in page)
#   login: sent to sign in; own: served, but about the visitor's own organization only
EXPECTED = {
    "operation": {"anonymous": "login", "agent": 403, "owner": "ok", "organizer": "ok",
                  "other_admin": 404},
    "org_link": {"anonymous": "login", "agent": 404, "owner": 404, "organizer": "ok",
                 "other_admin": 404},
    "org_list": {"anonymous": "login", "agent": 403, "owner": 403, "organizer": "ok",
                 "other_admin": "own"},
    "org_object": {"anonymous": "login", "agent": 403, "owner": 403, "organizer": "ok",
                   "other_admin": 404},
    "signed_in": {"anonymous": "login", "agent": "ok", "owner": "ok", "organizer": "ok",
                  "other_admin": "ok"},
    "public": {role: "ok" for role in ROLES},
    # A personal sign-in link opened with a token that is not one (here: a join token).
    "not_a_signin_link": {role: 410 for role in ROLES},
}

SIGNUP_FORM_DATA = {
    "title": "Door knock sign-ups", "consent_text": "Call me.", "field_first_name": "required",
    "field_phone": "required", "field_last_name": "off", "field_email": "off",
    "field_postcode": "off", "field_city": "off", "field_language": "off", "language": "en",
    "operation_id": "0", "active": "y",
}

ENDPOINTS = [
    # (kind, method, url, data)
    ("operation", "GET", "/operations/{op}/people", None),
    ("operation", "GET", "/operations/{op}/people/search?q=Cand", None),
    ("operation", "POST", "/operations/{op}/links", {"role": "agent", "expires": ""}),
    ("operation", "POST", "/operations/{op}/people", {"user_id": "{candidate}", "role": "agent"}),
    ("operation", "POST", "/operations/{op}/people/{member}/role", {"role": "owner"}),
    ("operation", "POST", "/operations/{op}/people/{member}/remove", {}),
    ("operation", "POST", "/operations/{op}/people/{member}/signin-link", {}),
    ("operation", "GET", "/links/{link}", None),
    ("operation", "GET", "/links/{link}/qr.svg", None),
    ("operation", "GET", "/links/{link}/qr.png?download=1", None),
    ("operation", "GET", "/links/{link}/screen", None),
    ("operation", "GET", "/links/{link}/poster", None),
    ("operation", "POST", "/links/{link}/revoke", {}),
    ("org_link", "GET", "/links/{org_link}", None),
    ("org_link", "GET", "/links/{org_link}/qr.png", None),
    ("org_link", "GET", "/links/{org_link}/screen", None),
    ("org_link", "GET", "/links/{org_link}/poster", None),
    ("org_link", "POST", "/links/{org_link}/revoke", {}),
    ("org_list", "GET", "/console/join-links", None),
    ("org_list", "POST", "/console/join-links", {"expires": "7d", "max_uses": "3"}),
    ("org_list", "GET", "/console/signup-forms", None),
    ("org_list", "GET", "/console/signup-forms/new", None),
    ("org_list", "POST", "/console/signup-forms/new", SIGNUP_FORM_DATA),
    ("org_list", "GET", "/share/sign-in.svg", None),
    ("org_object", "GET", "/console/signup-forms/{form}", None),
    ("org_object", "POST", "/console/signup-forms/{form}", SIGNUP_FORM_DATA),
    ("org_object", "GET", "/console/signup-forms/{form}/qr.svg", None),
    ("org_object", "GET", "/console/signup-forms/{form}/qr.png", None),
    ("org_object", "GET", "/console/signup-forms/{form}/screen", None),
    ("org_object", "GET", "/console/signup-forms/{form}/poster", None),
    ("signed_in", "GET", "/my/operations", None),
    ("public", "GET", "/j/{token}", None),
    ("public", "GET", "/j/{org_token}", None),
    ("public", "POST", "/j/{token}", {"name": "Sam", "phone": "+12025550198", "one_tap": "1"}),
    ("public", "GET", "/s/{slug}", None),
    ("public", "GET", "/s/{slug}/thanks", None),
    ("public", "POST", "/s/{slug}", {"first_name": "Ana", "phone": "+12025550111",
                                     "consent": "y"}),
    ("public", "GET", "/signin/phone", None),
    ("public", "POST", "/signin/phone", {"phone": "+12025550199"}),
    ("public", "GET", "/signin/phone/code", None),
    ("public", "POST", "/signin/phone/code", {"code": "123456"}),
    ("public", "GET", "/j/verify", None),
    ("public", "POST", "/j/verify", {"code": "123456"}),
    ("public", "POST", "/j/resend", {}),
    ("public", "GET", "/static/sharing/sharing.css", None),
    ("not_a_signin_link", "GET", "/in/{token}", None),
    ("not_a_signin_link", "POST", "/in/{token}", {}),
]

# Names that belong to the first organization: another organization's admin never sees them.
PRIVATE_MARKERS = ["Tenants Union", "Org link A", "Welcome table", "Rent strike"]


def _fill(template: str, world) -> str:
    return template.format(
        op=world.operation.id, link=world.link.id, org_link=world.org_link.id,
        member=world.agent_member_id, candidate=world.candidate.id, form=world.form.id,
        slug=world.form.slug, token=world.token, org_token=world.org_token,
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("kind", "method", "url", "data"), ENDPOINTS,
                         ids=[f"{m} {u}" for _k, m, u, _d in ENDPOINTS])
def test_sharing_endpoint_answers_each_role(app, client, role, kind, method, url, data):
    world = build_world()
    sign_in(client, world.user(role))
    target = _fill(url, world)
    if method == "GET":
        response = client.get(target)
    else:
        payload = {key: _fill(value, world) for key, value in data.items()}
        response = form_post(client, target, payload)
    expected = EXPECTED[kind][role]
    body = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
    if expected == "login":
        assert response.status_code == 302 and "/login" in response.location
    elif expected in ("ok", "own"):
        assert response.status_code in (200, 302), (response.status_code, body[:300])
        if response.status_code == 302:
            assert "/login" not in response.location
        if expected == "own":
            assert not any(marker in body for marker in PRIVATE_MARKERS)
    else:
        assert response.status_code == expected


def test_the_matrix_covers_every_sharing_endpoint(app):
    """A new sharing route must be added to ENDPOINTS (and so to the roles matrix)."""
    covered = {(method, url.split("?")[0]) for _kind, method, url, _data in ENDPOINTS}
    placeholders = {"operation_id": "{op}", "member_id": "{member}", "form_id": "{form}",
                    "slug": "{slug}", "fmt": "png", "filename": "sharing.css"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in ("sharing", "join", "signup"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path = rule.rule
            for name in rule.arguments:
                value = placeholders.get(name)
                if name == "link_id":
                    value = "{link}"
                if name == "token":
                    value = "{token}"
                path = path.replace(f"<{name}>", value).replace(f"<int:{name}>", value)
                path = path.replace(f"<path:{name}>", value)
            alternatives = {path, path.replace("{link}", "{org_link}"),
                            path.replace(".png", ".svg"), path.replace("{token}", "{org_token}")}
            assert covered & {(method, alt) for alt in alternatives}, (method, rule.rule)
