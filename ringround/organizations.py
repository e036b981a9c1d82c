"""An organization's own settings: name, country, time zone, language, help text, calling hours.

The country (ISO 3166 alpha-2, stored as `Organization.default_region`) is the region of
national numbers everywhere: imports, join and sign-in by phone, sign-up forms. One function,
`default_region`, says which it is. The time zone (IANA) is the zone of dates in forms and of
"today" on dashboards.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import time
from functools import lru_cache

import phonenumbers
from babel.core import get_global
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from ringround.audit import record_audit
from ringround.i18n import check_language as _check_language
from ringround.models import Organization, User
from ringround.phones import COUNTRY_MAIN_ZONE

FALLBACK_REGION = "US"


class SettingsError(ValueError):
    """A setting that cannot be saved; `field` names the form field it belongs to."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@lru_cache(maxsize=1)
def country_codes() -> tuple[str, ...]:
    """Countries whose phone numbers we can parse (ISO 3166 alpha-2), sorted."""
    return tuple(sorted(r for r in phonenumbers.SUPPORTED_REGIONS if len(r) == 2))


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    """IANA time zones an organization may choose: the geographic ones, and UTC."""
    names = {z for z in zoneinfo.available_timezones()
             if "/" in z and not z.startswith(("Etc/", "SystemV/", "posix/", "right/"))}
    return ("UTC", *sorted(names))


def zone_country(zone: str | None) -> str | None:
    """The country of an IANA zone ("Europe/Stockholm" -> "SE"), when known."""
    country = get_global("zone_territories").get(zone or "")
    return country if country in country_codes() else None


def guess_country(zone: str | None, accept_languages: list[str] = ()) -> str | None:
    """The likely country of a new organization: from the browser's time zone, else from the
    first Accept-Language tag with a region ("fr-FR" -> "FR")."""
    found = zone_country(zone)
    if found:
        return found
    for tag in accept_languages:
        parts = tag.replace("_", "-").split("-")
        if len(parts) > 1 and parts[-1].upper() in country_codes():
            return parts[-1].upper()
    return None


def guess_zone(country: str | None) -> str:
    """The main zone of `country`, else UTC: the default when the browser says none."""
    candidates = [COUNTRY_MAIN_ZONE.get(country or ""),
                  *get_global("territory_zones").get(country or "", [])]
    return next((zone for zone in candidates if zone in zone_names()), "UTC")


def default_region(org: Organization | None) -> str:
    """The region national numbers typed or imported for this organization belong to."""
    region = (org.default_region or "").upper() if org is not None else ""
    return region if region in country_codes() else FALLBACK_REGION


def check_country(country: str | None) -> str:
    code = (country or "").strip().upper()
    if code not in country_codes():
        raise SettingsError(_("Choose a country from the list."), "country")
    return code


def check_zone(zone: str | None) -> str:
    name = (zone or "").strip()
    if name not in zone_names():
        raise SettingsError(_("Choose a time zone from the list."), "time_zone")
    return name


def check_language(language: str | None) -> str:
    try:
        return _check_language(language)
    except ValueError:
        raise SettingsError(_("Choose a language from the list."), "language") from None


@dataclass(frozen=True)
class OrganizationSettings:
    """What the settings page edits."""

    name: str
    country: str
    time_zone: str
    help_text: str | None
    window_start: time
    window_end: time
    language: str = "en"


def settings_of(org: Organization) -> OrganizationSettings:
    return OrganizationSettings(org.name, default_region(org), org.time_zone or "UTC",
                                org.help_text, org.default_window_start,
                                org.default_window_end, org.language or "en")


def update_settings(session: Session, org: Organization, actor: User,
                    settings: OrganizationSettings) -> Organization:
    """Check and save an organization's settings (all or nothing), audited."""
    name = (settings.name or "").strip()
    if not name:
        raise SettingsError(_("The organization needs a name."), "name")
    if len(name) > 200:
        raise SettingsError(_("The name can have at most 200 characters."), "name")
    country, zone = check_country(settings.country), check_zone(settings.time_zone)
    language = check_language(settings.language)
    help_text = (settings.help_text or "").strip() or None
    if help_text and len(help_text) > 320:
        raise SettingsError(_("The help text can have at most 320 characters."), "help_text")
    if settings.window_start is None or settings.window_end is None:
        raise SettingsError(_("Give both the start and the end of the calling hours."),
                            "window_end")
    if settings.window_end <= settings.window_start:
        raise SettingsError(_("Calling hours must end after they start."), "window_end")
    before = settings_of(org)
    org.name, org.default_region, org.time_zone, org.help_text = name, country, zone, help_text
    org.default_window_start, org.default_window_end = settings.window_start, settings.window_end
    org.language = language
    changed = sorted(k for k, v in settings_of(org).__dict__.items()
                     if getattr(before, k) != v)
    record_audit(session, org.id, actor.id, "organization.settings_changed", "organization",
                 org.id, {"changed": changed})
    return org
