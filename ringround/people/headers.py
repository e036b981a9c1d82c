"""Which contact field a column holds, guessed from its header in English, French, Swedish
or Dutch. The organizer can correct the guess (the mapping preview)."""

from __future__ import annotations

import re
import unicodedata

# Targets a column can map to. `custom:<key>` makes an organization-defined field.
FIELDS = (
    "first_name", "last_name", "full_name", "email", "phone", "mobile", "landline", "street",
    "postcode", "city", "country", "language", "date_of_birth", "household", "tags",
    "extension", "do_not_contact", "opt_in",
)
PHONE_FIELDS = ("phone", "mobile", "landline")
# A column saying someone must not be contacted: `do_not_contact` when a yes (or
# "unsubscribed") in it opts out, `opt_in` when an explicit no in it does.
OPT_OUT_FIELDS = ("do_not_contact", "opt_in")
IGNORE = "ignore"
CUSTOM_PREFIX = "custom:"

_SYNONYMS = {
    "first_name": "firstname first givenname forename prenom fornamn tilltalsnamn voornaam "
                  "roepnaam",
    "last_name": "lastname surname familyname nom nomdefamille efternamn achternaam familienaam "
                 "sukunimi",
    "full_name": "name fullname contact contactname nomcomplet namn fullstandigtnamn naam "
                 "volledigenaam",
    "email": "email emailaddress mail courriel adressemail adresseemail adressecourriel epost "
             "epostadress mejl emailadres",
    "phone": "phone phonenumber telephone tel telno telefon telefonnummer telefoon "
             "telefoonnummer number numero numerodetelephone nummer phoneno",
    "mobile": "mobile mobilephone mobilenumber cell cellphone cellular portable telportable "
              "telephoneportable mobil mobilnummer mobiltelefon mobiel mobielnummer gsm "
              "mobieletelefoon",
    "landline": "landline homephone home fixe telfixe telephonefixe domicile fast fasttelefon "
                "hemtelefon vast vastetelefoon vastnummer thuis",
    "street": "address street streetaddress address1 adresse rue voie gatuadress adress gata "
              "utdelningsadress straat adres straatnaam",
    "postcode": "zip zipcode postcode postalcode codepostal cp postnummer postnr",
    "city": "city town ville commune localite ort stad postort woonplaats plaats gemeente",
    "country": "country countrycode pays land",
    "language": "language lang langue sprak taal locale voertaal",
    "date_of_birth": "dateofbirth dob birthdate birthday datedenaissance naissance "
                     "fodelsedatum fodelsedag geboortedatum",
    "household": "household householdid foyer menage hushall huishouden",
    "tags": "tags tag labels etiquettes etiketter etiketten",
    "do_not_contact": "donotcontact donotcall dnc optout optedout",
}

# The columns of the CSV exports of the CRMs organizers use (sources in docs/crm-files.md),
# header → target; the headers are compared normalized (`normalize_header`). A file is said
# to come from a CRM when at least two of the headers only that CRM uses are in it.
CRM_HEADERS: dict[str, dict[str, str]] = {
    "Action Network": {
        "uuid": "custom:action_network_uuid", "first_name": "first_name",
        "last_name": "last_name", "email": "email", "zip_code": "postcode",
        "can2_phone": "mobile", "can2_user_address": "street", "can2_user_city": "city",
        "can2_state_abbreviated": "custom:state", "can2_user_state": "custom:state",
        "can2_county": "custom:county", "can2_country": "country",
        "can2_user_tags": "tags", "can2_subscription_status": "opt_in",
        "email_subscription_status": "opt_in", "can2_sms_status": "opt_in",
    },
    "NationBuilder": {
        "nationbuilder_id": "custom:nationbuilder_id", "first_name": "first_name",
        "last_name": "last_name", "email": "email", "email_opt_in": "opt_in",
        "phone_number": "phone", "mobile_number": "mobile", "work_phone_number": "landline",
        "mobile_opt_in": "opt_in", "is_mobile_opted_out": "do_not_contact",
        "do_not_call": "do_not_contact", "federal_donotcall": "do_not_contact",
        "do_not_contact": "do_not_contact", "primary_address1": "street",
        "primary_city": "city", "primary_zip": "postcode", "primary_country_code": "country",
        "born_at": "date_of_birth", "tag_list": "tags", "language": "language",
    },
    "EveryAction/VAN": {
        "VANID": "custom:vanid", "Voter File VANID": "custom:voter_file_vanid",
        "FirstName": "first_name", "LastName": "last_name", "Address": "street",
        "City": "city", "State": "custom:state", "Zip5": "postcode", "Zip": "postcode",
        "Phone": "phone", "Cell Phone": "mobile", "Home Phone": "landline",
        "Pref Phone": "phone", "PreferredEmail": "email", "Email": "email",
        "DoNotCall": "do_not_contact",
        "DoNotEmail": "do_not_contact", "DOB": "date_of_birth", "Activist Codes": "tags",
    },
    "Zetkin": {
        "id": "custom:zetkin_id", "ext_id": "custom:zetkin_ext_id",
        "first_name": "first_name", "last_name": "last_name", "email": "email",
        "phone": "phone", "alt_phone": "phone", "co_address": "custom:co_address",
        "street_address": "street", "zip_code": "postcode", "city": "city",
        "country": "country", "gender": "custom:gender", "tags": "tags",
        # A view's download (CSV or Excel): `ID`, then the view's column titles, by default
        # the person fields' English labels (upper case in the CSV; matched regardless).
        "External ID": "custom:zetkin_ext_id", "Phone Number": "phone",
        "Alternate Phone Number": "phone", "C/O Address": "custom:co_address",
        "Address": "street", "Post Code": "postcode",
    },
}
# An extension column belongs to the phone column before it.
_EXTENSION_WORDS = {"ext", "extn", "poste", "anknytning", "toestel"}
_LOOKUP = {word: field for field, words in _SYNONYMS.items() for word in words.split()}


def normalize_header(header: str) -> str:
    """Lower case, accents and punctuation dropped: `Téléphone 2` → `telephone2`."""
    decomposed = unicodedata.normalize("NFKD", header or "")
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]", "", ascii_only.lower())


def custom_key(header: str) -> str:
    """A custom field key from a header: `Membre depuis` → `membre_depuis`."""
    decomposed = unicodedata.normalize("NFKD", header or "")
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", "_", ascii_only).strip("_")[:64] or "field"


def _crm_tables() -> tuple[dict[str, dict[str, str]], dict[str, str], dict[str, set[str]]]:
    """Each CRM's table normalized; the contact fields any CRM's header means (custom
    fields only when the file is known to come from that CRM); each CRM's own headers (no
    other CRM's, no general synonym)."""
    tables = {crm: {normalize_header(header): target for header, target in table.items()}
              for crm, table in CRM_HEADERS.items()}
    fields: dict[str, str] = {}
    seen: dict[str, set[str]] = {}
    for crm, table in tables.items():
        for key, target in table.items():
            seen.setdefault(key, set()).add(crm)
            if not target.startswith(CUSTOM_PREFIX) and fields.setdefault(key, target) != target:
                raise ValueError(f"{crm}: {key} maps to two fields")
    own = {crm: {key for key in table if seen[key] == {crm} and key not in _LOOKUP}
           for crm, table in tables.items()}
    return tables, fields, own


_CRM_TABLES, _CRM_FIELDS, _CRM_OWN = _crm_tables()


def detect_crm(headers: list[str]) -> str | None:
    """The CRM whose export these headers look like (the one with most of its own
    headers, at least two), or None."""
    keys = set(map(normalize_header, headers))
    score, crm = max((len(own & keys), crm) for crm, own in _CRM_OWN.items())
    return crm if score >= 2 else None


def is_opt_out(target: str, cell: str) -> bool:
    """Whether a cell of an opt-out column (`OPT_OUT_FIELDS`) says: do not contact."""
    value = normalize_header(cell)
    if not value:
        return False
    if value in _OPTED_OUT_WORDS:
        return True
    if target == "opt_in":
        return value in _NO_WORDS
    return value in _YES_WORDS


_YES_WORDS = {"yes", "y", "true", "t", "1", "x", "oui", "ja", "j"}
_NO_WORDS = {"no", "n", "false", "f", "0", "non", "nej", "nee"}
_OPTED_OUT_WORDS = {"unsubscribed", "optedout", "optout", "donotcall", "donotcontact",
                    "bouncing", "spam"}


def guess_field(header: str, crm: str | None = None) -> str:
    """The field a header most likely means (in an export of `crm`, when given), or
    `custom:<key>` for an unknown column."""
    key = normalize_header(header)
    if not key:
        return IGNORE
    if crm and key in _CRM_TABLES[crm]:
        return _CRM_TABLES[crm][key]
    if key in _CRM_FIELDS:
        return _CRM_FIELDS[key]
    if key in _LOOKUP:
        return _LOOKUP[key]
    if key.endswith("extension") or key.rstrip("0123456789") in _EXTENSION_WORDS:
        return "extension"  # phone_1_extension (our exports), ext, poste 2
    stripped = key.rstrip("0123456789")  # phone2, telefon_1
    if stripped in _LOOKUP:
        return _LOOKUP[stripped]
    for prefix, field in (("tel", "phone"), ("phone", "phone"), ("mobile", "mobile"),
                          ("email", "email"), ("mail", "email")):
        if stripped.startswith(prefix):
            return field
    return CUSTOM_PREFIX + custom_key(header)


def auto_map(headers: list[str]) -> list[str]:
    """A target for every column. Single-valued fields go to their first column only."""
    crm = detect_crm(headers)
    mapping: list[str] = []
    taken: set[str] = set()
    repeatable = set(PHONE_FIELDS) | set(OPT_OUT_FIELDS) | {"tags", "extension"}
    for header in headers:
        field = guess_field(header, crm)
        if field in taken and field not in repeatable:
            field = CUSTOM_PREFIX + custom_key(header)
        if field in taken and field.startswith(CUSTOM_PREFIX):
            field = IGNORE
        taken.add(field)
        mapping.append(field)
    return mapping


def is_valid_target(target: str) -> bool:
    return target in FIELDS or target == IGNORE or (
        target.startswith(CUSTOM_PREFIX) and bool(custom_key(target[len(CUSTOM_PREFIX):]))
    )


def has_phone_column(mapping: list[str]) -> bool:
    return any(target in PHONE_FIELDS for target in mapping)
