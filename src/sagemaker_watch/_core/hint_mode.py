"""Whether push hints can be trusted now, and what that does to the poll schedule.

Pure, like ``hints``: no I/O, no clock object. Times are float seconds on the
driver's monotonic clock, passed in.

While hints *flow*, each job's own poll schedule relaxes to a safety re-check
(``HintMode.delay``): a change is announced by its hint within a second or two,
and a lost hint delays it by at most ``ceiling``. How often the re-check comes
follows the evidence, as the rate budget follows throttles: every ``ceiling``
seconds while every change a describe finds was announced; ``TIGHTEN`` times
as often right after a change no hint announced (``missed``: events are being
lost, so look more often), and twice as long again after each
``RELAX_AFTER`` changes in a row that hints announced (``announced``), up to
``ceiling``. Events delivered reliably cost one describe per change and a
re-check per ``ceiling``; lost ones are found sooner than the ceiling while
they keep being lost.

Hints stop being trusted, and the driver falls back to the schedule, when:

* the queue fails: ``FAILURES_TO_FALL_BACK`` receives in a row fail
  (throttled, 5xx, a dropped connection, access denied); or
* the queue is silent: a describe found a change that no hint announced
  (``missed``), and no hint at all (for any job) arrived for ``silence``
  seconds before it. In a busy queue a lost event is only that, a lost event
  (its safety re-check found it); in a silent one, the rule, its target or the
  queue's policy is probably broken.

They are trusted again after the next receive that succeeds (after failures),
or the next hint (after silence). Before the first successful receive they are
not trusted.
"""

from __future__ import annotations

import enum
import math
from typing import Final

#: Right after a change no hint announced, re-checks come this many times as often...
TIGHTEN: Final = 8.0
#: ...and relax twice as long again after this many announced changes in a row.
RELAX_AFTER: Final = 4
#: Receives that must fail in a row before hints stop being trusted.
FAILURES_TO_FALL_BACK: Final = 2
#: The first wait after a failed receive, in seconds; it doubles per failure...
RETRY_BASE: Final = 1.0
#: ...up to this.
RETRY_CAP: Final = 30.0


class HintState(enum.StrEnum):
    """Why hints are or are not trusted now."""

    #: No receive has succeeded yet.
    STARTING = "starting"
    #: Hints are trusted: schedules relax to the safety ceiling.
    FLOWING = "flowing"
    #: Receives keep failing: per-job schedules until one succeeds.
    QUEUE_FAILED = "queue_failed"
    #: The queue stayed silent through a change: per-job schedules until a hint.
    QUEUE_SILENT = "queue_silent"


class HintMode:
    """Whether hints flow, decided from what receives and describes showed.

    Each of ``received``, ``failed`` and ``missed`` returns the new state when
    it changed (the driver logs it and re-plans its jobs), else ``None``.
    """

    __slots__ = (
        "_announced_run",
        "_failures",
        "_last_hint",
        "ceiling",
        "fallbacks",
        "missed_changes",
        "recheck",
        "silence",
        "state",
    )

    def __init__(self, *, ceiling: float, silence: float) -> None:
        """Relax schedules to *ceiling* while hints flow; see the module.

        Raises:
            ValueError: a time that is negative or not finite.
        """
        for name, value in (("ceiling", ceiling), ("silence", silence)):
            if not (math.isfinite(value) and value >= 0):
                msg = f"{name} must be a finite number of seconds >= 0, not {value!r}"
                raise ValueError(msg)
        self.ceiling = ceiling
        self.silence = silence
        #: The safety re-check's interval now: ``ceiling``, or less after misses.
        self.recheck = ceiling
        self.state = HintState.STARTING
        #: How many times hints stopped being trusted.
        self.fallbacks = 0
        #: Changes a describe found that no hint had announced.
        self.missed_changes = 0
        self._failures = 0
        self._last_hint: float | None = None
        self._announced_run = 0

    def __repr__(self) -> str:
        """Return a short description."""
        return f"HintMode(state={self.state.value!r}, fallbacks={self.fallbacks})"

    @property
    def flowing(self) -> bool:
        """Whether hints are trusted now."""
        return self.state is HintState.FLOWING

    def received(self, *, hints: int, now: float) -> HintState | None:
        """A receive succeeded at *now*, with *hints* hints (of any job) in it."""
        self._failures = 0
        if hints or self._last_hint is None:
            # The first success starts the silence clock: a queue that never
            # delivers is silent from then on.
            self._last_hint = now
        if self.state is HintState.QUEUE_SILENT and not hints:
            return None
        return self._become(HintState.FLOWING)

    def failed(self) -> tuple[HintState | None, float]:
        """A receive failed: the new state if it changed, and when to try again."""
        self._failures += 1
        change = None
        if self._failures >= FAILURES_TO_FALL_BACK and self.state in {
            HintState.FLOWING,
            HintState.STARTING,
        }:
            change = self._become(HintState.QUEUE_FAILED)
        return change, min(RETRY_CAP, RETRY_BASE * 2.0 ** (self._failures - 1))

    def announced(self) -> bool:
        """A describe a hint caused found a change; return whether ``recheck`` grew."""
        self._announced_run += 1
        if self._announced_run < RELAX_AFTER or self.recheck >= self.ceiling:
            return False
        self._announced_run = 0
        self.recheck = min(self.ceiling, self.recheck * 2.0)
        return True

    def missed(self, *, now: float) -> HintState | None:
        """A describe at *now* found a change that no hint had announced.

        Re-checks tighten (see the module); in a silent queue, hints stop
        being trusted.
        """
        self.missed_changes += 1
        if self.state is not HintState.FLOWING:
            # Not relying on hints now: polling finds changes by design.
            return None
        self._announced_run = 0
        self.recheck = self.ceiling / TIGHTEN
        if self._last_hint is not None and now - self._last_hint < self.silence:
            return None
        return self._become(HintState.QUEUE_SILENT)

    def delay(self, scheduled: float) -> float:
        """The wait before a job's next routine describe, given its schedule's."""
        return max(scheduled, self.recheck) if self.flowing else scheduled

    def _become(self, state: HintState) -> HintState | None:
        if state is self.state:
            return None
        if self.state is HintState.FLOWING:
            self.fallbacks += 1
        self.state = state
        return state
