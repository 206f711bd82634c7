"""Runs the probe child for one path under a deadline, without ever touching the path itself.

A probe on a dead mount sits in the kernel and cannot be cancelled (research/io-latency.md
§2.4). So every probe runs in its own process that streams one JSON event per step; past
the deadline the path is `stalled` (with the operation in flight), the child is killed and
not waited on, and no new child starts for that path while the stuck one lives.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Literal, Mapping, NamedTuple

from wslwatch.collectors._probe_child import BLOCK, DATA_OPS, OPS

__all__ = ["CHILD_SCRIPT", "PathProber", "ProbeResult", "Progress", "Status", "plan_samples"]

CHILD_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_probe_child.py")

Status = Literal["ok", "stalled", "error"]

#: Called with the operation in flight (None between operations) and the seconds elapsed,
#: on every event and at least every `_TICK_S` while a probe runs.
Progress = Callable[[str | None, float], None]

_TICK_S = 0.25
_SAID_LINES = 3  # of what a child that died printed, shown in its error
#: Data operations by how much they tell about a cross-OS share, for a tight byte budget.
_DATA_PRIORITY = ("create_fsync", "read_uncached", "write_sync", "read_cached", "read_direct")

def base_interpreter(executable: str, base_executable: str | None) -> str:
    """The interpreter a probe runs in: on Windows the base one, not a venv's `python(w).exe`,
    which is a launcher running the base interpreter as its child (CPython `PC/launcher.c`):
    killing the launcher would leave that child stuck on the path. The probe needs only the
    standard library (`-I -S`), so the venv is not missed."""
    if base_executable and os.path.isfile(base_executable):
        return base_executable
    return executable


_SPAWN: dict[str, Any]  # how a child is started: no console window, its own process group
if sys.platform == "win32":
    _SPAWN = {
        "creationflags": subprocess.CREATE_NO_WINDOW | subprocess.CREATE_NEW_PROCESS_GROUP,
    }
    _PYTHON = base_interpreter(sys.executable, getattr(sys, "_base_executable", None))
else:
    _SPAWN = {"start_new_session": True}
    _PYTHON = sys.executable  # a venv's python here is a symlink: the process killed is the interpreter


def plan_samples(samples: int, budget_bytes: float | None = None) -> dict[str, int]:
    """Measured samples per operation (each also runs one warmup), within `budget_bytes` per probe.

    Every data sample moves one 4 KiB block. When the budget cannot pay for `samples` of each
    data operation, they all get fewer; when it cannot pay for one each, the most telling
    ones are kept (`unlink` only with `create_fsync`, whose files it removes).
    """
    plan = {op: samples for op in OPS}
    if budget_bytes is None:
        return plan
    blocks = int(budget_bytes // BLOCK)
    each = blocks // len(DATA_OPS) - 1
    if each >= samples:
        return plan
    if each >= 1:
        return {op: each if op in DATA_OPS else samples for op in OPS}
    kept = _DATA_PRIORITY[: blocks // 2]  # a warmup and one sample each
    plan = {op: 1 if op in kept else n for op, n in plan.items() if op in kept or op not in DATA_OPS}
    if "create_fsync" not in kept:
        del plan["unlink"]
    return plan


@dataclass
class ProbeResult:
    """What one probe found; latencies are seconds of the measured (non-warmup) samples."""

    status: Status
    facts: dict[str, Any] | None = None  # the child's `place` event: realpath (and volume on Windows)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # op -> why it could not run here
    notes: list[str] = field(default_factory=list)
    in_flight: str | None = None  # for `stalled`: the operation that did not return
    reason: str | None = None  # for `stalled` and `error`: in words
    readonly: bool = False
    cache_illusions: int = 0  # read_uncached samples the page cache still served
    bytes: int = 0


class _Events:
    """Folds the child's event lines into a `ProbeResult`."""

    def __init__(self) -> None:
        self.result = ProbeResult("ok")
        self.error: str | None = None
        self.ended = False
        self.said: deque[str] = deque(maxlen=_SAID_LINES)  # its last lines that were not events

    def take(self, line: bytes) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            self.said.append(line.decode(errors="replace").rstrip())
            return
        r = self.result
        match event.get("ev"):
            case "start":
                r.in_flight = event["op"]
            case "done":
                r.in_flight = None
                if not event.get("warmup"):
                    r.latencies.setdefault(event["op"], []).append(event["ns"] / 1e9)
            case "place":
                r.facts, r.in_flight = event, None
            case "ready":
                r.in_flight = None
            case "skip":
                r.skipped[event["op"]] = event["why"]
            case "note":
                r.notes.append(event["what"])
            case "error":
                self.error = event["why"]
            case "end":
                self.ended = True
                r.readonly = bool(event.get("readonly", False))
                r.cache_illusions = int(event.get("cache_illusions", 0))
                r.bytes = int(event.get("bytes", 0))
                r.notes += [f"could not remove {name} from the probe directory" for name in event.get("left", [])]

    def finish(self, exit_code: int) -> ProbeResult:
        r = self.result
        if self.error is not None:
            r.status, r.reason = "error", self.error
        elif not self.ended or exit_code != 0:
            said = "; ".join(self.said) or "nothing"
            r.status = "error"
            r.reason = f"the probe process exited with status {exit_code} before finishing (it said: {said})"
        return r


def _finished_meanwhile(lines: queue.Queue[bytes | None], events: _Events) -> bool:
    """At the deadline: take what the child already wrote; True if its output had ended. A daemon
    stopped (SIGSTOP, a suspended laptop) past the deadline finds a probe that finished long ago."""
    until = time.monotonic() + _TICK_S
    while (left := until - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            return False
        if line is None:
            return True
        events.take(line)
    return False


def _pump(stream: IO[bytes], lines: queue.Queue[bytes | None]) -> None:
    """Move the child's lines into `lines`; None marks the end of its output."""
    try:
        for line in stream:
            lines.put(line)
    finally:
        stream.close()
        lines.put(None)


class _Stuck(NamedTuple):
    """A killed child that has not ended yet: stuck in the kernel on a dead mount."""

    child: subprocess.Popen[bytes]
    op: str | None  # the operation it was in
    since: float  # when its probe started (monotonic)


class PathProber:
    """Probes one directory, each time in a fresh child process, at most one child alive."""

    def __init__(self, path: str, python: str = _PYTHON) -> None:
        self.path = path
        self._python = python
        self._stuck: _Stuck | None = None

    @property
    def stuck_pid(self) -> int | None:
        """The id of a killed child that has not ended yet (stuck in the kernel), if any."""
        stuck = self._still_stuck()
        return None if stuck is None else stuck.child.pid

    def _still_stuck(self) -> _Stuck | None:
        """The stuck child, forgotten once it has ended."""
        if self._stuck is not None and self._stuck.child.poll() is not None:
            self._stuck = None
        return self._stuck

    def probe(
        self,
        samples: Mapping[str, int],
        *,
        gap_s: float,
        deadline_s: float,
        readonly: bool = False,
        keep_area: bool = True,
        progress: Progress | None = None,
    ) -> ProbeResult:
        """Time the operations in `samples` (op -> measured samples), `gap_s` apart."""
        spec = {
            "mode": "probe",
            "samples": dict(samples),
            "gap_s": gap_s,
            "budget_s": deadline_s / 2,  # past this the child takes one sample per remaining op
            "readonly": readonly,
            "keep": keep_area,
        }
        return self._run(spec, deadline_s, progress)

    def locate(self, deadline_s: float) -> ProbeResult:
        """Only resolve the path (symlinks) and, on Windows, read its volume facts."""
        return self._run({"mode": "locate"}, deadline_s, None)

    def remove_area(self, deadline_s: float) -> ProbeResult:
        """Delete the probe's `.wslwatch-probe/` directory (skipped while a child is stuck)."""
        return self._run({"mode": "cleanup"}, deadline_s, None)

    def close(self) -> None:
        """Kill a stuck child once more; it is not waited for."""
        if self._stuck is not None and self._stuck.child.poll() is None:
            self._stuck.child.kill()

    def _run(self, spec: dict[str, Any], deadline_s: float, progress: Progress | None) -> ProbeResult:
        started = time.monotonic()
        stuck = self._still_stuck()
        if stuck is not None:
            return ProbeResult(
                "stalled",
                in_flight=stuck.op,
                reason=(
                    f"the probe started {started - stuck.since:.0f}s ago is still stuck in "
                    f"{stuck.op or 'an operation'}; no new probe starts until it ends"
                ),
            )
        try:
            child = subprocess.Popen(
                [self._python, "-I", "-S", CHILD_SCRIPT, json.dumps({**spec, "path": self.path})],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=os.path.abspath(os.sep),  # never hold the probed mount busy
                **_SPAWN,
            )
        except OSError as exc:
            return ProbeResult("error", reason=f"cannot start the probe process {self._python}: {exc.strerror or exc}")
        assert child.stdout is not None
        lines: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=_pump, args=(child.stdout, lines), name="probe-output", daemon=True).start()
        events = _Events()
        end = started + deadline_s
        while True:
            remaining = end - time.monotonic()
            if remaining <= 0:
                if not _finished_meanwhile(lines, events):  # (after SIGSTOP/SIGCONT it may have ended in time)
                    return self._abandon(child, events, deadline_s, started)
                break
            try:
                line = lines.get(timeout=min(remaining, _TICK_S))
            except queue.Empty:
                line = b""
            if line is None:
                break
            if line:
                events.take(line)
            if progress is not None:
                progress(events.result.in_flight, time.monotonic() - started)
        try:  # its output ended; it may still hang closing a file on a dead mount
            code = child.wait(timeout=max(_TICK_S, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            events.result.in_flight = events.result.in_flight or "close"
            return self._abandon(child, events, deadline_s, started)
        return events.finish(code)

    def _abandon(self, child: subprocess.Popen[bytes], events: _Events, deadline_s: float, started: float) -> ProbeResult:
        """Past the deadline: kill the child, do not wait for it, remember it while it lives."""
        child.kill()
        if child.poll() is None:
            self._stuck = _Stuck(child, events.result.in_flight, started)
        result = events.result
        result.status = "stalled"
        op = result.in_flight or "between operations"
        result.reason = f"no answer within {deadline_s:g}s (stuck in {op}); the probe process was killed"
        return result
