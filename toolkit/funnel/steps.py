"""Funnel steps and windows as the caller writes them: stage names, ``{label: stages}`` groups,
the order modes and one window or one per transition."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import pandas as pd

from toolkit.censoring import (
    parse_duration,
)
from toolkit.frames import collect
from toolkit.schema import STAGES, DataError

ORDERS = ("ordered", "strict", "any")


@dataclass(frozen=True)
class Step:
    """One funnel step: a label and the stages that count as reaching it."""

    label: str
    stages: tuple[str, ...]


def _check_stages(stages: Sequence[str]) -> None:
    bad = [s for s in stages if not isinstance(s, str) or not s]
    if bad:
        raise ValueError(f"a stage is named by a non-empty string, got {bad}")


def check_stages_present(steps: Sequence[Step], events) -> None:
    """Refuse steps naming a stage that no event has (a typo, or another export's name).

    ``events`` is the Narwhals frame of events. The stages are the export's own: any names;
    the sample's (:data:`~toolkit.STAGES`) are always accepted, reached by nobody when absent.

    Raises
    ------
    DataError
        Naming the absent stage(s) and listing the stages present in the events.
    """
    # the sample's stages stay valid names when an export lacks some (a funnel of few leads)
    listed = [
        s for s in dict.fromkeys(stage for s in steps for stage in s.stages) if s not in STAGES
    ]
    if not listed:
        return
    stage = nw.col("stage")
    found = collect(events.filter(stage.is_in(listed)).select(stage.cast(nw.String)).unique())
    found = set(found["stage"].to_list())
    absent = [s for s in listed if s not in found]
    if absent:
        everything = collect(events.select(stage.cast(nw.String)).unique())["stage"].to_list()
        present = sorted(str(v) for v in everything if v is not None)
        raise DataError(
            f"events: no event has the stage(s) {absent}; stages present: "
            f"{', '.join(present) or 'none (no events)'} (a group of stages is written "
            "{'label': ('customer', 'rep')})"
        )


def _parse_step(item: Any) -> Step:
    if isinstance(item, Step):
        _check_stages(item.stages)
        return item
    if isinstance(item, str):
        _check_stages([item])
        return Step(item, (item,))
    if isinstance(item, Mapping):
        if len(item) != 1:
            raise ValueError(f"a step group is one {{label: stages}} pair, got {dict(item)!r}")
        ((label, stages),) = item.items()
        stages = (stages,) if isinstance(stages, str) else tuple(stages)
        _check_stages(stages)
        return Step(str(label), stages)
    if isinstance(item, (tuple, list)):
        if len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], (tuple, list)):
            label, stages = item[0], tuple(item[1])
        else:
            stages = tuple(item)
            label = " or ".join(map(str, stages))
        _check_stages(stages)
        return Step(label, stages)
    raise ValueError(f"cannot read a funnel step from {item!r}")


def parse_steps(steps: Any, *, minimum: int = 2) -> list[Step]:
    """Steps from stage names, ``{label: stages}`` groups, or a dict of ``label -> stages``."""
    if isinstance(steps, str):
        raise ValueError(f"steps must be a sequence of stages, got the single stage {steps!r}")
    items = [{k: v} for k, v in steps.items()] if isinstance(steps, Mapping) else list(steps)
    parsed = [_parse_step(item) for item in items]
    if len(parsed) < minimum:
        raise ValueError(f"a funnel needs at least {minimum} steps, got {len(parsed)}")
    seen: dict[str, str] = {}
    for step in parsed:
        for stage in step.stages:
            if stage in seen:
                raise ValueError(
                    f"stage {stage!r} appears in two steps ({seen[stage]!r} and {step.label!r})"
                )
            seen[stage] = step.label
    labels = [s.label for s in parsed]
    if len(set(labels)) != len(labels):
        raise ValueError(f"step labels must be distinct, got {labels}")
    return parsed


def _parse_windows(
    window: Any, n_steps: int, order: str
) -> tuple[pd.Timedelta, ...] | pd.Timedelta:
    if isinstance(window, (list, tuple)):
        if order == "any":
            raise ValueError("per-step windows need an order ('ordered' or 'strict'), not 'any'")
        if len(window) != n_steps - 1:
            raise ValueError(
                f"per-step windows: give one per transition ({n_steps - 1} for {n_steps} steps), "
                f"got {len(window)}"
            )
        return tuple(parse_duration(w, "window") for w in window)
    return parse_duration(window, "window")
