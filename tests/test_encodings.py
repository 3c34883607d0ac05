"""Text files not in UTF-8: decoded when their encoding can be told with confidence, each with a
note naming it; refused with the reason when it cannot."""

import json
import os

import pytest

from rag.documents import Skip, load_paths, read_text

ITALIAN = ("Perché la città è più bella d'estate? Il sindaco ha spiegato che la piazza sarà chiusa "
           "fino a lunedì, perché i lavori non sono ancora finiti.\n")
FRENCH = ("L'été dernier, la préfecture a fermé le pont. « Ça coûte cher », a déclaré le maire, "
          "qui espère une réouverture après les fêtes.\n")
WINDOWS = ("“Prices rose to 5 €,” she said — the café’s owner agreed that the new rent was too "
           "high for a small shop.\n")
RUSSIAN = "Мэр города заявил, что мост будет закрыт до мая из-за ремонта, а движение пойдёт в объезд.\n"
JAPANESE = "東京都は新しい橋の建設を発表しました。工事は来年の春に始まり、三年後に完成する予定です。\n"

DECODABLE = [
    ("latin-1", ITALIAN, "latin-1", "windows-1252"),  # Latin-1 text is Windows-1252 text too
    ("french", FRENCH, "latin-1", "windows-1252"),
    ("windows-1252", WINDOWS, "cp1252", "windows-1252"),
    ("utf-16 le", ITALIAN, "utf-16", "UTF-16"),  # Python writes the byte-order mark
    ("utf-16 be", ITALIAN, "utf-16-be", "UTF-16"),  # with the mark added by hand below
    ("cyrillic", RUSSIAN, "cp1251", "windows-1251"),
]


def encoded(text: str, encoding: str) -> bytes:
    data = text.encode(encoding)
    return b"\xfe\xff" + data if encoding == "utf-16-be" else data


@pytest.mark.parametrize("case, text, encoding, name", DECODABLE, ids=[c[0] for c in DECODABLE])
def test_a_confidently_detected_encoding_is_decoded_with_a_note(tmp_path, case, text, encoding, name):
    path = tmp_path / "article.txt"
    path.write_bytes(encoded(text, encoding))
    notes = []
    assert read_text(path, notes=notes) == text
    assert notes == [(str(path), f"decoded as {name}, not UTF-8")]


def test_shift_jis_is_decoded_or_clearly_refused(tmp_path):
    path = tmp_path / "tokyo.txt"
    path.write_bytes(JAPANESE.encode("shift_jis"))
    notes = []
    try:
        text = read_text(path, notes=notes)
    except Skip as e:
        assert "save it as UTF-8" in str(e)
    else:
        assert text == JAPANESE
        assert "decoded as" in notes[0][1]


def test_utf8_needs_no_note_with_or_without_its_byte_order_mark(tmp_path):
    path = tmp_path / "article.txt"
    for data in (ITALIAN.encode("utf-8"), b"\xef\xbb\xbf" + ITALIAN.encode("utf-8")):
        path.write_bytes(data)
        notes = []
        assert read_text(path, notes=notes) == ITALIAN
        assert notes == []


@pytest.mark.parametrize("data, reason", [
    (bytes(range(256)) * 4, "binary"),  # NUL bytes, no byte-order mark
    (bytes(b for b in os.urandom(8000) if b)[:3000], "could not be detected"),  # noise without NULs
    (b"\xff\xfe" + b"\x00\xd8" * 50, "not UTF-16"),  # a UTF-16 mark before lone surrogates
    (b"\xff\xfe" + "\x01\x02\x03\x04\x05".encode("utf-16-le") * 40, "binary"),  # decodes to control characters
    # A few accented letters fit a dozen code pages equally well: refused, not guessed.
    ("Perché è così\n".encode("latin-1"), "save it as UTF-8"),
])
def test_what_cannot_be_told_apart_from_noise_is_skipped_with_a_reason(tmp_path, data, reason):
    path = tmp_path / "noise.txt"
    path.write_bytes(data)
    with pytest.raises(Skip, match=reason):
        read_text(path)


def test_decoded_files_load_end_to_end_with_their_notes(tmp_path):
    texts = {}
    for case, text, encoding, _ in DECODABLE:
        name = case.replace(" ", "_") + ".txt"
        (tmp_path / name).write_bytes(encoded(text, encoding))
        texts[name] = text
    record = {"title": "Ponte chiuso", "text": ITALIAN}
    (tmp_path / "feed.jsonl").write_bytes((json.dumps(record, ensure_ascii=False) + "\n").encode("cp1252"))
    texts["feed.jsonl"] = ITALIAN
    (tmp_path / "good.txt").write_text(ITALIAN, encoding="utf-8")
    texts["good.txt"] = ITALIAN
    result = load_paths([tmp_path])
    assert result.skipped == []
    by_file = {d.source.rsplit("/", 1)[-1].split("#")[0]: d for d in result.documents}
    assert {name: d.text for name, d in by_file.items()} == texts
    noted = {where.rsplit("/", 1)[-1]: what for where, what in result.notes}
    assert sorted(noted) == sorted(set(texts) - {"good.txt"})
    assert noted["windows-1252.txt"] == "decoded as windows-1252, not UTF-8"
    assert noted["feed.jsonl"] == "decoded as windows-1252, not UTF-8"


def page(charset_meta: str, body: str) -> str:
    return (f"<html><head>{charset_meta}<title>Ponte chiuso</title></head><body><article>"
            f"<h1>Ponte chiuso</h1><p>{body}</p><p>{body}</p></article></body></html>")


def test_an_html_page_in_windows_1252_is_decoded_by_its_meta_charset(tmp_path):
    # Two short accented words: too little to guess from, but the page says what it is in.
    body = "Il ponte è chiuso fino a lunedì per lavori urgenti sul pilone centrale del fiume."
    (tmp_path / "pagina.html").write_bytes(page('<meta charset="iso-8859-1">', body).encode("cp1252"))
    (tmp_path / "vecchia.html").write_bytes(
        page('<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">', body).encode("cp1252"))
    result = load_paths([tmp_path])
    assert result.skipped == []
    assert all(body in d.text for d in result.documents) and len(result.documents) == 2
    assert sorted(what for _, what in result.notes) == ["decoded as windows-1252, not UTF-8"] * 2


def test_a_wrong_meta_charset_does_not_stop_utf8_or_detection(tmp_path):
    body = "Il ponte è chiuso fino a lunedì per lavori urgenti sul pilone centrale del fiume."
    (tmp_path / "utf8.html").write_bytes(page('<meta charset="windows-1251">', body).encode("utf-8"))
    (tmp_path / "bogus.html").write_bytes(page('<meta charset="no-such-encoding">', ITALIAN).encode("cp1252"))
    result = load_paths([tmp_path])
    assert result.skipped == []
    texts = {d.source.rsplit("/", 1)[-1]: d.text for d in result.documents}
    assert body in texts["utf8.html"] and "Perché la città è più bella" in texts["bogus.html"]
    assert [where.rsplit("/", 1)[-1] for where, _ in result.notes] == ["bogus.html"]
