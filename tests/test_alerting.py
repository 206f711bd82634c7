"""The alert state machine and the notification gates, driven through a real Store."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest

from wslwatch.config import Config, load_text
from wslwatch.core import Alert, Sample
from wslwatch.daemon.alerting import Active, Finding, RuleEngine, format_duration
from wslwatch.daemon.notify import ALL_RULES, Dispatcher, LogNotifier
from wslwatch.daemon.rules import create_engine
from wslwatch.store import Snapshot, Store
from wslwatch.daemon.view import View
from wslwatch.exporters.prometheus import StoreCollector

GIB = 2**30
STEP = 30.0
T0 = 1_785_000_000.0
# guest_memory_low's lines: fires below 10 % available, holds below 15 %, 120 s each way.
FIRE, CLEAR, FOR_S, CLEAR_FOR_S = 0.10, 0.15, 120.0, 120.0


@dataclass
class Told:
    """A notifier that keeps what it was told, with the evaluation time it was told at."""

    clock: list[float]
    seen: list[tuple[float, Alert]] = field(default_factory=list)

    def notify(self, alert: Alert) -> None:
        self.seen.append((self.clock[0], alert))


@dataclass
class Run:
    transitions: list[tuple[float, Alert]]
    told: list[tuple[float, Alert]]
    recorded: list[tuple[float, Alert]]
    exported: list[tuple[Alert, ...]]
    snoozed_at: set[float]


def guest(available_share: float, t: float) -> list[Sample]:
    total = 16.0 * GIB
    free = available_share * total
    return [
        Sample("wslwatch_guest_memory_total_bytes", {}, total, t),
        Sample("wslwatch_guest_memory_free_bytes", {}, free, t),
        Sample("wslwatch_guest_memory_available_bytes", {}, free, t),
    ]


def drive(
    shares: Iterable[float],
    renotify_s: float = 0.0,
    snooze: tuple[int, int] | None = None,
    snooze_rule: str = ALL_RULES,
) -> Run:
    """Feed one guest reading per 30 s; `snooze=(step, steps)` snoozes from that step for that long."""
    store = Store()
    engine = create_engine(Config(), store)
    clock = [0.0]
    told, record = Told(clock), Told(clock)
    dispatcher = Dispatcher([told], renotify_s, record=record)
    run = Run([], told.seen, record.seen, [], set())
    engine.subscribe(dispatcher.deliver)
    engine.subscribe(lambda now, transitions, current: run.transitions.extend((now, a) for a in transitions))
    for i, share in enumerate(shares):
        t = T0 + i * STEP
        clock[0] = t
        if snooze is not None and i == snooze[0]:
            dispatcher.snooze(snooze_rule, t + snooze[1] * STEP)
        if dispatcher.snoozes(t):
            run.snoozed_at.add(t)
        store.record("wsl_guest", guest(share, t), t, 0.0)
        run.exported.append(engine.alerts())
    return run


shares = st.lists(st.sampled_from([0.02, 0.08, 0.099, 0.10, 0.12, 0.149, 0.15, 0.3, 0.6]), min_size=1, max_size=80)


@settings(max_examples=150, deadline=None)
@given(shares, st.sampled_from([0.0, 60.0, 300.0]))
def test_no_notification_without_a_firing_transition(values: list[float], renotify_s: float) -> None:
    run = drive(values, renotify_s)
    firing_since: dict[tuple[str, str], float] = {}
    transitions = iter(run.transitions)
    pending = next(transitions, None)
    for when, alert in run.told:
        while pending is not None and pending[0] <= when:  # replay the transitions up to `when`
            key = (pending[1].rule, pending[1].severity)
            if pending[1].state == "firing":
                firing_since[key] = pending[0]
            elif pending[1].state == "resolved":
                firing_since.pop(key, None)
            pending = next(transitions, None)
        key = (alert.rule, alert.severity)
        if alert.state == "firing":
            assert key in firing_since, f"told {alert} at {when} without a firing transition"
        else:
            assert alert.state == "resolved" and (when, alert) in run.transitions
    assert all(alert.state != "pending" for _, alert in run.told)


@settings(max_examples=150, deadline=None)
@given(shares, st.lists(st.sampled_from([0.10, 0.12, 0.149]), min_size=1, max_size=40))
def test_no_flapping_inside_the_hysteresis_band(prefix: list[float], band: list[float]) -> None:
    values = prefix + [0.05] * 5 + band  # 150 s low: firing when the band starts
    run = drive(values)
    band_starts = T0 + (len(prefix) + 5) * STEP
    assert [a.state for a in run.exported[len(prefix) + 4]] == ["firing"]
    for when, alert in run.transitions:
        value = values[round((when - T0) / STEP)]
        if alert.state == "pending":
            assert value < FIRE, "an alert may only start below the firing line"
        if alert.state == "resolved":
            back = [v for i, v in enumerate(values) if when - CLEAR_FOR_S <= T0 + i * STEP <= when]
            assert all(v >= CLEAR for v in back), "resolved clear_for after the first reading above the clear line"
        if when >= band_starts:
            assert alert.state == "firing", f"{alert.state} at {when} while inside the band"


@settings(max_examples=100, deadline=None)
@given(shares, st.integers(0, 40), st.integers(1, 40), st.sampled_from([ALL_RULES, "guest_memory_low"]))
def test_snooze_holds_back_notifications_but_not_the_exported_state(
    values: list[float], start: int, steps: int, rule: str
) -> None:
    plain = drive(values, renotify_s=120.0)
    snoozed = drive(values, renotify_s=120.0, snooze=(start, steps), snooze_rule=rule)
    assert snoozed.exported == plain.exported
    assert not [when for when, _ in snoozed.told if when in snoozed.snoozed_at]
    assert snoozed.recorded == plain.recorded == plain.told, "the record (the log) is never snoozed"
    for when, alert in snoozed.told:  # what is told after a snooze is still true then
        step = round((when - T0) / STEP)
        if alert.state == "firing":
            assert alert in plain.exported[step]
        else:
            assert (when, alert) in plain.transitions
    if start == 0 and steps >= len(values):
        assert snoozed.told == []


def test_unsnooze_ends_a_snooze_and_snoozes_lists_the_running_ones() -> None:
    clock = [T0]
    told = Told(clock)
    dispatcher = Dispatcher([told], 0.0)
    dispatcher.snooze(ALL_RULES, T0 + 3600)
    dispatcher.snooze("vram_high", T0 + 60)
    assert dispatcher.snoozes(T0 + 100) == {ALL_RULES: T0 + 3600}
    alert = Alert("guest_memory_low", "warning", "firing", {}, "s", T0)
    dispatcher.deliver(T0 + 100, [alert], [alert])
    assert told.seen == []
    dispatcher.unsnooze(ALL_RULES)
    dispatcher.deliver(T0 + 115, [], [alert])
    assert [a for _, a in told.seen] == [alert]


def test_a_snooze_is_logged_and_the_log_records_every_alert_meanwhile(caplog: pytest.LogCaptureFixture) -> None:
    clock = [T0]
    told = Told(clock)
    dispatcher = Dispatcher([told], 0.0, record=LogNotifier())
    alert = Alert("guest_memory_low", "warning", "firing", {}, "low — Try: less", T0)
    with caplog.at_level(logging.INFO):
        dispatcher.snooze(ALL_RULES, T0 + 3600)
        dispatcher.deliver(T0, [alert], [alert])
        dispatcher.unsnooze(ALL_RULES)
        dispatcher.unsnooze(ALL_RULES)  # nothing left to resume: no second line
    assert told.seen == []
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0].startswith("every rule's notifications snoozed until ")
    assert messages[0].endswith("; the log still records every alert")
    assert messages[1:] == ["alert guest_memory_low firing [warning]: low — Try: less", "every rule's notifications resumed"]


def test_snooze_of_another_rule_changes_nothing() -> None:
    values = [0.3] * 3 + [0.05] * 10 + [0.3] * 10
    assert drive(values, snooze=(0, 100), snooze_rule="vram_high").told == drive(values).told


def test_a_firing_alert_told_under_snooze_is_told_when_the_snooze_ends() -> None:
    run = drive([0.05] * 20, renotify_s=0.0, snooze=(0, 10))
    assert [(when - T0, a.state) for when, a in run.told] == [(300.0, "firing")]  # step 10


def test_renotify_repeats_a_still_firing_alert() -> None:
    run = drive([0.05] * 30 + [0.5] * 10, renotify_s=300.0)
    assert [(when - T0, a.state) for when, a in run.told] == [
        (120.0, "firing"),
        (420.0, "firing"),
        (720.0, "firing"),
        (1020.0, "resolved"),  # low until step 29; the first reading above the clear line 900 s; +120 s
    ]


def test_exported_firing_alerts_are_the_engines() -> None:
    store = Store()
    engine = create_engine(Config(), store)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store.snapshot, "test", engine.alerts))
    holder = {"pid": "77", "process": "python", "kind": "anon"}
    for i in range(6):
        t = T0 + i * STEP
        store.record("wsl_guest", [*guest(0.05, t), Sample("wslwatch_guest_process_memory_bytes", holder, 9e9, t)], t, 0.0)
    text = generate_latest(registry).decode()
    line = (
        'wslwatch_alert_firing{code="",gpu="",holder="python (pid 77)",path="",rule="guest_memory_low",'
        'severity="warning",uuid=""} 1.0'
    )
    assert line in text


def test_pending_alerts_are_not_exported_as_firing() -> None:
    store = Store()
    engine = create_engine(Config(), store)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store.snapshot, "test", engine.alerts))
    store.record("wsl_guest", guest(0.05, T0), T0, 0.0)
    assert [a.state for a in engine.alerts()] == ["pending"]
    assert "wslwatch_alert_firing{" not in generate_latest(registry).decode()


class Broken:
    """A rule that fails after its first, firing evaluation."""

    name = "broken"
    severity = "warning"
    for_s = 0.0
    clear_for_s = 0.0

    def __init__(self) -> None:
        self.calls = 0

    def evaluate(self, view: View, active: Active) -> list[Finding]:
        self.calls += 1
        if self.calls > 1:
            raise ZeroDivisionError("bad data")
        return [Finding({}, "it holds", "Try: nothing")]


def test_a_failing_rule_keeps_its_alerts_and_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    engine = RuleEngine([Broken()], Store().history)
    with caplog.at_level(logging.ERROR):
        for i in range(4):
            engine.on_snapshot(Snapshot.build(T0 + i, [], []))
    assert [a.state for a in engine.alerts()] == ["firing"]
    assert len([r for r in caplog.records if "rule broken failed" in r.getMessage()]) == 1


def test_for_zero_fires_at_once_and_older_snapshots_are_skipped() -> None:
    seen: list[Alert] = []
    engine = RuleEngine([Broken()], Store().history)
    engine.subscribe(lambda now, transitions, current: seen.extend(transitions))
    engine.on_snapshot(Snapshot.build(T0 + 10, [], []))
    engine.on_snapshot(Snapshot.build(T0 + 5, [], []))  # late: skipped, the rule is not asked again
    assert [a.state for a in seen] == ["firing"]


class Once:
    """A rule whose condition holds at its first evaluation only."""

    severity = "warning"
    for_s = 0.0

    def __init__(self, name: str = "once", clear_for_s: float = 0.0) -> None:
        self.name = name
        self.clear_for_s = clear_for_s
        self.times: list[float] = []

    def evaluate(self, view: View, active: Active) -> list[Finding]:
        self.times.append(view.now)
        return [Finding({}, "it held once", "Try: nothing")] if len(self.times) == 1 else []


@pytest.mark.parametrize("name", ["aa_once", "zz_once"])  # sorting before and after "broken"
def test_a_failing_rule_keeps_only_its_own_alerts(name: str) -> None:
    engine = RuleEngine([Broken(), Once(name)], Store().history)
    engine.on_snapshot(Snapshot.build(T0, [], []))
    engine.on_snapshot(Snapshot.build(T0 + 1, [], []))
    assert [(a.rule, a.state) for a in engine.alerts()] == [("broken", "firing")]


def test_a_snapshot_at_the_same_moment_as_the_last_is_judged_too() -> None:
    """Two collectors that report at the same moment: the second one's data is judged as well."""
    once = Once()
    engine = RuleEngine([once], Store().history)
    for t in (T0, T0, T0 - 1):
        engine.on_snapshot(Snapshot.build(t, [], []))
    assert once.times == [T0, T0]


class Watching:
    """A rule that holds always, after `for_s`, and notes whether the engine calls it active."""

    name = "zz_watching"  # sorts after "broken"
    severity = "warning"
    clear_for_s = 0.0

    def __init__(self, for_s: float = 0.0) -> None:
        self.for_s = for_s
        self.active: list[bool] = []

    def evaluate(self, view: View, active: Active) -> list[Finding]:
        self.active.append(active({}, self.severity))
        return [Finding({}, "it holds", "Try: nothing")]


def test_a_rule_that_fails_once_is_logged_failing_and_working_again_once(caplog: pytest.LogCaptureFixture) -> None:
    class Hiccup(Watching):
        def evaluate(self, view: View, active: Active) -> list[Finding]:
            if len(self.active) == 1:
                self.active.append(False)
                raise ZeroDivisionError("bad data")
            return super().evaluate(view, active)

    engine = RuleEngine([Hiccup()], Store().history)
    with caplog.at_level(logging.INFO, "wslwatch.daemon.alerting"):
        for t in range(5):
            engine.on_snapshot(Snapshot.build(T0 + t, [], []))
    messages = [r.getMessage() for r in caplog.records]
    assert [m for m in messages if m.startswith("rule zz_watching")] == [
        "rule zz_watching failed; its alerts keep their state until it works again",
        "rule zz_watching works again",
    ]
    assert [(a.state, a.since) for a in engine.alerts()] == [("firing", T0)]


def test_new_rules_keep_the_alerts_of_the_rules_that_stay() -> None:
    engine = RuleEngine([Watching()], Store().history)
    engine.on_snapshot(Snapshot.build(T0, [], []))
    engine.replace_rules([Watching(), Once()])
    assert [(a.rule, a.state, a.since) for a in engine.alerts()] == [("zz_watching", "firing", T0)]
    engine.replace_rules([Once()])
    assert engine.alerts() == ()


def test_a_gap_leaves_a_firing_alert_its_time() -> None:
    engine = RuleEngine([Watching()], Store().history, max_gap_s=60.0)
    for t in (0.0, 1000.0):
        engine.on_snapshot(Snapshot.build(T0 + t, [], []))
    assert [(a.state, a.since) for a in engine.alerts()] == [("firing", T0)]


def test_a_rule_sees_only_its_own_alerts_as_active() -> None:
    watching = Watching()
    engine = RuleEngine([Broken(), watching], Store().history)  # both: {} labels, warning
    for t in (T0, T0 + 1):
        engine.on_snapshot(Snapshot.build(t, [], []))
    assert watching.active == [False, True]


@pytest.mark.parametrize(
    ("for_s", "times", "fired"),
    [
        (60.0, (0.0, 25.0, 50.0, 75.0), 75.0),  # `for` is passed between two evaluations
        (60.0, (0.0, 60.0), 60.0),  # a gap of exactly max_gap_s is no pause
        (1.0, (0.0, 1.0), 1.0),  # a short `for` is still a wait
    ],
)
def test_for_fires_at_the_first_evaluation_past_it(for_s: float, times: tuple[float, ...], fired: float) -> None:
    engine = RuleEngine([Watching(for_s=for_s)], Store().history, max_gap_s=60.0)
    states: list[tuple[float, str]] = []
    engine.subscribe(lambda now, transitions, current: states.extend((now - T0, a.state) for a in transitions))
    for t in times:
        engine.on_snapshot(Snapshot.build(T0 + t, [], []))
    assert states == [(0.0, "pending"), (fired, "firing")]


def test_clear_for_resolves_at_the_first_evaluation_past_it_and_says_how_long() -> None:
    """Evaluations 25 s apart, `clear_for` 60 s: false from 25 s, resolved at 100 s (75 s later)."""
    engine = RuleEngine([Once(clear_for_s=60.0)], Store().history)
    seen: list[Alert] = []
    engine.subscribe(lambda now, transitions, current: seen.extend(transitions))
    for t in (0.0, 25.0, 50.0, 75.0, 100.0):
        engine.on_snapshot(Snapshot.build(T0 + t, [], []))
    assert [(a.state, a.since - T0, a.summary) for a in seen] == [
        ("firing", 0.0, "it held once — Try: nothing"),
        ("resolved", 100.0, "Resolved after 2 min (was: it held once)"),
    ]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-3, "0 s"), (45, "45 s"), (89.4, "89 s"), (90, "2 min"), (7140, "119 min"),
        (7200, "2 h 0 min"), (7500, "2 h 5 min"), (21240, "5 h 54 min"),
    ],  # fmt: skip
)
def test_durations_read_as_a_person_says_them(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_a_failing_notifier_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    class Failing:
        def notify(self, alert: Alert) -> None:
            raise OSError("no D-Bus session")

    clock = [T0]
    told = Told(clock)
    dispatcher = Dispatcher([Failing(), told], 0.0, record=LogNotifier())
    alert = Alert("guest_memory_low", "warning", "firing", {}, "low — Try: less", T0)
    with caplog.at_level(logging.INFO):
        dispatcher.deliver(T0, [alert], [alert])
    assert [a for _, a in told.seen] == [alert]
    messages = [r.getMessage() for r in caplog.records]
    assert any("notifier" in m and "failed" in m for m in messages)
    assert "alert guest_memory_low firing [warning]: low — Try: less" in messages


def test_info_advice_is_told_once_even_with_renotify() -> None:
    clock = [T0]
    told = Told(clock)
    dispatcher = Dispatcher([told], 60.0)
    advice = Alert("path_cross_os", "info", "firing", {"path": "/mnt/c/x"}, "s", T0)
    for i in range(5):
        dispatcher.deliver(T0 + i * 60, [advice] if i == 0 else [], [advice])
    assert len(told.seen) == 1


def test_daemon_style_wiring_tells_exactly_the_firing_and_resolved_of_a_scenario() -> None:
    from test_scenarios import SCENARIOS, run_scenario

    from wslwatch.daemon.recording import REPLAYED, read_frames

    name = "dropcache_gate_blocked"
    config = load_text("[alerts]\nrenotify_s = 0\n")
    store = Store()
    engine = create_engine(config, store)
    clock = [0.0]
    told = Told(clock)
    dispatcher = Dispatcher([told], config.alerts.renotify_s, record=LogNotifier())
    engine.subscribe(dispatcher.deliver)
    with (SCENARIOS / f"{name}.jsonl").open(encoding="utf-8") as lines:
        for frame in read_frames(lines, name):
            clock[0] = frame.t
            store.record(REPLAYED, list(frame.samples), frame.t, 0.0)
    wanted = [a for a in run_scenario(name) if a.state in ("firing", "resolved")]
    assert [a for _, a in told.seen] == wanted
    assert [a.state for a in wanted] == ["firing", "firing", "resolved", "resolved"]


def test_a_gap_in_evaluations_restarts_a_pending_wait(caplog: pytest.LogCaptureFixture) -> None:
    """A machine that slept between two readings: the sleep is not time the condition was seen."""
    caplog.set_level(logging.INFO, "wslwatch.daemon.alerting")
    store = Store()
    engine = create_engine(Config(), store)  # collections every 15 s at the shortest: a gap is over 60 s
    states: list[tuple[float, str]] = []
    engine.subscribe(lambda now, transitions, current: states.extend((now, a.state) for a in transitions))
    low = 0.05
    for t in (0.0, 30.0, 3600.0, 3630.0, 3660.0, 3690.0, 3720.0):  # asleep from 30 s to 3600 s
        store.record("guest", guest(low, T0 + t), T0 + t, 0.0)
    assert states == [(T0, "pending"), (T0 + 3600.0 + FOR_S, "firing")], "fires 120 s after the wake, not at it"
    assert engine.alerts()[0].state == "firing"
    assert "no evaluation for 60 min (asleep?): 1 pending alert(s) start their wait again" in caplog.text


@pytest.mark.parametrize(
    ("readings", "fired"),
    [
        ((0.0, 60.0, 120.0), FOR_S),  # 60 s: four of the shortest interval, 15 s
        ((0.0, 75.0, 135.0, 195.0), 75.0 + FOR_S),  # 75 s: a gap, the wait starts again at 75 s
    ],
)
def test_a_pause_over_four_collection_intervals_is_a_gap(readings: tuple[float, ...], fired: float) -> None:
    store = Store()
    engine = create_engine(Config(), store)
    states: list[tuple[float, str]] = []
    engine.subscribe(lambda now, transitions, current: states.extend((now, a.state) for a in transitions))
    for t in readings:
        store.record("guest", guest(0.05, T0 + t), T0 + t, 0.0)
    assert states == [(T0, "pending"), (T0 + fired, "firing")]
