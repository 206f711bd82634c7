"""The prober's side of a probe: how what its child process says becomes a result, the deadline,
a stopped child, the time budget it hands the child, and the messages a user reads.

The child is the real `_probe_child.py` on a real directory, stopped with SIGSTOP where a test
needs it silent (as a child stuck on a dead mount is; the FUSE rig's tests cover the real hang).
Where a test needs a child that says something the real one never says (a crash, an event
stream with exact numbers), the interpreter is a shell script at the process seam, as in
tests/test_probe.py.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Iterator

import psutil
import pytest

from wslwatch.collectors.probe import PathProber, ProbeResult, plan_samples

# the events of a real child's probe of a directory (from `python -I -S _probe_child.py SPEC`), with
# round numbers of nanoseconds so the seconds they make are exact
_EVENTS = """\
{"ev": "start", "op": "resolve", "i": 0}
{"ev": "place", "realpath": "/data/real"}
{"ev": "start", "op": "prepare", "i": 0}
{"ev": "ready"}
{"ev": "start", "op": "stat_dir", "i": 0}
{"ev": "done", "op": "stat_dir", "i": 0, "ns": 9000000000, "warmup": true}
{"ev": "start", "op": "stat_dir", "i": 1}
{"ev": "done", "op": "stat_dir", "i": 1, "ns": 1500000000, "warmup": false}
{"ev": "start", "op": "stat_dir", "i": 2}
{"ev": "done", "op": "stat_dir", "i": 2, "ns": 250000000, "warmup": false}
{"ev": "skip", "op": "read_direct", "why": "O_DIRECT refused by this filesystem (Invalid argument)"}
{"ev": "note", "what": "time budget of 2s spent; one sample per remaining operation"}
{"ev": "end", "readonly": true, "bytes": 8192, "cache_illusions": 2, "left": ["c-1-abcdef-0"]}
"""


def stand_in(tmp_path: Path, script: str) -> str:
    """An 'interpreter' that ignores its arguments and runs `script` (sh) in place of the child."""
    path = tmp_path / "python"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return str(path)


def run_stand_in(tmp_path: Path, script: str) -> ProbeResult:
    prober = PathProber(str(tmp_path), python=stand_in(tmp_path, script))
    return prober.probe(plan_samples(1), gap_s=0.0, deadline_s=10.0)


def test_the_childs_events_become_the_result(tmp_path: Path) -> None:
    (tmp_path / "events").write_text(_EVENTS)
    result = run_stand_in(tmp_path, f"cat '{tmp_path / 'events'}'\n")
    assert result.status == "ok" and result.reason is None
    assert result.facts == {"ev": "place", "realpath": "/data/real"}
    assert result.latencies == {"stat_dir": [1.5, 0.25]}  # seconds; the warmup is not a sample
    assert result.skipped == {"read_direct": "O_DIRECT refused by this filesystem (Invalid argument)"}
    assert result.notes == [
        "time budget of 2s spent; one sample per remaining operation",
        "could not remove c-1-abcdef-0 from the probe directory",
    ]
    assert (result.readonly, result.bytes, result.cache_illusions, result.in_flight) == (True, 8192, 2, None)


def test_an_end_without_counts_means_none(tmp_path: Path) -> None:
    """`locate` and `cleanup` runs end with a bare `end`: nothing read-only, no bytes, no illusions."""
    result = run_stand_in(tmp_path, """echo '{"ev": "end"}'\n""")
    assert result.status == "ok"
    assert (result.readonly, result.bytes, result.cache_illusions, result.notes) == (False, 0, 0, [])


def test_the_childs_own_error_is_the_reason(tmp_path: Path) -> None:
    said = "/data/.wslwatch-probe belongs to user id 0, not to us; remove it"
    result = run_stand_in(tmp_path, f"""echo '{{"ev": "error", "op": "setup", "why": "{said}"}}'\nexit 3\n""")
    assert (result.status, result.reason) == ("error", said)


def test_a_child_that_dies_shows_its_last_three_lines(tmp_path: Path) -> None:
    result = run_stand_in(tmp_path, "printf 'one\\ntwo\\nthree\\nfour\\nfive\\n'\nexit 7\n")
    assert result.status == "error"
    assert result.reason == "the probe process exited with status 7 before finishing (it said: three; four; five)"


def test_a_child_that_exits_cleanly_without_finishing_is_an_error(tmp_path: Path) -> None:
    result = run_stand_in(tmp_path, """echo '{"ev": "ready"}'\nexit 0\n""")
    assert result.status == "error"
    assert result.reason == "the probe process exited with status 0 before finishing (it said: nothing)"


def test_a_child_that_fails_after_its_last_event_is_an_error(tmp_path: Path) -> None:
    """The end event alone is not success: the exit status must say so too (a crash at exit, a kill)."""
    failed = run_stand_in(tmp_path, """echo '{"ev": "end"}'\nexit 4\n""")
    assert (failed.status, failed.reason) == (
        "error", "the probe process exited with status 4 before finishing (it said: nothing)",
    )  # fmt: skip
    killed = run_stand_in(tmp_path, """echo '{"ev": "end"}'\nkill -KILL $$\n""")
    assert killed.status == "error" and "exited with status -9" in (killed.reason or "")


def test_a_child_that_hangs_after_its_output_ended_is_stalled_in_close(tmp_path: Path) -> None:
    """Its last file closed on a dead mount can hang a child after it said everything: the
    deadline still holds, and the result names where it hung."""
    script = """echo '{"ev": "end"}'\nexec 1>&- 2>&-\nexec sleep 30\n"""
    prober = PathProber(str(tmp_path), python=stand_in(tmp_path, script))
    started = time.monotonic()
    result = prober.probe(plan_samples(1), gap_s=0.0, deadline_s=1.5)
    assert time.monotonic() - started < 10
    assert (result.status, result.in_flight) == ("stalled", "close")
    assert result.reason == "no answer within 1.5s (stuck in close); the probe process was killed"


def test_a_child_slow_to_exit_after_its_output_ended_is_waited_for_until_the_deadline(tmp_path: Path) -> None:
    """Closing its last file can take a while on a slow share: within the deadline that is fine."""
    script = """echo '{"ev": "end"}'\nexec 1>&- 2>&-\nexec sleep 1.5\n"""
    prober = PathProber(str(tmp_path), python=stand_in(tmp_path, script))
    result = prober.probe(plan_samples(1), gap_s=0.0, deadline_s=20.0)
    assert (result.status, result.reason) == ("ok", None)


def test_a_probe_process_that_cannot_start_names_the_interpreter_and_why(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-python")
    result = PathProber(str(tmp_path), python=missing).probe(plan_samples(1), gap_s=0.0, deadline_s=5.0)
    assert result.status == "error"
    assert result.reason == f"cannot start the probe process {missing}: No such file or directory"
    assert (result.bytes, result.cache_illusions, result.readonly) == (0, 0, False)  # nothing was moved


def _child_of_this_process() -> psutil.Process:
    (child,) = [p for p in psutil.Process().children() if "_probe_child.py" in " ".join(p.cmdline())]
    return child


@pytest.fixture
def stopped() -> Iterator[list[psutil.Process]]:
    """Children a test stops; killed at the end whatever the prober did with them."""
    children: list[psutil.Process] = []
    yield children
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


def test_a_silent_child_is_stalled_at_the_deadline_with_the_operation_named(
    tmp_path: Path, stopped: list[psutil.Process]
) -> None:
    """A child that stops answering (SIGSTOP, as one stuck in the kernel) is killed at the deadline;
    progress keeps being reported every quarter second meanwhile; a stopped child dies of SIGKILL,
    so nothing stays stuck and the next probe runs."""
    prober = PathProber(str(tmp_path))
    calls: list[tuple[str | None, float]] = []

    def progress(op: str | None, elapsed: float) -> None:
        calls.append((op, elapsed))
        if op == "listdir" and not stopped:  # in its pause before the listdir warmup
            stopped.append(_child_of_this_process())
            stopped[0].send_signal(signal.SIGSTOP)

    result = prober.probe(plan_samples(1), gap_s=0.5, deadline_s=2.0, progress=progress)
    assert (result.status, result.in_flight) == ("stalled", "listdir")
    assert result.reason == "no answer within 2s (stuck in listdir); the probe process was killed"
    assert result.latencies["stat_dir"] and result.facts is not None  # what came before is kept
    assert not psutil.wait_procs(stopped, timeout=5)[1], "the stopped child was killed"
    while_stopped = [elapsed for op, elapsed in calls if op == "listdir"]
    assert len(while_stopped) >= 4, f"progress every 0.25 s while the child is silent: {while_stopped}"
    assert 1.0 <= while_stopped[-1] - while_stopped[0] <= 2.5 and while_stopped[-1] < 10
    assert prober.stuck_pid is None
    assert prober.probe(plan_samples(1), gap_s=0.0, deadline_s=30.0).status == "ok"


def test_a_probe_that_finished_while_the_prober_was_held_up_is_not_stalled(tmp_path: Path) -> None:
    """The prober's thread held past the deadline (the daemon stopped, a suspended laptop) while the
    child finished in time: what it wrote is read, and the probe counts."""
    held: list[float] = []

    def progress(op: str | None, elapsed: float) -> None:
        if not held:
            held.append(elapsed)
            time.sleep(3.0)

    result = PathProber(str(tmp_path)).probe(plan_samples(1), gap_s=0.0, deadline_s=2.0, progress=progress)
    assert result.status == "ok", result.reason
    assert result.latencies["unlink"] and result.in_flight is None


def test_the_child_gets_half_the_deadline_as_its_time_budget(tmp_path: Path) -> None:
    """Past half the deadline the child takes one sample of each remaining operation, so a probe
    of a slow share still ends in time and still times every operation."""
    result = PathProber(str(tmp_path)).probe(plan_samples(100), gap_s=0.05, deadline_s=3.0)
    assert result.status == "ok", result.reason
    assert result.notes == ["time budget of 1.5s spent; one sample per remaining operation"]
    assert len(result.latencies["stat_dir"]) > 5
    assert {op: len(samples) for op, samples in result.latencies.items() if op != "stat_dir"} == dict.fromkeys(
        [op for op in result.latencies if op != "stat_dir"], 1
    )


def test_progress_says_the_time_since_the_probe_started(tmp_path: Path) -> None:
    seen: list[float] = []
    started = time.monotonic()
    PathProber(str(tmp_path)).probe(plan_samples(3), gap_s=0.05, deadline_s=30.0, progress=lambda op, s: seen.append(s))
    took = time.monotonic() - started
    assert seen == sorted(seen) and 0 <= seen[0]
    assert seen[-1] <= took and seen[-1] - seen[0] >= 0.05 * 3 * 9  # at least the gaps between its samples


def test_the_child_runs_in_a_session_of_its_own_from_the_root(tmp_path: Path) -> None:
    """Its own session: a Ctrl-C or hang-up of the terminal that started `wslwatch probe` is not
    delivered to it mid-operation; the root as cwd: it never holds the probed mount busy."""
    seen: list[tuple[int, int, str]] = []

    def progress(op: str | None, elapsed: float) -> None:
        if not seen:
            child = _child_of_this_process()
            seen.append((os.getsid(child.pid), child.pid, child.cwd()))

    PathProber(str(tmp_path)).probe(plan_samples(1), gap_s=0.1, deadline_s=30.0, progress=progress)
    assert seen == [(seen[0][1], seen[0][1], "/")]
    assert os.getsid(0) != seen[0][1]

