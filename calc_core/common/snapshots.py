"""One format for everything that trains or evolves: the state of a run at chosen steps.

MF epochs, kernel-learning steps, policy episodes, filter steps, GAN steps and diffusion sampling
steps all keep a :class:`Snapshots`: the step numbers, what a step counts, and named arrays whose
first axis runs over the snapshots. One scrubbing control (``ui.workshop.scrubber``) serves every
page: it picks an index, and the page draws ``snapshots.at(index)``.

Snapshots are part of a cached result, so their size is bounded: ``evenly_spaced`` chooses at most
``MAX_SNAPSHOTS`` steps, and ``thinned`` keeps a run's snapshots under a byte budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

MAX_SNAPSHOTS = 41  # a slider's worth of stops: the first, the last and 39 between
MAX_BYTES = 4 * 2**20  # per run: a room of sessions keeps dozens of cached runs


@dataclass(frozen=True)
class Snapshots:
    """``states[name][i]`` is quantity ``name`` after ``steps[i]`` steps (``unit``s) of the run."""

    steps: np.ndarray  # (S,) int, strictly increasing
    unit: str  # what a step counts, singular: "epoch", "step", "episode", "sampling step"
    states: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        steps = np.asarray(self.steps, dtype=np.int64).reshape(-1)
        if steps.size and np.any(np.diff(steps) <= 0):
            raise ValueError(f"snapshot steps must increase strictly, got {steps.tolist()[:8]}…")
        states = {name: np.asarray(value) for name, value in dict(self.states).items()}
        for name, value in states.items():
            if value.ndim == 0 or value.shape[0] != steps.size:
                raise ValueError(f"snapshot {name!r} has {value.shape[0] if value.ndim else 0} rows for "
                                 f"{steps.size} steps")
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "states", states)

    def __len__(self) -> int:
        return int(self.steps.size)

    def at(self, index: int) -> dict[str, np.ndarray]:
        """Every quantity at snapshot ``index`` (0 … len − 1; negative counts from the end)."""
        return {name: value[index] for name, value in self.states.items()}

    def index_of(self, step: int) -> int:
        """The last snapshot taken at or before ``step`` (the first one for earlier steps)."""
        return max(0, int(np.searchsorted(self.steps, step, side="right")) - 1)

    def label(self, index: int) -> str:
        return f"{self.unit} {int(self.steps[index]):,}"

    @property
    def nbytes(self) -> int:
        return int(self.steps.nbytes + sum(v.nbytes for v in self.states.values()))

    def thinned(self, max_bytes: int = MAX_BYTES) -> "Snapshots":
        """The same run with fewer snapshots (the first and last always kept) until it fits."""
        if self.nbytes <= max_bytes or len(self) <= 2:
            return self
        keep = max(2, int(len(self) * max_bytes / self.nbytes))
        pick = np.unique(np.linspace(0, len(self) - 1, keep).round().astype(int))
        return Snapshots(self.steps[pick], self.unit, {k: v[pick] for k, v in self.states.items()})

    @classmethod
    def collect(cls, unit: str, steps: Sequence[int], rows: Sequence[Mapping[str, np.ndarray]]) -> "Snapshots":
        """From one mapping of arrays per snapshot (as a training loop produces them)."""
        names = list(rows[0]) if rows else []
        return cls(np.asarray(steps, dtype=np.int64), unit,
                   {name: np.stack([np.asarray(row[name]) for row in rows]) for name in names})


def evenly_spaced(total: int, count: int = MAX_SNAPSHOTS) -> np.ndarray:
    """At most ``count`` steps from 0 to ``total`` (both included), evenly spaced."""
    total = max(0, int(total))
    return np.unique(np.linspace(0, total, min(count, total + 1)).round().astype(np.int64))
