"""Guessing columns from headers in four languages; reading tables of every shape."""

import pytest

from ringround.people.headers import auto_map, guess_field
from ringround.people.reader import open_table
from tests.core.people.conftest import refused


@pytest.mark.parametrize("header, field", [
    ("Phone", "phone"), ("Téléphone", "phone"), ("Telefon", "phone"), ("Telefoon", "phone"),
    ("Mobile", "mobile"), ("Portable", "mobile"), ("Mobil", "mobile"), ("Mobiel", "mobile"),
    ("Tel. 2", "phone"), ("E-mail", "email"), ("Courriel", "email"), ("E-post", "email"),
    ("First name", "first_name"), ("Prénom", "first_name"), ("Förnamn", "first_name"),
    ("Voornaam", "first_name"), ("Nom", "last_name"), ("Efternamn", "last_name"),
    ("Achternaam", "last_name"), ("Code postal", "postcode"), ("Postnummer", "postcode"),
    ("Ville", "city"), ("Ort", "city"), ("Woonplaats", "city"), ("Pays", "country"),
    ("Land", "country"), ("Langue", "language"), ("Språk", "language"), ("Taal", "language"),
    ("Date de naissance", "date_of_birth"), ("Födelsedatum", "date_of_birth"),
    ("Geboortedatum", "date_of_birth"), ("Foyer", "household"), ("Hushåll", "household"),
    ("Huishouden", "household"), ("Étiquettes", "tags"), ("Membre depuis", "custom:membre_depuis"),
])
def test_headers_in_four_languages(header, field):
    assert guess_field(header) == field


def test_repeated_single_fields_become_custom_fields():
    assert auto_map(["Email", "Email", "Phone", "Phone"]) == [
        "email", "custom:email", "phone", "phone"]


@pytest.mark.parametrize("content, delimiter", [
    (b"Name,Phone\r\nAda,0612345678\r\n", ","),
    (b"Name;Phone;City\nAda;0612345678;Lyon\n", ";"),
    (b"Name\tPhone\nAda\t0612345678\n", "\t"),
    ('"Nom, prénom";Téléphone\n"Lovelace, Ada";06 12\n'.encode("cp1252"), ";"),
])
def test_delimiters_and_encodings(tmp_path, content, delimiter):
    path = tmp_path / "file.csv"
    path.write_bytes(content)
    table = open_table(path)
    assert table.delimiter == delimiter
    rows = list(table.rows())
    assert rows[0][0] == 2 and len(rows[0][1]) == len(table.headers)


def test_cp1252_and_bom_are_decoded(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("Prénom;Téléphone\nZoë;0612345678\n".encode("cp1252"))
    assert open_table(path).headers == ["Prénom", "Téléphone"]
    path.write_bytes("Prénom;Téléphone\nZoë;0612345678\n".encode("utf-8-sig"))
    table = open_table(path)
    assert table.headers == ["Prénom", "Téléphone"] and list(table.rows())[0][1][0] == "Zoë"


def test_a_broken_xlsx_is_not_a_table(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"garbage" * 20)
    with refused("not a table"):
        open_table(path)


@pytest.mark.parametrize("shares", [1, 2, 3])
def test_a_workers_share_of_the_chunks_is_the_rows_as_read(tmp_path, shares):
    """A worker reading the CSV itself gets exactly its chunks of `rows()`, row numbers
    included, through quoted line breaks, blank and whitespace-only rows, short rows, CRLF
    and a BOM."""
    from ringround.people.normalize import chunks, share_of_chunks

    lines = ["\ufeffName;Phone;Notes", "", "  ;  ;  "]
    for n in range(47):
        if n % 5 == 1:
            lines.append(f'Ann {n};06 12 34 56 {n:02d};"two\r\nlines; and ""quotes"""')
        elif n % 7 == 0:
            lines.append(f"Bob {n}")  # a short row
        elif n % 9 == 0:
            lines.append(";;")  # blank: skipped, not counted
        else:
            lines.append(f" ;06 12 34 56 {n:02d};")
    path = tmp_path / "people.csv"
    path.write_bytes("\r\n".join(lines).encode("utf-8"))
    table = open_table(path)
    expected = list(enumerate(chunks(table.rows(), 4)))
    got = sorted(item for share in range(shares)
                 for item in share_of_chunks(table.rows(), 4, share, shares))
    assert got == expected
    assert expected[0][1][0][0] == 4  # the first data row is on line 4
    assert any("\r\n" in cells[2] for _number, chunk in expected for _row, cells in chunk
               if len(cells) > 2)


def test_extension_columns_are_recognised_and_not_taken_for_numbers():
    from ringround.people.headers import auto_map

    assert auto_map(["phone_1", "phone_1_extension", "Tel 2", "Ext", "Poste", "Text"]) == [
        "phone", "extension", "phone", "extension", "extension", "custom:text"]
