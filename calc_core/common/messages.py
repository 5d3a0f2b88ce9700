"""The diagnosis of a run as data: verdicts and messages the pages place, tested without Streamlit.

A :class:`Message` has a stable ``code`` (tests and presets assert on it: "diverged",
"overfitting", "collapsed", …), a ``kind`` that says how a page shows it, and its sentences with
the numbers that explain it already written in. The wording lives next to the rule that produces it,
in the application's ``lab`` module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

KINDS = ("problem", "warning", "info", "success")


@dataclass(frozen=True)
class Message:
    code: str  # stable identifier of the verdict
    kind: str  # "problem": what happened / why / what to try; "warning", "info", "success": one paragraph
    title: str
    what: str = ""
    why: str = ""
    try_instead: tuple[str, ...] = ()
    numbers: Mapping[str, float] = field(default_factory=dict)  # the numbers behind the verdict

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"message kind must be one of {KINDS}, got {self.kind!r}")
        object.__setattr__(self, "try_instead", tuple(self.try_instead))
        object.__setattr__(self, "numbers", dict(self.numbers))


def codes(messages: Iterable[Message]) -> set[str]:
    """The codes of a diagnosis, for tests and presets: ``"diverged" in codes(result.diagnosis)``."""
    return {message.code for message in messages}
