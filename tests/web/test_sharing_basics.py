import io

import zxingcpp
from PIL import Image

from tests.factories import login


def test_sign_in_qr_png_decodes_to_the_login_link(client, factories):
    _, admin = factories.org_with_admin()
    login(client, admin)
    response = client.get("/share/sign-in.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.data)))
    assert [r.text for r in results] == ["http://localhost/login"]


def test_sign_in_qr_is_for_members_only(client, factories):
    factories.org_with_admin()
    assert "/login" in client.get("/share/sign-in.svg").location
