"""Text from outside the lab (an uploaded file's ids, a typed word, a link's keys) shown as written."""

from __future__ import annotations

import re

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|:$~<>&])")


def plain(text) -> str:
    """``text`` escaped so that Markdown shows it as written: no emphasis, link, colour directive or
    formula made of it."""
    return _MARKDOWN.sub(r"\\\1", str(text))
