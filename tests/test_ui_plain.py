"""ui.panels.plain: text from a file or a text box, shown by Markdown exactly as written."""

import re

import pytest

from ui.panels import plain

HOSTILE = [":red[alarm]", "$a$b$", "[t](https://example.com)", "**bold**", "a_b_c", "# heading", "1. item", "<b>x</b>",
           "`code`", "~~gone~~", "| a | b |", "\\", "&amp;", "{x}", "- item", "+ item", "!"]


@pytest.mark.parametrize("text", HOSTILE)
def test_every_markdown_character_is_escaped_and_the_text_comes_back_unchanged(text):
    escaped = plain(text)
    # CommonMark: a backslash before ASCII punctuation shows that character literally
    assert re.sub(r"\\(.)", r"\1", escaped) == text
    unescaped_specials = re.sub(r"\\.", "", escaped)
    assert not set(unescaped_specials) & set("\\`*_{}[]()#+-.!|:$~<>&"), escaped


def test_plain_text_and_numbers_are_left_as_they_are():
    assert plain("user 196") == "user 196" and plain(42) == "42"
