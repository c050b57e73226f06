"""The cleaning of one file, without a database: what is removed, what is kept, what is refused."""

from __future__ import annotations

import io
import zipfile
import zlib
from typing import Any

import pikepdf
import pytest
from defusedxml import ElementTree
from PIL import Image, ImageCms, ImageFile
from PIL.PngImagePlugin import PngInfo

from mediation.domain import document_cleaning, png_chunks
from mediation.domain.document_cleaning import CleaningNote, NotCleanable, clean_document
from tests.document_files import (
    AUTHOR,
    CAMERA_MAKE,
    CAMERA_SERIAL,
    MARKERS,
    docx_with_author,
    jpeg_with_gps,
    odt_with_author,
    pdf_with_author,
)


def assert_no_markers(content: bytes) -> None:
    for marker in MARKERS:
        assert marker.encode() not in content, marker
        assert marker.encode("utf-16-le") not in content, marker


def unpacked(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        return {name: package.read(name) for name in package.namelist()}


def test_a_photo_loses_its_gps_position_camera_serial_and_author() -> None:
    original = jpeg_with_gps()
    assert CAMERA_SERIAL.encode() in original and AUTHOR.encode() in original
    cleaned = clean_document("photo.JPG", original)
    assert_no_markers(cleaned.content)
    for said in ("GPS position", "camera serial number", "camera make", "author", "comment"):
        assert said in cleaned.removed
    picture = Image.open(io.BytesIO(cleaned.content))
    assert picture.format == "JPEG"
    assert not picture.getexif()
    assert not {"exif", "comment", "icc_profile", "xmp"} & set(picture.info)


def test_a_photo_is_turned_upright_before_its_orientation_is_dropped() -> None:
    # Orientation 6: the camera was turned; the picture must be shown turned 90° clockwise.
    cleaned = clean_document("photo.jpeg", jpeg_with_gps(orientation=6, size=(64, 32)))
    picture = Image.open(io.BytesIO(cleaned.content)).convert("RGB")
    assert picture.size == (32, 64)
    # The red left half of the landscape picture is now its top half.
    red, _, blue = picture.getpixel((16, 8))  # type: ignore[misc]
    assert red > 150 and blue < 100
    red, _, blue = picture.getpixel((16, 56))  # type: ignore[misc]
    assert blue > 150 and red < 100


def test_a_png_loses_its_text_notes_exif_and_colour_profile_but_keeps_its_colours() -> None:
    image = Image.new("RGB", (8, 8), (10, 200, 30))
    notes = PngInfo()
    notes.add_text("Author", AUTHOR)
    exif = Image.Exif()
    exif[0x010F] = "Kittiwake Optics"
    out = io.BytesIO()
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image.save(out, "PNG", pnginfo=notes, exif=exif, icc_profile=profile)
    cleaned = clean_document("scan.png", out.getvalue())
    assert_no_markers(cleaned.content)
    assert {"text notes", "camera make"} <= set(cleaned.removed)
    picture = Image.open(io.BytesIO(cleaned.content))
    assert not picture.getexif() and "icc_profile" not in picture.info
    assert not getattr(picture, "text", {})
    assert picture.convert("RGB").getpixel((4, 4)) == (10, 200, 30)


def test_a_pdf_loses_its_info_dictionary_and_xmp_but_keeps_its_text() -> None:
    original = pdf_with_author("The grant letter of March")
    assert AUTHOR.encode() in original
    cleaned = clean_document("letter.pdf", original)
    assert_no_markers(cleaned.content)
    assert {"author", "the program that made it", "XMP metadata"} <= set(cleaned.removed)
    with pikepdf.open(io.BytesIO(cleaned.content)) as pdf:
        assert "/Info" not in pdf.trailer and "/Metadata" not in pdf.Root
        assert b"The grant letter of March" in pdf.pages[0].Contents.read_bytes()


def test_a_pdf_comment_loses_its_author_and_a_page_its_metadata() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    page = pdf.pages[0]
    page.obj["/Metadata"] = pdf.make_stream(f"<x>{AUTHOR}</x>".encode())
    note = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Text,
            Rect=[0, 0, 10, 10],
            T=AUTHOR,
            Contents="Please see clause 4",
        )
    )
    page.obj["/Annots"] = pdf.make_indirect(pikepdf.Array([note]))
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    cleaned = clean_document("marked.pdf", out.getvalue())
    assert_no_markers(cleaned.content)
    assert "names of who wrote comments" in cleaned.removed
    assert b"Please see clause 4" in cleaned.content  # the comment itself is kept


def test_a_password_protected_or_damaged_pdf_cannot_be_cleaned() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out, encryption=pikepdf.Encryption(owner="owner", user="secret"))
    with pytest.raises(NotCleanable, match="password"):
        clean_document("locked.pdf", out.getvalue())
    with pytest.raises(NotCleanable, match="could not read it as a PDF"):
        clean_document("broken.pdf", b"%PDF-1.4 nothing more")


def test_a_word_package_has_its_properties_emptied_and_the_rest_kept() -> None:
    cleaned = clean_document("minutes.docx", docx_with_author("Clause 4 was broken"))
    assert_no_markers(cleaned.content)
    assert {"author", "the program that made it", "company or organisation name"} <= set(
        cleaned.removed
    )
    assert "custom properties" in cleaned.removed
    parts = unpacked(cleaned.content)
    assert set(parts) == {
        "[Content_Types].xml",
        "docProps/core.xml",
        "docProps/app.xml",
        "docProps/custom.xml",
        "word/document.xml",
    }
    assert b"Clause 4 was broken" in parts["word/document.xml"]
    with zipfile.ZipFile(io.BytesIO(cleaned.content)) as package:
        # The parts' times, in local time in the original, are all one neutral time.
        assert {info.date_time for info in package.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_an_opendocument_keeps_its_mimetype_first_and_stored() -> None:
    cleaned = clean_document("minutes.odt", odt_with_author())
    assert_no_markers(cleaned.content)
    assert {"author", "name of the last person to edit it", "the program that made it"} <= set(
        cleaned.removed
    )
    with zipfile.ZipFile(io.BytesIO(cleaned.content)) as package:
        first = package.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        meta = package.read("meta.xml")
    assert b'office:version="1.3"' in meta and b"<office:meta/>" in meta


def test_a_zip_bomb_is_refused_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", b"\0" * (3 * 1024 * 1024))
    monkeypatch.setattr(document_cleaning, "MAX_UNPACKED_BYTES", 2 * 1024 * 1024)
    with pytest.raises(NotCleanable, match="unpacks to more than 2 MB"):
        clean_document("bomb.docx", out.getvalue())
    monkeypatch.setattr(document_cleaning, "MAX_PACKAGE_ENTRIES", 1)
    with pytest.raises(NotCleanable, match="more than 1 parts"):
        clean_document("many.docx", docx_with_author())


def test_text_has_nothing_to_remove_unless_it_is_another_file_in_disguise() -> None:
    assert clean_document("notes.txt", b"minutes").removed == ()
    assert clean_document("notes.csv", b"a,b\n1,2\n").content == b"a,b\n1,2\n"
    with pytest.raises(NotCleanable, match="another kind of file"):
        clean_document("photo.txt", jpeg_with_gps())


@pytest.mark.parametrize("name", ["mail.eml", "old.doc", "old.xls", "letter.rtf", "x.exe"])
def test_files_we_cannot_clean_say_why(name: str) -> None:
    with pytest.raises(NotCleanable) as refused:
        clean_document(name, b"anything")
    assert refused.value.reason.endswith(".")


def test_a_picture_that_is_not_one_cannot_be_cleaned() -> None:
    with pytest.raises(NotCleanable, match="JPEG or PNG"):
        clean_document("photo.jpg", b"\xff\xd8\xff not really")


def test_the_note_reads_as_plain_english_and_survives_being_sealed() -> None:
    note = CleaningNote(removed=("author", "GPS position", "camera serial number"))
    assert note.summary == "Removed: author, GPS position and camera serial number."
    assert CleaningNote.from_json(note.to_json()) == note
    kept = CleaningNote(kept_as_sent="it is protected by a password.")
    assert kept.summary.startswith("Kept as you sent it, with whatever details it carries")
    assert CleaningNote().summary == "We found no hidden details to remove."


def test_a_photo_pasted_into_a_document_loses_its_exif_but_keeps_its_orientation() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", "<w:document/>")
        package.writestr("word/media/image1.jpeg", jpeg_with_gps(orientation=6))
    cleaned = clean_document("report.docx", out.getvalue())
    assert_no_markers(cleaned.content)
    assert {"a picture's GPS position", "a picture's camera serial number"} <= set(cleaned.removed)
    picture = Image.open(io.BytesIO(unpacked(cleaned.content)["word/media/image1.jpeg"]))
    # Not turned: the document sized its frame for the picture as it was, tag and all.
    assert picture.size == (64, 32)
    assert dict(picture.getexif()) == {0x0112: 6}


def test_a_picture_inside_a_document_that_cannot_be_read_refuses_the_document() -> None:
    """It was kept as it was, with whatever notes or GPS position it carried, while the
    complainant was told the file had been cleaned (found in review): now the document
    is refused as one that cannot be cleaned, kept only with the complainant's consent."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        package.writestr("content.xml", "<x/>")
        package.writestr("Pictures/odd.jpg", b"\xff\xd8\xff not a picture")
    with pytest.raises(NotCleanable, match="a picture inside it could not be read"):
        clean_document("notes.odt", out.getvalue())
    damaged_png = io.BytesIO()
    with zipfile.ZipFile(damaged_png, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/media/image1.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dtEXtcut")
    with pytest.raises(NotCleanable, match="a picture inside it could not be read"):
        clean_document("letter.docx", damaged_png.getvalue())


def test_a_document_with_too_many_pixels_of_pictures_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        for n in range(3):
            package.writestr(f"ppt/media/image{n}.jpg", jpeg_with_gps())
    monkeypatch.setattr(document_cleaning, "MAX_EMBEDDED_PIXELS", 5000)  # two of 64 x 32
    with pytest.raises(NotCleanable, match="pictures inside it add up to more than"):
        clean_document("slides.pptx", out.getvalue())


def test_a_photo_scanned_into_a_pdf_loses_its_exif() -> None:
    photo = jpeg_with_gps(size=(64, 32))
    pdf = pikepdf.new()
    pdf.add_blank_page()
    picture = pdf.make_stream(
        photo,
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=64,
        Height=32,
        ColorSpace=pikepdf.Name.DeviceRGB,
        BitsPerComponent=8,
        Filter=pikepdf.Name.DCTDecode,
    )
    pdf.pages[0].Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=picture))
    pdf.pages[0].Contents = pdf.make_stream(b"q 64 0 0 32 0 0 cm /Im0 Do Q")
    out = io.BytesIO()
    pdf.save(out)
    assert CAMERA_SERIAL.encode() in out.getvalue()
    cleaned = clean_document("scan.pdf", out.getvalue())
    assert_no_markers(cleaned.content)
    assert "a picture's GPS position" in cleaned.removed
    with pikepdf.open(io.BytesIO(cleaned.content)) as opened:
        image = opened.pages[0].Resources.XObject.Im0
        shown = Image.open(io.BytesIO(image.read_raw_bytes()))
        assert shown.size == (64, 32) and not shown.getexif()


def docx_with_part(name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", "<w:document/>")
        package.writestr(name, content)
    return out.getvalue()


def test_a_property_part_that_unpacks_huge_is_refused_before_any_of_it_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Some 16 KB of zip that unpacks to 8 MB of elements: parsed, it took gigabytes.
    swollen = b"<cp:coreProperties>" + b"<b x='1'/>" * 800_000 + b"</cp:coreProperties>"
    bomb = docx_with_part("docProps/core.xml", swollen)
    assert len(bomb) < 100_000
    read: list[int] = []  # how much was asked of the property part, each time
    original = zipfile.ZipExtFile.read

    def counted(self: zipfile.ZipExtFile, n: int | None = -1) -> bytes:
        if self.name == "docProps/core.xml":
            read.append(n if n is not None and n >= 0 else len(swollen))
        return original(self, n)

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counted)
    with pytest.raises(NotCleanable, match="document properties take more than 256 KB"):
        clean_document("bomb.docx", bomb)
    assert sum(read) == 0
    # One whose entry lies, declaring 100 bytes, is asked for no more than the limit (and
    # zipfile gives no more than declared: the part then fails its checksum).
    liar = declaring(bomb, "docProps/core.xml", 100)
    with zipfile.ZipFile(io.BytesIO(liar)) as package:
        assert package.getinfo("docProps/core.xml").file_size == 100
    with pytest.raises(NotCleanable, match="damaged"):
        clean_document("liar.docx", liar)
    assert read and sum(read) <= document_cleaning.MAX_PROPERTY_PART_BYTES + 1


def declaring(package: bytes, name: str, size: int) -> bytes:
    """The zip with `name`'s uncompressed size, in its local and central headers, changed."""
    forged = bytearray(package)
    for signature, field in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := forged.find(signature, start)) != -1:
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if forged[name_at : name_at + len(name)] == name.encode():
                forged[start + field : start + field + 4] = size.to_bytes(4, "little")
            start += 4
    return bytes(forged)


def test_an_opendocument_meta_part_that_unpacks_huge_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        package.writestr("content.xml", "<x/>")
        package.writestr("meta.xml", b"<m>" + b"<b x='1'/>" * 100_000 + b"</m>")
    with pytest.raises(NotCleanable, match="more than 256 KB"):
        clean_document("notes.odt", out.getvalue())


def png_header(width: int, height: int) -> bytes:
    """Only a PNG's signature and header, with a scrap of picture data: enough for its
    size to be read, never enough to decode it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
        )

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    data = zlib.compress(b"\0")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def test_a_48_megapixel_picture_is_refused_from_its_header_and_a_24_megapixel_one_is_not() -> None:
    # A phone's "high resolution" mode: 8000 x 6000. Refused before decoding (this one
    # could not be decoded at all), with a reason the complainant can act on.
    with pytest.raises(NotCleanable, match="larger than 25 megapixels") as refused:
        clean_document("photo.png", png_header(8000, 6000))
    assert refused.value.reason.endswith(".")
    # An iPhone's 24-megapixel photo, 5712 x 4284, is within the limit: this one gets as
    # far as decoding (where its scrap of data fails).
    with pytest.raises(NotCleanable, match="could not read it as a JPEG or PNG"):
        clean_document("photo.png", png_header(5712, 4284))


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small photo with GPS whose header declares another size: never decodable as such."""
    photo = bytearray(jpeg_with_gps())
    frame = photo.index(b"\xff\xc0")  # baseline frame header: length, precision, height, width
    photo[frame + 5 : frame + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(photo)


def test_a_picture_too_large_inside_a_document_refuses_the_document() -> None:
    with pytest.raises(NotCleanable, match="a picture inside it is larger than 25 megapixels"):
        clean_document(
            "report.docx", docx_with_part("word/media/big.jpeg", jpeg_declaring(8000, 6000))
        )


def pdf_with_pictures(photos: list[bytes], *, declared: tuple[int, int] = (64, 32)) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pictures = pikepdf.Dictionary()
    for n, photo in enumerate(photos):
        pictures[f"/Im{n}"] = pdf.make_stream(
            photo,
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Image,
            Width=declared[0],
            Height=declared[1],
            ColorSpace=pikepdf.Name.DeviceRGB,
            BitsPerComponent=8,
            Filter=pikepdf.Name.DCTDecode,
        )
    pdf.pages[0].Resources = pikepdf.Dictionary(XObject=pictures)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def test_a_pdf_whose_pictures_add_up_to_too_many_pixels_is_refused_before_decoding_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoded: list[tuple[int, int]] = []
    load = ImageFile.ImageFile.load

    def counted(self: ImageFile.ImageFile) -> Any:
        if self.tile:  # still to decode
            decoded.append(self.size)
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counted)
    monkeypatch.setattr(document_cleaning, "MAX_EMBEDDED_PIXELS", 5000)  # two of 64 x 32
    with pytest.raises(NotCleanable, match="pictures inside it add up to more than"):
        clean_document("scans.pdf", pdf_with_pictures([jpeg_with_gps()] * 3))
    assert len(decoded) == 2  # the third was refused from its header
    clean_document("scans.pdf", pdf_with_pictures([jpeg_with_gps()] * 2))


def test_a_pdf_picture_declared_too_large_is_refused() -> None:
    with pytest.raises(NotCleanable, match="a picture inside it is larger than 25 megapixels"):
        clean_document("scan.pdf", pdf_with_pictures([jpeg_with_gps()], declared=(8000, 6000)))


def test_a_png_pasted_into_a_document_loses_its_text_notes_xmp_and_exif() -> None:
    notes = PngInfo()
    notes.add_text("Author", AUTHOR)
    notes.add_itxt("XML:com.adobe.xmp", f"<x:xmpmeta>{CAMERA_SERIAL}</x:xmpmeta>")
    exif = Image.Exif()
    exif[0x010F] = CAMERA_MAKE
    exif[0x0112] = 6
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 30)).save(out, "PNG", pnginfo=notes, exif=exif)
    for name, package in (
        ("report.docx", docx_with_part("word/media/image1.png", out.getvalue())),
        ("report.odt", odt_with_part("Pictures/image1.png", out.getvalue())),
    ):
        cleaned = clean_document(name, package)
        assert_no_markers(cleaned.content)
        assert {"a picture's text notes", "a picture's XMP metadata"} <= set(cleaned.removed)
        picture = Image.open(
            io.BytesIO(next(v for k, v in unpacked(cleaned.content).items() if k.endswith(".png")))
        )
        assert picture.convert("RGB").getpixel((4, 4)) == (10, 200, 30)
        assert dict(picture.getexif()) == {0x0112: 6}  # kept, as for a JPEG in a document
        assert not getattr(picture, "text", {})
        assert "a picture's camera make" in cleaned.removed


def odt_with_part(name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        package.writestr("content.xml", "<x/>")
        package.writestr(name, content)
    return out.getvalue()


TEMPLATE_PATH = f"file:///C:\\Users\\{AUTHOR}\\AppData\\Roaming\\Microsoft\\Templates\\Letter.dotm"


def test_a_word_documents_attached_template_loses_its_location() -> None:
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        f'relationships/attachedTemplate" Target="{TEMPLATE_PATH}" TargetMode="External"/>'
        '<Relationship Id="rId2" Type="http://example.org/other" Target="other.xml"/>'
        "</Relationships>"
    )
    cleaned = clean_document(
        "letter.docx", docx_with_part("word/_rels/settings.xml.rels", rels.encode())
    )
    assert_no_markers(cleaned.content)
    assert "the attached template's location" in cleaned.removed
    kept = unpacked(cleaned.content)["word/_rels/settings.xml.rels"]
    root = ElementTree.fromstring(kept)
    namespace = "{http://schemas.openxmlformats.org/package/2006/relationships}"
    assert root.tag == f"{namespace}Relationships"
    assert kept.startswith(b"<?xml") and b"<Relationships xmlns=" in kept  # no prefix
    found = {r.get("Id"): r.attrib for r in root.iter(f"{namespace}Relationship")}
    assert found["rId1"]["Target"] == "" and found["rId1"]["TargetMode"] == "External"
    assert found["rId2"]["Target"] == "other.xml"


def test_an_opendocuments_settings_lose_the_printer_name_and_setup() -> None:
    config = "urn:oasis:names:tc:opendocument:xmlns:config:1.0"
    settings = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-settings xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        f' xmlns:config="{config}" office:version="1.3"><office:settings>'
        '<config:config-item-set config:name="ooo:configuration-settings">'
        f'<config:config-item config:name="PrinterName" config:type="string">{AUTHOR} HP'
        "</config:config-item>"
        '<config:config-item config:name="PrinterSetup" config:type="base64Binary">'
        "c2VjcmV0</config:config-item>"
        '<config:config-item config:name="PrinterIndependentLayout" config:type="string">'
        "high-resolution</config:config-item>"
        "</config:config-item-set></office:settings></office:document-settings>"
    )
    cleaned = clean_document("notes.odt", odt_with_part("settings.xml", settings.encode()))
    assert_no_markers(cleaned.content)
    assert "the name of the printer it was set up for" in cleaned.removed
    root = ElementTree.fromstring(unpacked(cleaned.content)["settings.xml"])
    names = [item.get(f"{{{config}}}name") for item in root.iter(f"{{{config}}}config-item")]
    assert names == ["PrinterIndependentLayout"]


def test_a_png_inside_a_document_is_not_decoded_and_a_huge_one_costs_nothing() -> None:
    # Its picture data is copied as it is: a 48-megapixel header (which could not be
    # decoded) goes through, its picture chunk unchanged.
    huge = png_header(8000, 6000)
    cleaned = clean_document("report.docx", docx_with_part("word/media/big.png", huge))
    assert unpacked(cleaned.content)["word/media/big.png"] == huge
    assert png_chunks.read_chunks(huge)[-1].kind == b"IEND"  # a whole PNG
    # One whose chunks are damaged could keep notes no one can strip: the document is
    # refused as one that cannot be cleaned (kept only with the complainant's consent).
    damaged = huge[:40]
    with pytest.raises(NotCleanable, match="a picture inside it could not be read"):
        clean_document("report.docx", docx_with_part("word/media/bad.png", damaged))
