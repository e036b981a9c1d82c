"""Each app reads its own translation catalogues, even when an earlier app in the same
process already looked a language up (Flask-Babel caches catalogues on its extension)."""

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from flask_babel import force_locale, gettext

from tests.conftest import make_app


def _catalogue(folder, text):
    catalog = Catalog(locale="fr")
    catalog.add("Talked to them", text)
    target = folder / "fr" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)
    return str(folder)


def test_a_new_app_does_not_reuse_another_apps_catalogue(tmp_path):
    first = make_app(f"sqlite:///{tmp_path / 'a.sqlite'}", tmp_path / "a",
                     BABEL_TRANSLATION_DIRECTORIES=_catalogue(tmp_path / "one", "A parlé"))
    with first.test_request_context(), force_locale("fr"):
        assert gettext("Talked to them") == "A parlé"
    second = make_app(f"sqlite:///{tmp_path / 'b.sqlite'}", tmp_path / "b",
                      BABEL_TRANSLATION_DIRECTORIES=_catalogue(tmp_path / "two", "Conversation"))
    with second.test_request_context(), force_locale("fr"):
        assert gettext("Talked to them") == "Conversation"
