"""Named scenarios: the settings that show one lesson, chosen in one click.

A :class:`Preset` lives in its application's ``lab`` module next to the lesson it shows. Its
``settings`` are fields of the application's Settings (everything else stays at its default);
``extras`` set controls that belong to one part of the page (a fragment: a step, a learning rate
of the kernel-learning panel) by the name of the argument they fill. ``expect`` names the diagnosis
codes the preset's claim rests on: the lab's ``preset_diagnosis(preset, seed)`` must produce them for
every seed (tests run seeds 0–19).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping


@dataclass(frozen=True)
class Preset:
    name: str  # URL-safe id: "divergence"
    title: str  # what the button says: "Learning rate too high: divergence"
    lesson: str  # what the audience should notice, one or two sentences
    settings: Mapping[str, Any] = field(default_factory=dict)
    extras: Mapping[str, Any] = field(default_factory=dict)
    expect: tuple[str, ...] = ()  # diagnosis codes that must appear
    avoid: tuple[str, ...] = ()  # … and must not

    def __post_init__(self):
        object.__setattr__(self, "settings", dict(self.settings))
        object.__setattr__(self, "extras", dict(self.extras))
        object.__setattr__(self, "expect", tuple(self.expect))
        object.__setattr__(self, "avoid", tuple(self.avoid))

    def apply(self, defaults, **overrides):
        """The Settings this preset asks for: ``defaults`` (a Settings instance) with the preset's
        fields, then ``overrides`` (a seed, say), replaced."""
        names = {f.name for f in fields(defaults)}
        unknown = (set(self.settings) | set(overrides)) - names
        if unknown:
            raise ValueError(f"preset {self.name!r} sets {sorted(unknown)}, which are not settings")
        return replace(defaults, **{**self.settings, **overrides})
