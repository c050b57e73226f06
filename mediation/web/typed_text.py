"""Text people typed, shown with its paragraphs and line breaks and nothing else as markup."""

from __future__ import annotations

from markupsafe import Markup, escape


def paragraphs(text: object, css_class: str = "body") -> Markup:
    """Escape the text, then a paragraph for each run of lines and <br> between its lines.

    A blank line starts a new paragraph. Every line is escaped before any markup is added,
    so autoescaping still protects the page: this is not `|safe` on what was typed.
    """
    blocks: list[list[str]] = [[]]
    for line in str(text or "").splitlines():
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    shown = [
        Markup('<p class="{}">{}</p>').format(css_class, Markup("<br>\n").join(map(escape, b)))
        for b in blocks
        if b
    ]
    return Markup("\n").join(shown)
