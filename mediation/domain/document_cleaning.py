"""Removing what a complainant's file says about its making (author, software, GPS, camera).

Pure: bytes and a file name in, cleaned bytes and a plain-English list of what was removed
out, or `NotCleanable` saying why not. Pictures go through Pillow, PDF through pikepdf
(qpdf), Office Open XML and OpenDocument files are zip packages whose property parts are
rewritten empty; everything else in the file is kept as it was.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, ParseError, tostring
from xml.sax.saxutils import quoteattr

import pikepdf
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from PIL import Image, ImageCms, ImageOps, JpegImagePlugin, UnidentifiedImageError

from mediation.domain import png_chunks

# A picture larger than this is not decoded (decoding costs about 4 bytes a pixel, and
# the upload that asks for it can be tiny). Phones take 12 megapixels by default; a
# 24-megapixel photo (an iPhone's 5712 x 4284 is 24.5) passes, the 48- and 50-megapixel
# "high resolution" modes do not: such a picture is refused like any file we cannot clean.
MAX_IMAGE_PIXELS = 25_000_000
# An Office or OpenDocument package is unpacked only within these bounds (a zip bomb
# declares far more); each part is read no further than the size its entry declares.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_PACKAGE_ENTRIES = 5_000
# The pictures inside one document (Office, OpenDocument or PDF) are cleaned up to this
# many pixels in all, counted from their headers before any is decoded.
MAX_EMBEDDED_PIXELS = 100_000_000
# A part that is parsed as XML is refused beyond these sizes (read no further, whatever
# its entry declares): a parsed tree takes some thirty times the XML's size in memory,
# and a real document's properties take a few kilobytes, its settings some tens.
MAX_PROPERTY_PART_BYTES = 256 * 1024
MAX_SETTINGS_PART_BYTES = 1024 * 1024
# Zip entries carry a modification time in local time: every part gets this one instead.
NEUTRAL_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

KEEP_AS_SENT_LABEL = "Keep this file as it is, with whatever details it carries"
BEFORE_UPLOAD_NOTICE = (
    "Before we keep a file we remove the details it carries about its making: the author, "
    "company, the program that made it and its dates in PDF, Word, Excel and OpenDocument "
    "files, and where a Word file's template was kept or which printer an OpenDocument file "
    "was set up for; the GPS position, camera make, model and serial number and the time "
    "taken in photos, and in JPEG and PNG pictures inside documents. We tell you, file by "
    "file, what we removed. Comments and tracked changes inside a document keep their "
    "authors' names, and what a document says is not changed: remove anything that would "
    "give you away before you add it. E-mails (.eml), RTF files, older Word and Excel files "
    f"(.doc, .xls) and pictures over {MAX_IMAGE_PIXELS // 1_000_000} megapixels (a phone's "
    "“high resolution” mode) cannot be cleaned: we keep one only if you tick “"
    + KEEP_AS_SENT_LABEL
    + "”."
)


# What Pillow (and the PNG chunk reader) raise for bytes that are not a picture they can
# read: one list, so that every place that reads a picture refuses the same things.
_UNREADABLE_PICTURE: tuple[type[Exception], ...] = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
)
# A picture decoded (its compressed data may be cut), and a PNG read chunk by chunk.
_UNREADABLE_IMAGE_DATA: tuple[type[Exception], ...] = (*_UNREADABLE_PICTURE, zlib.error)
_UNREADABLE_PNG_CHUNKS: tuple[type[Exception], ...] = (
    png_chunks.DamagedPng,
    *_UNREADABLE_PICTURE,
)


class NotCleanable(Exception):
    """A file whose details we cannot remove; `reason` says why, in words for its sender."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PictureTooLarge(NotCleanable):
    """A picture with more pixels than we decode: refused, never kept as it is unasked,
    even inside a document."""


@dataclass(frozen=True)
class Cleaned:
    """The file without its details, and what was removed (empty: nothing was found)."""

    content: bytes
    removed: tuple[str, ...]


@dataclass(frozen=True)
class CleaningNote:
    """What the complainant is told about one file: what was removed, or that it was kept
    as sent (with their consent) and why it could not be cleaned. Sealed with the file."""

    removed: tuple[str, ...] = ()
    kept_as_sent: str | None = None

    @property
    def summary(self) -> str:
        if self.kept_as_sent is not None:
            return f"Kept as you sent it, with whatever details it carries: {self.kept_as_sent}"
        if self.removed:
            return "Removed: " + join_words(self.removed) + "."
        return "We found no hidden details to remove."

    def as_dict(self) -> dict[str, Any]:
        """As the JSON API tells the complainant."""
        return {
            "removed": list(self.removed),
            "kept_as_sent": self.kept_as_sent is not None,
            "note": self.summary,
        }

    def to_json(self) -> str:
        return json.dumps({"removed": list(self.removed), "kept_as_sent": self.kept_as_sent})

    @classmethod
    def from_json(cls, text: str) -> CleaningNote:
        data = json.loads(text)
        kept = data.get("kept_as_sent")
        return cls(
            removed=tuple(str(r) for r in data.get("removed", [])),
            kept_as_sent=str(kept) if kept is not None else None,
        )


def join_words(words: Iterable[str]) -> str:
    items = list(words)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _unique(labels: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(labels))


def clean_document(name: str, content: bytes) -> Cleaned:
    """`content` without the details it carries, by the type its name says it is."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    cleaner = _CLEANERS.get(extension)
    if cleaner is None:
        raise NotCleanable(
            _UNCLEANABLE.get(extension, "we do not know how to remove details from this type.")
        )
    return cleaner(content)


# --- plain text: nothing hidden, unless it is another kind of file under a text name.

_OTHER_KINDS = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG",
    b"%PDF",
    b"PK\x03\x04",  # zip: Office, OpenDocument
    b"\xd0\xcf\x11\xe0",  # older Office
    b"{\\rtf",
)


def _clean_text(content: bytes) -> Cleaned:
    if content.lstrip()[:8].startswith(_OTHER_KINDS):
        raise NotCleanable("it is named as text but holds another kind of file.")
    return Cleaned(content, ())


# --- pictures: Pillow decodes, turns the picture upright and writes it again bare.

_EXIF_LABELS = {
    0x010F: "camera make",
    0x0110: "camera model",
    0x0131: "software",
    0x0132: "date and time",
    0x013B: "author",
    0x010E: "description",
    0x8298: "copyright notice",
    0x9C9D: "author",
    0x9C9C: "comment",
    0x9C9B: "title",
}
_EXIF_IFD_LABELS = {
    0x9003: "date and time taken",
    0x9004: "date and time taken",
    0xA430: "camera owner's name",
    0xA431: "camera serial number",
    0xA435: "lens serial number",
    0xA433: "lens make",
    0xA434: "lens model",
    0x927C: "camera maker's notes",
    0x9286: "comment",
    0xA420: "unique picture ID",
}
_ORIENTATION = 0x0112
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
# The orientation is applied to the picture rather than removed; the pointers to the
# sub-directories are not details in themselves.
_EXIF_STRUCTURE = (_ORIENTATION, _EXIF_IFD, _GPS_IFD)
_ICC_LABEL = "colour profile (its colours are kept)"
# What of a picture's `info` is the picture itself rather than about it.
_IMAGE_INFO_KEPT = ("transparency",)


def _exif_details(exif: Image.Exif) -> list[str]:
    found: list[str] = []
    if exif:
        found += [_EXIF_LABELS[tag] for tag in exif if tag in _EXIF_LABELS]
        gps = exif.get_ifd(_GPS_IFD)
        if gps:
            found.append("GPS position")
        sub = exif.get_ifd(_EXIF_IFD)
        found += [_EXIF_IFD_LABELS[tag] for tag in sub if tag in _EXIF_IFD_LABELS]
        others = [t for t in exif if t not in _EXIF_LABELS and t not in _EXIF_STRUCTURE]
        if others or any(tag not in _EXIF_IFD_LABELS for tag in sub):
            found.append("other camera settings")
    return found


def _image_details(image: Image.Image) -> list[str]:
    found = _exif_details(image.getexif())
    info = image.info
    if "xmp" in info or "XML:com.adobe.xmp" in info:
        found.append("XMP metadata")
    if "photoshop" in info or any(marker == "APP13" for marker, _ in _applist(image)):
        found.append("IPTC details (such as a photographer's name or place)")
    if info.get("icc_profile"):
        found.append(_ICC_LABEL)
    if "comment" in info:
        found.append("comment")
    text_chunks = [k for k in getattr(image, "text", {}) if k not in ("XML:com.adobe.xmp",)]
    if text_chunks:
        found.append("text notes")
    if getattr(image, "n_frames", 1) > 1:
        found.append("extra pictures stored in the file (such as a preview or depth map)")
    return found


def _applist(image: Image.Image) -> list[tuple[str, bytes]]:
    applist = getattr(image, "applist", [])
    return list(applist) if isinstance(applist, list) else []


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """The picture in standard colours, so that dropping its profile changes no colour."""
    if image.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        target = ImageCms.createProfile("sRGB")
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        if image.mode == "L":
            return image  # a grey profile's tone curve is close enough to sRGB's
        converted = ImageCms.profileToProfile(image, source, target, outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image
    return converted if converted is not None else image


def _clean_image(content: bytes) -> Cleaned:
    return _clean_picture(content, upright=True)[0]


def _too_many_pixels(what: str) -> PictureTooLarge:
    return PictureTooLarge(
        f"{what} is larger than {MAX_IMAGE_PIXELS // 1_000_000} megapixels, more than we "
        "clean (a phone's usual photo is 12 to 24)."
    )


def _over_budget() -> PictureTooLarge:
    return PictureTooLarge(
        f"the pictures inside it add up to more than {MAX_EMBEDDED_PIXELS // 1_000_000} "
        "megapixels, more than we clean."
    )


def _clean_picture(
    content: bytes, *, upright: bool, pixels_left: int | None = None
) -> tuple[Cleaned, int]:
    """The picture written again bare, and its size in pixels. `upright` turns it by its
    EXIF orientation; a picture inside a document keeps the orientation tag instead (and
    nothing else of its EXIF), since the document sized its frame for it as it was. Its
    size is checked from its header, against the limit and `pixels_left` (what remains of
    its document's budget), before it is decoded."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(content), formats=["JPEG", "PNG"])
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise _too_many_pixels("the picture")
            if pixels_left is not None and image.width * image.height > pixels_left:
                raise _over_budget()
            if image.format == "PNG" and getattr(image, "n_frames", 1) > 1:
                raise NotCleanable("it is an animated picture.")
            removed = _image_details(image)
            orientation = image.getexif().get(_ORIENTATION)
            image.load()
            turned = (ImageOps.exif_transpose(image) or image) if upright else image.copy()
            icc = image.info.get("icc_profile")
            if icc:
                turned = _to_srgb(turned, icc)
            turned.info = {k: image.info[k] for k in _IMAGE_INFO_KEPT if k in image.info}
            bare = Image.Exif()
            if not upright and orientation in range(2, 9):
                bare[_ORIENTATION] = orientation
            out = io.BytesIO()
            if image.format == "PNG":
                turned.save(out, "PNG", exif=bare.tobytes() if bare else None)
            else:
                _save_jpeg(image, turned, out, exif=bare.tobytes() if bare else b"")
        except NotCleanable:
            raise
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise _too_many_pixels("the picture") from exc
        except _UNREADABLE_IMAGE_DATA as exc:
            raise NotCleanable("we could not read it as a JPEG or PNG picture.") from exc
    return Cleaned(out.getvalue(), _unique(removed)), image.width * image.height


def _save_jpeg(
    original: Image.Image, upright: Image.Image, out: io.BytesIO, *, exif: bytes
) -> None:
    """Written again with the original's quantisation tables and subsampling where the
    picture kept its colour mode, so it loses next to nothing in quality."""
    options: dict[str, Any] = {"quality": 90}
    if upright.mode == original.mode and isinstance(original, JpegImagePlugin.JpegImageFile):
        tables = getattr(original, "quantization", None)
        if tables:
            options = {"qtables": tables, "subsampling": JpegImagePlugin.get_sampling(original)}
            if options["subsampling"] == -1:
                del options["subsampling"]
    if upright.mode not in ("RGB", "L", "CMYK"):
        upright = upright.convert("RGB")
        options = {"quality": 90}
    upright.save(out, "JPEG", exif=exif, **options)


# --- PDF: pikepdf (qpdf) drops the Info dictionary, XMP streams and comment authors.

_PDF_INFO_LABELS = {
    "/Author": "author",
    "/Creator": "the program that made it",
    "/Producer": "the program that made the PDF",
    "/Title": "title",
    "/Subject": "subject",
    "/Keywords": "keywords",
    "/CreationDate": "date created",
    "/ModDate": "date last changed",
}
# Annotations whose /T is a form field's name rather than the name of who wrote it.
_NAMED_ANNOTATIONS = ("/Widget", "/Link", "/Popup")


def _clean_pdf(content: bytes) -> Cleaned:
    try:
        pdf = pikepdf.open(io.BytesIO(content))
    except pikepdf.PasswordError as exc:
        raise NotCleanable("it is protected by a password.") from exc
    except (pikepdf.PdfError, ValueError, RuntimeError, OSError) as exc:
        raise NotCleanable("we could not read it as a PDF.") from exc
    try:
        with pdf:
            removed = _strip_pdf(pdf)
            out = io.BytesIO()
            # A new document ID made from the content: the old one linked it to its origin.
            pdf.save(out, deterministic_id=True, encryption=False, compress_streams=False)
    except (pikepdf.PdfError, ValueError, RuntimeError, OSError) as exc:
        raise NotCleanable("we could not read it as a PDF.") from exc
    return Cleaned(out.getvalue(), _unique(removed))


def _drop(holder: pikepdf.Object, key: str, label: str, removed: list[str]) -> None:
    """Remove `key` from a PDF object, saying what went in `removed`, if it is there."""
    if key in holder:
        removed.append(label)
        del holder[key]


def _strip_pdf(pdf: pikepdf.Pdf) -> list[str]:
    removed: list[str] = []
    pixels = 0
    info = pdf.trailer.get("/Info")
    if isinstance(info, pikepdf.Dictionary):
        # In a fixed order: qpdf's dictionaries do not keep the order of the file.
        given = {str(key) for key in info.keys() if str(info.get(key, "")).strip()}  # noqa: SIM118
        removed += [label for key, label in _PDF_INFO_LABELS.items() if key in given]
        if given - set(_PDF_INFO_LABELS):
            removed.append("other document properties")
    if "/Info" in pdf.trailer:
        del pdf.trailer["/Info"]
    _drop(pdf.Root, "/Metadata", "XMP metadata", removed)
    for key in ("/PieceInfo", "/SpiderInfo"):
        _drop(pdf.Root, key, "the editing program's private data", removed)
    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            continue
        _drop(obj, "/Metadata", "metadata of pages and pictures inside it", removed)
        _drop(obj, "/PieceInfo", "the editing program's private data", removed)
        if obj.get("/Type") == "/Annot" and obj.get("/Subtype") not in _NAMED_ANNOTATIONS:
            _drop(obj, "/T", "names of who wrote comments", removed)
            _drop(obj, "/M", "dates of comments", removed)
        if (
            isinstance(obj, pikepdf.Stream)
            and obj.get("/Subtype") == "/Image"
            and obj.get("/Filter") == "/DCTDecode"
        ):
            found, size = _strip_pdf_jpeg(obj, MAX_EMBEDDED_PIXELS - pixels)
            removed += [f"a picture's {label}" for label in found]
            pixels += size
    return removed


def _declared_pixels(stream: pikepdf.Stream) -> int:
    """The picture's size as its PDF dictionary declares it (0 if it declares none)."""
    width, height = stream.get("/Width"), stream.get("/Height")
    if isinstance(width, int) and isinstance(height, int):
        return max(width, 0) * max(height, 0)
    return 0


def _strip_pdf_jpeg(stream: pikepdf.Stream, pixels_left: int) -> tuple[list[str], int]:
    """A JPEG picture in a PDF (a scan from a phone keeps the photo's EXIF) written again
    without its EXIF, XMP, IPTC and comments, when it carries any, and the pixels that
    took (0 when it carries none and is left alone). Its size is checked, from the PDF's
    dictionary and the JPEG's header, against the limit and `pixels_left` before it is
    decoded. Its colour profile, if any, is dropped without converting: the PDF's colour
    space governs how it is shown."""
    raw = stream.read_raw_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(raw), formats=["JPEG"])
            found = [label for label in _image_details(image) if label != _ICC_LABEL]
            if not found:
                return [], 0
            size = max(_declared_pixels(stream), image.width * image.height)
            if size > MAX_IMAGE_PIXELS:
                raise _too_many_pixels("a picture inside it")
            if size > pixels_left:
                raise _over_budget()
            if image.mode not in ("L", "RGB"):
                raise NotCleanable("a picture inside it carries details we cannot remove.")
            image.load()
            bare = image.copy()
            bare.info = {}
            out = io.BytesIO()
            _save_jpeg(image, bare, out, exif=b"")
        except NotCleanable:
            raise
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise _too_many_pixels("a picture inside it") from exc
        except _UNREADABLE_PICTURE:
            return [], 0  # not a picture Pillow reads: it carries nothing Pillow could find
    parms = stream.get("/DecodeParms")
    kept = parms if isinstance(parms, pikepdf.Dictionary | pikepdf.Array) else None
    stream.write(out.getvalue(), filter=pikepdf.Name.DCTDecode, decode_parms=kept)
    return found, size


# --- Office Open XML and OpenDocument: zip packages whose property parts are rewritten.

_OOXML_CORE = "docProps/core.xml"
_OOXML_APP = "docProps/app.xml"
_OOXML_CUSTOM = "docProps/custom.xml"
_ODF_META = "meta.xml"
_ODF_MIMETYPE = "mimetype"
_ODF_SETTINGS = "settings.xml"

_NEUTRAL_CORE = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
    b'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    b'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" '
    b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
)
_NEUTRAL_APP = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'docPropsVTypes"/>'
)
# Emptied rather than dropped: the package's relationships and content types still name it.
_NEUTRAL_CUSTOM = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'docPropsVTypes"/>'
)
_ODF_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_ODF_VERSION = re.compile(r"^[0-9]\.[0-9]$")

_CORE_LABELS = {
    "creator": "author",
    "lastModifiedBy": "name of the last person to edit it",
    "title": "title",
    "subject": "subject",
    "keywords": "keywords",
    "description": "comments in its properties",
    "category": "category",
    "contentStatus": "status",
    "created": "date created",
    "modified": "date last changed",
    "lastPrinted": "date last printed",
    "revision": "revision number",
}
_APP_LABELS = {
    "Application": "the program that made it",
    "AppVersion": "the program that made it",
    "Company": "company or organisation name",
    "Manager": "manager's name",
    "Template": "template name",
    "TotalTime": "total editing time",
    "HyperlinkBase": "link base address",
}
_ODF_LABELS = {
    "initial-creator": "author",
    "creator": "name of the last person to edit it",
    "generator": "the program that made it",
    "creation-date": "date created",
    "date": "date last changed",
    "editing-duration": "total editing time",
    "editing-cycles": "revision number",
    "print-date": "date last printed",
    "printed-by": "name of the last person to print it",
    "title": "title",
    "subject": "subject",
    "keyword": "keywords",
    "description": "comments in its properties",
    "user-defined": "custom properties",
    "template": "template name",
    "document-statistic": "document statistics",
}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse_xml(data: bytes, what: str = "document properties") -> Element:
    try:
        root: Element = fromstring(data)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise NotCleanable(f"its {what} are damaged.") from exc
    return root


def _read_part(package: zipfile.ZipFile, entry: zipfile.ZipInfo, what: str, limit: int) -> bytes:
    """A part we parse, refused by the size its entry declares before any of it is read,
    and read no further than `limit` whatever that declares (a small package can unpack
    a property part to gigabytes)."""
    refusal = NotCleanable(
        f"its {what} take more than {limit // 1024} KB, far more than a real document's; "
        "we do not read that much."
    )
    if entry.file_size > limit:
        raise refusal
    with package.open(entry) as source:
        data = source.read(limit + 1)
    if len(data) > limit:
        raise refusal
    return data


def _has_value(element: Element) -> bool:
    return bool((element.text or "").strip()) or len(element) > 0 or bool(element.attrib)


def _ooxml_details(part: str, data: bytes) -> list[str]:
    root = _parse_xml(data)
    if part == _OOXML_CUSTOM:
        return ["custom properties"] if len(root) else []
    labels = _CORE_LABELS if part == _OOXML_CORE else _APP_LABELS
    other = "other document properties" if part == _OOXML_CORE else "document statistics"
    return [labels.get(_local(child.tag), other) for child in root if _has_value(child)]


def _odf_details(data: bytes) -> tuple[list[str], str]:
    root = _parse_xml(data)
    version = root.get(f"{{{_ODF_OFFICE}}}version", "1.2")
    found: list[str] = []
    for meta in root:
        if _local(meta.tag) != "meta":
            continue
        found += [
            _ODF_LABELS.get(_local(item.tag), "other document properties")
            for item in meta
            if _has_value(item)
        ]
    return found, version if _ODF_VERSION.match(version) else "1.2"


def _neutral_odf_meta(version: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<office:document-meta xmlns:office="{_ODF_OFFICE}" office:version="{version}">'
        "<office:meta/></office:document-meta>"
    ).encode()


_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
_ATTACHED_TEMPLATE = "/attachedTemplate"
_ODF_CONFIG = "urn:oasis:names:tc:opendocument:xmlns:config:1.0"
# What an OpenDocument's settings say about the machine it was last printed from.
_ODF_PRINTER_ITEMS = ("PrinterName", "PrinterSetup")


def _is_settings_relationships(name: str, *, odf: bool) -> bool:
    return not odf and name.endswith("_rels/settings.xml.rels")


def _blank_template_paths(data: bytes) -> tuple[list[str], bytes | None]:
    """A Word document's settings relationships with the attached template's location
    blanked (the full path names the folder, often with the Windows user name), the
    relationship itself kept so that the settings that point at it stay valid. None when
    there is nothing to blank."""
    root = _parse_xml(data, "settings")
    relationships = list(root)
    blanked = False
    for relationship in relationships:
        if relationship.get("Type", "").endswith(_ATTACHED_TEMPLATE) and relationship.get("Target"):
            relationship.set("Target", "")
            blanked = True
    if not blanked:
        return [], None
    if root.tag != f"{{{_RELATIONSHIPS}}}Relationships" or any(
        r.tag != f"{{{_RELATIONSHIPS}}}Relationship" or len(r) or any("}" in k for k in r.attrib)
        for r in relationships
    ):
        raise NotCleanable("its settings are damaged.")
    # Written by hand: ElementTree would give the relationships' namespace a prefix, and
    # the part is flat (one element per relationship, attributes only).
    lines = [
        "<Relationship "
        + " ".join(f"{key}={quoteattr(value)}" for key, value in r.attrib.items())
        + "/>"
        for r in relationships
    ]
    text = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Relationships xmlns="{_RELATIONSHIPS}">' + "".join(lines) + "</Relationships>"
    )
    return ["the attached template's location"], text.encode()


def _drop_printer(data: bytes) -> tuple[list[str], bytes | None]:
    """An OpenDocument's settings without the printer it was set up for (its name, and
    its driver's settings, which carry the name again). None when there is none."""
    root = _parse_xml(data, "settings")
    found = False
    for parent in list(root.iter()):
        for item in list(parent):
            if (
                _local(item.tag) == "config-item"
                and item.get(f"{{{_ODF_CONFIG}}}name") in _ODF_PRINTER_ITEMS
            ):
                found = found or bool((item.text or "").strip())
                parent.remove(item)
    if not found:
        return [], None
    return ["the name of the printer it was set up for"], tostring(
        root, encoding="UTF-8", xml_declaration=True
    )


def _open_package(content: bytes) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    try:
        package = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise NotCleanable(
            "we could not read it: it is damaged, or protected by a password."
        ) from exc
    entries = package.infolist()
    if len(entries) > MAX_PACKAGE_ENTRIES:
        raise NotCleanable(f"it holds more than {MAX_PACKAGE_ENTRIES:,} parts.")
    if sum(entry.file_size for entry in entries) > MAX_UNPACKED_BYTES:
        raise NotCleanable(
            f"it unpacks to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MB, "
            "more than we unpack to clean it."
        )
    names = [entry.filename for entry in entries]
    if len(set(names)) != len(names):
        raise NotCleanable("it is damaged (a part appears twice).")
    if any(entry.flag_bits & 0x1 for entry in entries):
        raise NotCleanable("it is protected by a password.")
    return package, entries


def _entry(name: str, compress_type: int) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(name, date_time=NEUTRAL_ZIP_TIME)
    entry.compress_type = compress_type
    entry.external_attr = 0o644 << 16
    return entry


def _clean_package(content: bytes, *, odf: bool) -> Cleaned:
    package, entries = _open_package(content)
    names = {entry.filename for entry in entries}
    if not odf and "[Content_Types].xml" not in names:
        raise NotCleanable("it is not an Office document we can read.")
    if odf and _ODF_META not in names and "content.xml" not in names:
        raise NotCleanable("it is not an OpenDocument file we can read.")
    removed: list[str] = []
    pixels = 0
    out = io.BytesIO()
    try:
        with package, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as cleaned:
            ordered = sorted(entries, key=lambda e: e.filename != _ODF_MIMETYPE) if odf else entries
            for entry in ordered:
                name = entry.filename
                if odf and name == _ODF_MIMETYPE:
                    # First and stored, as OpenDocument requires (readers sniff it there).
                    cleaned.writestr(_entry(name, zipfile.ZIP_STORED), package.read(entry))
                    continue
                if (odf and name == _ODF_META) or (
                    not odf and name in (_OOXML_CORE, _OOXML_APP, _OOXML_CUSTOM)
                ):
                    data = _read_part(
                        package, entry, "document properties", MAX_PROPERTY_PART_BYTES
                    )
                    if odf:
                        found, version = _odf_details(data)
                        replacement = _neutral_odf_meta(version)
                    else:
                        found = _ooxml_details(name, data)
                        replacement = {
                            _OOXML_CORE: _NEUTRAL_CORE,
                            _OOXML_APP: _NEUTRAL_APP,
                            _OOXML_CUSTOM: _NEUTRAL_CUSTOM,
                        }[name]
                    removed += found
                    cleaned.writestr(_entry(name, zipfile.ZIP_DEFLATED), replacement)
                    continue
                if (odf and name == _ODF_SETTINGS) or _is_settings_relationships(name, odf=odf):
                    data = _read_part(package, entry, "settings", MAX_SETTINGS_PART_BYTES)
                    found, rewritten = (_drop_printer if odf else _blank_template_paths)(data)
                    removed += found
                    cleaned.writestr(_entry(name, zipfile.ZIP_DEFLATED), rewritten or data)
                    continue
                if name.lower().endswith((".jpg", ".jpeg", ".png")):
                    pixels = _embedded_picture(package, entry, cleaned, removed, pixels)
                    continue
                kind = (
                    zipfile.ZIP_STORED
                    if entry.compress_type == zipfile.ZIP_STORED
                    else zipfile.ZIP_DEFLATED
                )
                with package.open(entry) as source, cleaned.open(_entry(name, kind), "w") as target:
                    shutil.copyfileobj(source, target, 1024 * 1024)
    except NotCleanable:
        raise
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, OSError) as exc:
        raise NotCleanable("we could not read it: it is damaged.") from exc
    return Cleaned(out.getvalue(), _unique(removed))


def _embedded_picture(
    package: zipfile.ZipFile,
    entry: zipfile.ZipInfo,
    cleaned: zipfile.ZipFile,
    removed: list[str],
    pixels: int,
) -> int:
    """A JPEG or PNG picture inside a document without its EXIF (a photo pasted into a
    document keeps its GPS position), XMP and text notes; one that cannot be read is kept
    as it is only with the complainant's consent (it refuses the document, as a JPEG too
    large to clean does). A PNG's chunks are stripped without decoding it, so it costs no pixels.
    Returns the pixels cleaned so far in this document."""
    data = package.read(entry)
    if data.startswith(png_chunks.SIGNATURE):
        try:
            picture = _strip_png_chunks(data)
        except _UNREADABLE_PNG_CHUNKS as exc:
            # Kept as it was, it would keep whatever notes or GPS position it carries while
            # the complainant is told the file was cleaned (found in review).
            raise _unreadable_picture() from exc
        removed += [f"a picture's {label}" for label in picture.removed]
        cleaned.writestr(_entry(entry.filename, zipfile.ZIP_STORED), picture.content)
        return pixels
    try:
        picture, size = _clean_picture(
            data, upright=False, pixels_left=MAX_EMBEDDED_PIXELS - pixels
        )
    except PictureTooLarge as exc:
        if exc.reason.startswith("the picture "):
            raise _too_many_pixels("a picture inside it") from exc
        raise
    except NotCleanable as exc:
        raise _unreadable_picture() from exc
    pixels += size
    removed += [f"a picture's {label}" for label in picture.removed]
    cleaned.writestr(_entry(entry.filename, zipfile.ZIP_STORED), picture.content)
    return pixels


_PNG_TEXT = (b"tEXt", b"zTXt", b"iTXt")


def _unreadable_picture() -> NotCleanable:
    return NotCleanable(
        "a picture inside it could not be read, so the details it may carry (such as where "
        "a photo was taken) could not be removed."
    )


def _strip_png_chunks(content: bytes) -> Cleaned:
    """A PNG inside a document without its text notes, XMP, EXIF (but its orientation,
    as for a JPEG inside a document) and every other chunk that is not the picture: its
    pixels, and its colour profile, are copied as they are, never decoded."""
    kept: list[png_chunks.Chunk] = []
    found: list[str] = []
    for chunk in png_chunks.read_chunks(content):
        if chunk.kind in png_chunks.PICTURE_CHUNKS:
            kept.append(chunk)
        elif chunk.kind[:1].isupper():
            raise png_chunks.DamagedPng("a chunk no reader knows")  # shown by no reader
        elif chunk.kind in _PNG_TEXT:
            xmp = chunk.data.startswith(b"XML:com.adobe.xmp\0")
            found.append("XMP metadata" if xmp else "text notes")
        elif chunk.kind == b"eXIf":
            exif = Image.Exif()
            exif.load(chunk.data)
            found += _exif_details(exif)
            orientation = exif.get(_ORIENTATION)
            if orientation in range(2, 9):
                bare = Image.Exif()
                bare[_ORIENTATION] = orientation
                kept.append(png_chunks.Chunk(b"eXIf", bare.tobytes().removeprefix(b"Exif\0\0")))
        elif chunk.kind == b"tIME":
            found.append("date and time")
        else:
            found.append("other details")
    return Cleaned(png_chunks.write_chunks(kept), _unique(found))


def _clean_ooxml(content: bytes) -> Cleaned:
    return _clean_package(content, odf=False)


def _clean_odf(content: bytes) -> Cleaned:
    return _clean_package(content, odf=True)


_CLEANERS: dict[str, Callable[[bytes], Cleaned]] = {
    "jpg": _clean_image,
    "jpeg": _clean_image,
    "png": _clean_image,
    "pdf": _clean_pdf,
    "docx": _clean_ooxml,
    "xlsx": _clean_ooxml,
    "pptx": _clean_ooxml,
    "odt": _clean_odf,
    "ods": _clean_odf,
    "odp": _clean_odf,
    "txt": _clean_text,
    "csv": _clean_text,
}
_UNCLEANABLE = {
    "doc": "older Word files (.doc) keep their details in a form we cannot clean. Saving "
    "it as .docx or PDF lets us clean it.",
    "xls": "older Excel files (.xls) keep their details in a form we cannot clean. Saving "
    "it as .xlsx or PDF lets us clean it.",
    "rtf": "RTF files keep their details in a form we cannot clean. Saving it as .docx or "
    "PDF lets us clean it.",
    "eml": "an e-mail file carries its headers (who sent it, to whom, and the servers it "
    "passed through), which we cannot remove without changing the message.",
}
