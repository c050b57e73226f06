"""Real files built in memory, each carrying known metadata markers, for upload tests."""

from __future__ import annotations

import io
import zipfile

import pikepdf
from PIL import Image

# Markers each file carries in its metadata, and which must not survive cleaning.
AUTHOR = "Philippa Quenby-Hartswood"
CAMERA_SERIAL = "SN-48151623"
CAMERA_MAKE = "Kittiwake Optics"
SOFTWARE = "Ravensmoor Writer 7.1"
COMPANY = "Ravensmoor Tenants Advice Collective"
# 51°30'N 0°07'W, as EXIF writes it.
GPS_LATITUDE = (51.0, 30.0, 0.0)
MARKERS = (AUTHOR, CAMERA_SERIAL, CAMERA_MAKE, SOFTWARE, COMPANY)


def jpeg_with_gps(*, orientation: int = 1, size: tuple[int, int] = (64, 32)) -> bytes:
    """A photo as a phone takes it: camera make, serial number, GPS position, the author."""
    image = Image.new("RGB", size, (30, 120, 200))
    # A red left half, so that a turned picture shows which way it was turned.
    image.paste((220, 30, 30), (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[0x010F] = CAMERA_MAKE
    exif[0x0110] = "KO-1"
    exif[0x0131] = SOFTWARE
    exif[0x013B] = AUTHOR
    exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0xA431] = CAMERA_SERIAL
    exif.get_ifd(0x8769)[0x9003] = "2026:11:30 09:15:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", GPS_LATITUDE, "W", (0.0, 7.0, 0.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=AUTHOR.encode())
    return out.getvalue()


def pdf_with_author(text: str = "Minutes of the meeting") -> bytes:
    """A one-page PDF whose Info dictionary and XMP name its author and software; `text`
    is in its (uncompressed) page content."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.pages[0].Contents = pdf.make_stream(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode())
    pdf.docinfo["/Author"] = AUTHOR
    pdf.docinfo["/Creator"] = SOFTWARE
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:creator"] = [AUTHOR]
        meta["xmp:CreatorTool"] = SOFTWARE
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()


def docx_with_author(text: str = "Minutes of the meeting") -> bytes:
    """A Word package whose core and app properties name its author, software and company."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"/>',
        )
        package.writestr(
            "docProps/core.xml",
            '<?xml version="1.0"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/'
            'package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<dc:creator>{AUTHOR}</dc:creator><cp:lastModifiedBy>{AUTHOR}</cp:lastModifiedBy>"
            "</cp:coreProperties>",
        )
        package.writestr(
            "docProps/app.xml",
            '<?xml version="1.0"?><Properties xmlns="http://schemas.openxmlformats.org/'
            f'officeDocument/2006/extended-properties"><Application>{SOFTWARE}</Application>'
            f"<Company>{COMPANY}</Company></Properties>",
        )
        package.writestr(
            "docProps/custom.xml",
            '<?xml version="1.0"?><Properties xmlns="http://schemas.openxmlformats.org/'
            'officeDocument/2006/custom-properties"><property name="Owner">'
            f"{AUTHOR}</property></Properties>",
        )
        package.writestr("word/document.xml", f"<w:document><w:t>{text}</w:t></w:document>")
    return out.getvalue()


def odt_with_author(text: str = "Minutes of the meeting") -> bytes:
    """An OpenDocument text whose meta.xml names its author and software."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr(
            zipfile.ZipInfo("mimetype"),
            "application/vnd.oasis.opendocument.text",
            compress_type=zipfile.ZIP_STORED,
        )
        package.writestr(
            "content.xml", f"<office:document-content>{text}</office:document-content>"
        )
        package.writestr(
            "meta.xml",
            '<?xml version="1.0"?><office:document-meta '
            'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
            'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" office:version="1.3"><office:meta>'
            f"<meta:initial-creator>{AUTHOR}</meta:initial-creator><dc:creator>{AUTHOR}"
            f"</dc:creator><meta:generator>{SOFTWARE}</meta:generator></office:meta>"
            "</office:document-meta>",
        )
    return out.getvalue()


def email_file() -> bytes:
    """An e-mail: its headers cannot be removed without changing it."""
    return (
        f"From: {AUTHOR} <p@example.org>\r\nTo: grants@example.org\r\nSubject: Our grant\r\n\r\n"
        "Please reconsider.\r\n"
    ).encode()
