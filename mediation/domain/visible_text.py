"""Whether typed text shows anything: required answers must, whatever characters they use."""

from __future__ import annotations

import unicodedata

# Categories that draw nothing: controls, format characters (zero-width space U+200B,
# word joiner U+2060, the byte-order mark U+FEFF, direction marks), surrogates, private
# use, unassigned, and every kind of space or line separator.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})
# Characters of other categories that draw nothing either: the Hangul fillers, the blank
# Braille pattern and the combining grapheme joiner.
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f")


def _invisible(ch: str) -> bool:
    if ch in _BLANK or ch.isspace():
        return True
    # Variation selectors only change how the character before them is drawn.
    if "\ufe00" <= ch <= "\ufe0f" or "\U000e0100" <= ch <= "\U000e01ef":
        return True
    return unicodedata.category(ch) in _INVISIBLE_CATEGORIES


def visible(text: str) -> bool:
    """Whether the text has at least one character a reader would see."""
    return not all(_invisible(ch) for ch in text)
