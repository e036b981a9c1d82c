"""Which contact field a column holds, guessed from its header in English, French, Swedish
or Dutch. The organizer can correct the guess (the mapping preview)."""

from __future__ import annotations

import re
import unicodedata

# Targets a column can map to. `custom:<key>` makes an organization-defined field.
FIELDS = (
    "first_name", "last_name", "full_name", "email", "phone", "mobile", "landline", "street",
    "postcode", "city", "country", "language", "date_of_birth", "household", "tags",
    "extension",
)
PHONE_FIELDS = ("phone", "mobile", "landline")
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


def guess_field(header: str) -> str:
    """The field a header most likely means, or `custom:<key>` for an unknown column."""
    key = normalize_header(header)
    if not key:
        return IGNORE
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
    mapping: list[str] = []
    taken: set[str] = set()
    repeatable = set(PHONE_FIELDS) | {"tags", "extension"}
    for header in headers:
        field = guess_field(header)
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
