"""A PNG file as its chunks, read and written again without decoding its pixels."""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# What the picture is made of and how it is shown (PNG's critical and colour chunks, and
# APNG's frames); every other chunk says something about the picture rather than being it.
PICTURE_CHUNKS = frozenset(
    {
        b"IHDR",
        b"PLTE",
        b"IDAT",
        b"IEND",
        b"tRNS",
        b"cHRM",
        b"gAMA",
        b"iCCP",
        b"sBIT",
        b"sRGB",
        b"cICP",
        b"mDCV",
        b"cLLI",
        b"bKGD",
        b"pHYs",
        b"acTL",
        b"fcTL",
        b"fdAT",
    }
)


class DamagedPng(ValueError):
    """Bytes that are not a whole PNG file."""


@dataclass(frozen=True)
class Chunk:
    kind: bytes
    data: bytes


def read_chunks(content: bytes) -> list[Chunk]:
    """The file's chunks in order, up to and including IEND."""
    if not content.startswith(SIGNATURE):
        raise DamagedPng("not a PNG file")
    chunks: list[Chunk] = []
    at = len(SIGNATURE)
    while True:
        if at + 12 > len(content):
            raise DamagedPng("the file ends inside a chunk")
        length = int.from_bytes(content[at : at + 4], "big")
        kind = content[at + 4 : at + 8]
        end = at + 8 + length
        if length > 2**31 - 1 or end + 4 > len(content) or not kind.isalpha():
            raise DamagedPng("a chunk is damaged")
        chunks.append(Chunk(kind, content[at + 8 : end]))
        at = end + 4
        if kind == b"IEND":
            return chunks


def write_chunks(chunks: Iterable[Chunk]) -> bytes:
    out = [SIGNATURE]
    for chunk in chunks:
        out += [
            len(chunk.data).to_bytes(4, "big"),
            chunk.kind,
            chunk.data,
            zlib.crc32(chunk.kind + chunk.data).to_bytes(4, "big"),
        ]
    return b"".join(out)
