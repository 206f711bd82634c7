"""Writes the scenario library: recorded-style timelines and the alert transitions they must give.

    python tests/scenarios/make_scenarios.py          # rewrite every scenario here

Each scenario is a compact description of a machine over time (piecewise-linear or step
functions of the seconds since the start) and the transitions a person expects from it,
worked out by hand from the description and the rules' documented defaults (the comment at
each `expect` says how). A resolution comes `clear_for` after the first evaluation (one per
15 s line) where the condition no longer holds, as Prometheus' `keep_firing_for`. Every series is a real catalogue metric with its real labels, at the
real cadences (host, VM process and GPU every 15 s, guest every 30 s, .wslconfig and path
probes every 60 s), written as `record` writes them: one line per 15 s, each sample with its
own collection time. The same files feed `promtool test rules`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

HERE = Path(__file__).resolve().parent
T0 = 1_785_000_000.0  # 2026-07-25, a recent WSL release's era
GIB = 2**30
MIB = 2**20
STEP = 15
Fn = Callable[[float], float]

# Latency histogram buckets of the catalogue (1 us .. 10 s).
BUCKETS = tuple(round(m * 10.0**e, 9) for e in range(-6, 1) for m in (1.0, 2.5, 5.0)) + (10.0,)


def const(value: float) -> Fn:
    return lambda t: value


def ramp(*points: tuple[float, float]) -> Fn:
    """Linear between `(t, value)` points, flat outside them."""

    def f(t: float) -> float:
        if t <= points[0][0]:
            return points[0][1]
        for (t0, v0), (t1, v1) in zip(points, points[1:]):
            if t <= t1:
                return v0 + (v1 - v0) * (t - t0) / (t1 - t0)
        return points[-1][1]

    return f


def steps(first: float, *changes: tuple[float, float]) -> Fn:
    """`first`, then each `(t, value)` from time t on."""

    def f(t: float) -> float:
        value = first
        for when, new in changes:
            if t >= when:
                value = new
        return value

    return f


@dataclass
class Host:
    total: float
    windows_use: Fn = const(8 * GIB)  # what Windows and its programs use
    available: Fn | None = None  # given directly instead of derived


@dataclass
class Guest:
    """The WSL guest: memory as anon (programs) + reclaimable cache + 0.4 GiB kernel; the VM
    process holds what the guest does not have free, plus `stuck` (+0.3 GiB overhead)."""

    total: float
    anon: Fn
    cache: Fn
    running: Fn = const(1)
    stuck: Fn = const(0)
    cpu_user: Fn = const(0.0012)
    cpu_system: Fn = const(0.0008)
    swap_total: float = 4 * GIB
    swap_used: Fn = const(0)
    swap_in_pages_per_s: Fn = const(0)
    swap_out_pages_per_s: Fn = const(0)
    ncpu: int = 16
    #: who holds it: {(pid, process): anon bytes} and {(cgroup, name): anon bytes}, as `wsl_guest` exports them
    processes: dict[tuple[str, str], Fn] = field(default_factory=dict)
    cgroups: dict[tuple[str, str], Fn] = field(default_factory=dict)
    busiest: dict[tuple[str, str], Fn] = field(default_factory=dict)  # {(pid, process): user CPU share}

    def free(self, t: float) -> float:
        return self.total - 0.4 * GIB - self.anon(t) - self.cache(t)

    def working_set(self, t: float) -> float:
        return self.total - self.free(t) + 0.3 * GIB + self.stuck(t)


@dataclass
class WslConfig:
    mode: str = "dropCache"
    section: str = "experimental"
    memory: float = 16 * GIB
    swap: float = 4 * GIB
    problems: dict[str, Fn] = field(default_factory=dict)


@dataclass
class Gpu:
    total: float
    used: Fn
    utilization: Fn
    name: str = "NVIDIA GeForce RTX 4090"
    uuid: str = "GPU-5d2c6a51-8f0e-4b3e-9a6f-2d1f0c7b9e41"
    processes: dict[tuple[str, str], Fn] = field(default_factory=dict)  # {(pid, process): VRAM bytes}


@dataclass
class ProbedPath:
    path: str
    fstype: str
    kind: str
    cross_os: bool
    source: str
    mountpoint: str
    latency: dict[str, Fn]  # op -> seconds per operation
    stalled: Fn = const(0)
    data: bool = True  # configured with `data = true`


@dataclass
class Scenario:
    name: str
    about: str
    duration: float
    host: Host
    guest: Guest | None = None
    wslconfig: WslConfig | None = None
    gpus: tuple[Gpu, ...] = ()
    paths: tuple[ProbedPath, ...] = ()
    vm: bool = True  # a WSL VM process is watched (Windows side)
    config: str = ""  # TOML for replay, when the defaults do not fit
    expect: list[tuple[float, str, str, str, dict[str, str]]] = field(default_factory=list)


# ---------------------------------------------------------------- the samples


def _s(metric: str, value: float, ts: float, **labels: str) -> dict[str, object]:
    return {"name": f"wslwatch_{metric}", "labels": labels, "value": value, "ts": ts}


def _last(t: float, every: float) -> float:
    return math.floor(t / every) * every


class _Counter:
    """Cumulative integral of a per-second rate, sampled at whole seconds."""

    def __init__(self, rate: Fn) -> None:
        self._rate = rate
        self._sums = [0.0]

    def at(self, t: float) -> float:
        while len(self._sums) <= t:
            second = len(self._sums) - 1
            self._sums.append(self._sums[-1] + self._rate(second))
        return self._sums[int(t)]


def _host(s: Scenario, c: float) -> Iterator[dict[str, object]]:
    h = s.host
    if h.available is not None:
        available = h.available(c)
    else:
        held = s.guest.working_set(c) if s.guest and s.guest.running(c) else 0.0
        available = h.total - h.windows_use(c) - held
    yield _s("host_memory_total_bytes", h.total, c)
    yield _s("host_memory_available_bytes", round(available), c)
    yield _s("host_swap_total_bytes", 8 * GIB, c)
    yield _s("host_swap_used_bytes", 0.6 * GIB, c)


def _vmmem(s: Scenario, c: float) -> Iterator[dict[str, object]]:
    up = bool(s.guest and s.guest.running(c))
    yield _s("vmmem_up", 1 if up else 0, c)
    if up and s.guest:
        working_set = round(s.guest.working_set(c))
        yield _s("vmmem_working_set_bytes", working_set, c, process="vmmemWSL")
        yield _s("vmmem_private_bytes", working_set + 100 * MIB, c, process="vmmemWSL")


_MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def _guest_counters(g: Guest) -> dict[str, _Counter]:
    shares: dict[str, Fn] = {
        "user": g.cpu_user,
        "nice": const(0),
        "system": g.cpu_system,
        "iowait": const(0.0005),
        "irq": const(0),
        "softirq": const(0.0001),
        "steal": const(0),
    }
    shares["idle"] = lambda t: 1 - sum(f(t) for mode, f in shares.items() if mode != "idle")
    counters = {mode: _Counter(lambda t, f=f: f(t) * g.ncpu) for mode, f in shares.items()}
    counters["swap_in"] = _Counter(g.swap_in_pages_per_s)
    counters["swap_out"] = _Counter(g.swap_out_pages_per_s)
    return counters


def _guest(g: Guest, counters: dict[str, _Counter], c: float) -> Iterator[dict[str, object]]:
    free, cache = g.free(c), g.cache(c)
    yield _s("guest_memory_total_bytes", g.total, c)
    yield _s("guest_memory_available_bytes", round(free + 0.9 * cache), c)
    yield _s("guest_memory_free_bytes", round(free), c)
    yield _s("guest_memory_cached_bytes", round(0.93 * cache), c)
    yield _s("guest_memory_reclaimable_bytes", round(cache), c)
    yield _s("guest_swap_total_bytes", g.swap_total, c)
    yield _s("guest_swap_free_bytes", round(g.swap_total - g.swap_used(c)), c)
    yield _s("guest_swap_in_pages_total", round(counters["swap_in"].at(c)), c)
    yield _s("guest_swap_out_pages_total", round(counters["swap_out"].at(c)), c)
    for mode in _MODES:
        yield _s("guest_cpu_seconds_total", round(counters[mode].at(c), 2), c, mode=mode)
    for (pid, process), held in g.processes.items():
        yield _s("guest_process_memory_bytes", round(held(c)), c, pid=pid, process=process, kind="anon")
    for (cgroup, name), held in g.cgroups.items():
        yield _s("guest_cgroup_memory_bytes", round(held(c)), c, cgroup=cgroup, name=name, kind="anon")
    for (pid, process), share in g.busiest.items():
        yield _s("guest_process_cpu_user_ratio", share(c), c, pid=pid, process=process)


def _wslconfig(w: WslConfig, c: float) -> Iterator[dict[str, object]]:
    path = r"C:\Users\ana\.wslconfig"
    yield _s("wsl_config_info", 1, c, auto_memory_reclaim=w.mode, section=w.section, path=path)
    yield _s("wsl_config_memory_limit_bytes", w.memory, c)
    yield _s("wsl_config_swap_bytes", w.swap, c)
    for code, present in w.problems.items():
        if present(c):
            yield _s("wsl_config_problem", 1, c, code=code)


def _gpu(index: int, g: Gpu, c: float) -> Iterator[dict[str, object]]:
    ids = {"gpu": str(index), "uuid": g.uuid}
    used, utilization = g.used(c), g.utilization(c)
    yield _s("gpu_info", 1, c, **ids, name=g.name, driver_version="581.57")
    yield _s("gpu_memory_total_bytes", g.total, c, **ids)
    yield _s("gpu_memory_used_bytes", round(used), c, **ids)
    yield _s("gpu_memory_free_bytes", round(g.total - used), c, **ids)
    yield _s("gpu_utilization_ratio", utilization, c, **ids)
    yield _s("gpu_temperature_celsius", round(38 + 40 * utilization), c, **ids)
    yield _s("gpu_power_watts", round(22 + 400 * utilization, 1), c, **ids)
    for (pid, process), held in g.processes.items():
        yield _s("gpu_process_memory_bytes", round(held(c)), c, **ids, pid=pid, process=process, kind="dedicated")


_PROBES_PER_CYCLE = 5


class _Probe:
    """A path's cumulative latency histograms, one probe cycle per minute."""

    def __init__(self, p: ProbedPath) -> None:
        self.p = p
        self.cycles: list[tuple[float, dict[str, list[float]]]] = []  # (time, op -> observations)
        self.last_success = 0.0

    def advance(self, c: float) -> None:
        if self.cycles and self.cycles[-1][0] >= c:
            return
        done: dict[str, list[float]] = {}
        if not self.p.stalled(c):
            self.last_success = c
            for op, latency in self.p.latency.items():
                base = latency(c)
                done[op] = [base * (0.9 + 0.05 * i) for i in range(_PROBES_PER_CYCLE)]
        self.cycles.append((c, done))

    def samples(self, c: float) -> Iterator[dict[str, object]]:
        p = self.p
        yield _s(
            "path_info", 1, c, path=p.path, mountpoint=p.mountpoint, fstype=p.fstype, source=p.source,
            kind=p.kind, cross_os="true" if p.cross_os else "false", readonly="false",
            data="true" if p.data else "false",
        )
        for op in p.latency:
            seen = [x for _, done in self.cycles for x in done.get(op, ())]
            for bound in BUCKETS:
                le = f"{bound:g}"
                yield _s("path_io_latency_seconds_bucket", sum(x <= bound for x in seen), c, path=p.path, op=op, le=le)
            yield _s("path_io_latency_seconds_bucket", len(seen), c, path=p.path, op=op, le="+Inf")
            yield _s("path_io_latency_seconds_sum", round(sum(seen), 9), c, path=p.path, op=op)
            yield _s("path_io_latency_seconds_count", len(seen), c, path=p.path, op=op)
        status = "stalled" if p.stalled(c) else "ok"
        for name in ("ok", "stalled", "error"):
            yield _s("path_probe_status", 1 if name == status else 0, c, path=p.path, status=name)
        yield _s("path_probe_last_success_timestamp_seconds", T0 + self.last_success, c, path=p.path)


def timeline(s: Scenario) -> Iterator[dict[str, object]]:
    """The recorded lines of a scenario."""
    counters = _guest_counters(s.guest) if s.guest else {}
    probes = [_Probe(p) for p in s.paths]
    for k in range(int(s.duration // STEP) + 1):
        t = k * STEP
        samples: list[dict[str, object]] = list(_host(s, _last(t, 15)))
        if s.vm:
            samples += _vmmem(s, _last(t, 15))
        if s.guest and s.guest.running(_last(t, 30)):
            samples += _guest(s.guest, counters, _last(t, 30))
        if s.wslconfig:
            samples += _wslconfig(s.wslconfig, _last(t, 60))
        for index, gpu in enumerate(s.gpus):
            samples += _gpu(index, gpu, _last(t, 15))
        for probe in probes:
            probe.advance(_last(t, 60))
            samples += probe.samples(_last(t, 60))
        for sample in samples:
            ts = T0 + float(sample.pop("ts"))  # type: ignore[arg-type]
            if ts != T0 + t:
                sample["ts"] = ts
        yield {"t": T0 + t, "samples": samples}


# ---------------------------------------------------------------- the scenarios

NO = {}  # type: dict[str, str]
GPU0 = {"gpu": "0", "uuid": Gpu(0, const(0), const(0)).uuid}
IDLE_USER, IDLE_SYSTEM = 0.0012, 0.0008  # 0.2 % busy: idle by WSL's 0.5 % gate


def gradual_reclaim_after_training() -> Scenario:
    """Training for 30 min, then idle: released WSL's gradual reclaim starts 3.5 min into the
    idle period and takes 3 % of the guest's in-use memory every 30 s; the VM follows."""
    total = 15.6 * GIB

    def cache(t: float) -> float:
        if t < 1800:
            return (1 + 6 * t / 1800) * GIB
        value = 7.0 * GIB
        for tick in range(2010, int(t) + 1, 30):  # reclaim ticks after 3.5 min idle
            in_use = 0.4 * GIB + 0.8 * GIB + value
            if in_use <= GIB:
                break
            value = max(0.2 * GIB, value - 0.03 * in_use)
        return value

    return Scenario(
        "gradual_reclaim_after_training",
        "autoMemoryReclaim=gradual working: the VM shrinks to the guest's use within minutes; no alert fires",
        3600,
        Host(32 * GIB),
        Guest(
            total,
            anon=steps(6 * GIB, (1800, 0.8 * GIB)),
            cache=cache,
            cpu_user=steps(0.55, (1800, IDLE_USER)),
            cpu_system=steps(0.08, (1800, IDLE_SYSTEM)),
        ),
        WslConfig("gradual"),
        # Idle from 1800; the guest's 1830 reading shows the first idle interval: pending, with
        # for = 180 s (gradual delay) + 180 s. Reclaim removes >10 % of the cache by 2100 (3
        # ticks of ~0.25 GiB from 7 GiB), well before 2190: the pending alert drops silently.
        expect=[(1830, "reclaim_stalled", "pending", "warning", NO)],
    )


def reclaim_stalled() -> Scenario:
    """dropCache mode, but the reclaim thread is dead (#10534): the guest idles for an hour with
    9 GiB of page cache and the VM keeps it; then the user drops the caches by hand."""
    return Scenario(
        "reclaim_stalled",
        "guest idle for an hour holding 9 GiB of page cache; autoMemoryReclaim never acts",
        5400,
        Host(32 * GIB),
        Guest(
            15.6 * GIB,
            anon=steps(5 * GIB, (1200, 0.7 * GIB)),
            cache=ramp((0, 0.5 * GIB), (1200, 9 * GIB), (4800, 9 * GIB), (4810, 0.4 * GIB)),
            cpu_user=steps(0.6, (1200, IDLE_USER)),
            cpu_system=steps(0.07, (1200, IDLE_SYSTEM)),
        ),
        WslConfig("dropCache"),
        expect=[
            # first idle interval 1200-1230 -> pending at 1230; for = 600 s (dropCache) + 180 s
            (1230, "reclaim_stalled", "pending", "warning", NO),
            (2010, "reclaim_stalled", "firing", "warning", NO),
            # drop_caches at 4800; the 4830 guest reading shows it: first not held 4830; +300 s
            (5130, "reclaim_stalled", "resolved", "warning", NO),
        ],
    )


def dropcache_gate_blocked() -> Scenario:
    """microsoft/WSL#10011: VM working set 37.4 GiB, guest page cache 28 GiB, Windows at 97 %;
    VS Code servers keep the guest at 1.2 % user CPU, above WSL's 0.5 % idle gate, forever."""
    host_total = 64 * GIB
    return Scenario(
        "dropcache_gate_blocked",
        "busy-but-idle-looking guest (#10011): dropCache never starts, Windows runs out of memory",
        4500,
        Host(
            host_total,
            available=ramp((0, 0.12 * host_total), (840, 0.12 * host_total), (900, 0.03 * host_total),
                           (3600, 0.03 * host_total), (3610, 0.46 * host_total)),
        ),
        Guest(
            39.2 * GIB,
            anon=const(8.7 * GIB),
            cache=ramp((0, 28 * GIB), (3600, 28 * GIB), (3610, 0.6 * GIB)),
            cpu_user=const(0.012),
            cpu_system=const(0.006),
            busiest={("812", "code-server"): const(0.008), ("95", "dockerd"): const(0.003)},
        ),
        WslConfig("dropCache", memory=40 * GIB, swap=10 * GIB),
        expect=[
            # 12 % -> 3 % between 840 and 900: crosses 10 % at 853; first reading at/after: 855
            (855, "host_memory_low", "pending", "critical", NO),
            # the 600 s dropCache gate window is first covered by the guest's 600 reading
            (600, "reclaim_gate_blocked", "pending", "warning", NO),
            (975, "host_memory_low", "firing", "critical", NO),
            (2400, "reclaim_gate_blocked", "firing", "warning", NO),
            # drop_caches at 3600: host readings from 3615 fine: first not held 3615; +120 s
            (3735, "host_memory_low", "resolved", "critical", NO),
            # the guest reading at 3630 shows it: first not held 3630; +300 s
            (3930, "reclaim_gate_blocked", "resolved", "warning", NO),
        ],
    )


def reclaim_disabled_bloat() -> Scenario:
    """autoMemoryReclaim=disabled: training fills 13 GiB of page cache that stays in the VM
    (45 % of a 32 GiB host) until the user shuts WSL down."""
    return Scenario(
        "reclaim_disabled_bloat",
        "reclaim disabled, the VM keeps 45 % of host RAM as guest cache; advice until wsl --shutdown",
        4800,
        Host(32 * GIB),
        Guest(
            15.6 * GIB,
            anon=steps(2 * GIB, (1800, 0.7 * GIB)),
            cache=ramp((0, 0.5 * GIB), (1800, 13 * GIB)),
            running=steps(1, (4200, 0)),
            cpu_user=steps(0.5, (1800, IDLE_USER)),
            cpu_system=steps(0.05, (1800, IDLE_SYSTEM)),
        ),
        WslConfig("disabled"),
        expect=[
            # VM = 2.7 GiB + cache; cache = 0.5 + 12.5 t/1800 GiB reaches 40 % of 32 GiB at t=1382:
            # first VM reading at/after: 1395; for 1800 s
            (1395, "reclaim_disabled_bloat", "pending", "info", NO),
            (3195, "reclaim_disabled_bloat", "firing", "info", NO),
            # wsl --shutdown at 4200: no VM, so the rule has no input from 4200; +300 s
            (4500, "reclaim_disabled_bloat", "resolved", "info", NO),
        ],
    )


def vram_training_95() -> Scenario:
    """A training run on a 24 GiB card fills VRAM to 95 %, dips to 87 % (inside the hysteresis
    band) at an evaluation step, and frees everything at exit."""
    gpu = Gpu(
        24 * GIB,
        used=ramp((600, 0.8 * GIB), (660, 22.8 * GIB), (1200, 22.8 * GIB), (1201, 20.9 * GIB),
                  (1230, 20.9 * GIB), (1231, 22.8 * GIB), (2400, 22.8 * GIB), (2415, 0.8 * GIB)),
        utilization=steps(0.02, (600, 0.97), (2400, 0.0)),
    )
    return Scenario(
        "vram_training_95",
        "VRAM climbs to 95 % during training, then is freed at exit: a warning, then resolved",
        3000,
        Host(64 * GIB),
        gpus=(gpu,),
        vm=False,
        expect=[
            # 0.8 -> 22.8 GiB over 600-660 crosses 90 % at 657: the 660 reading
            (660, "vram_high", "pending", "warning", GPU0),
            (720, "vram_high", "firing", "warning", GPU0),
            # at exit (2400) utilization is 0 a moment before the memory goes: held-while-idle
            # goes pending for that one reading
            (2400, "vram_held_idle", "pending", "warning", GPU0),
            # the 87 % dip stays above the 85 % clear line; freed at 2400-2415: first not held 2415; +120 s
            (2535, "vram_high", "resolved", "warning", GPU0),
        ],
    )


def vram_full_two_gpus() -> Scenario:
    """Two cards: GPU 0 (24 GiB) fills to 99 %, eases to 93 % (inside the critical alert's
    band) for 10 min, then to 87 % (inside the warning's band) for 5 min, longer than
    `clear_for`, and is freed; GPU 1 (48 GiB) runs at 92 % for 15 min."""
    share0 = steps(0.05, (600, 0.99), (900, 0.93), (1500, 0.87), (1800, 0.05))
    share1 = steps(0.40, (1200, 0.92), (2100, 0.40))
    gpu0 = Gpu(24 * GIB, used=lambda t: share0(t) * 24 * GIB, utilization=steps(0.02, (600, 0.97), (1800, 0.0)))
    gpu1 = Gpu(
        48 * GIB,
        used=lambda t: share1(t) * 48 * GIB,
        utilization=const(0.9),
        name="NVIDIA RTX A6000",
        uuid="GPU-9b1e4c7d-2a3f-4e8b-b6d0-71c5e2f8a934",
    )
    gpu1_labels = {"gpu": "1", "uuid": gpu1.uuid}
    return Scenario(
        "vram_full_two_gpus",
        "VRAM at 99 % on one card and 92 % on another: critical and warning alerts, each card's own",
        2400,
        Host(64 * GIB),
        gpus=(gpu0, gpu1),
        vm=False,
        expect=[
            # 99 % from the 600 reading: both lines crossed at once; critical for 30 s, warning 60 s
            (600, "vram_high", "pending", "warning", GPU0),
            (600, "vram_high", "pending", "critical", GPU0),
            (630, "vram_high", "firing", "critical", GPU0),
            (660, "vram_high", "firing", "warning", GPU0),
            # 93 % (900-1500) stays above the critical alert's clear line (the 90 % warning line);
            # 87 % from 1500 does not: first not held 1500; +120 s
            (1620, "vram_high", "resolved", "critical", GPU0),
            # 87 % stays above the warning's 85 % clear line for 300 s; freed at 1800; +120 s
            (1920, "vram_high", "resolved", "warning", GPU0),
            # GPU 1 at 92 % from the 1200 reading, back to 40 % at 2100; +120 s
            (1200, "vram_high", "pending", "warning", gpu1_labels),
            (1260, "vram_high", "firing", "warning", gpu1_labels),
            (2220, "vram_high", "resolved", "warning", gpu1_labels),
        ],
    )


def vram_held_after_crash() -> Scenario:
    """A run crashes at 2700 leaving 11 GiB of VRAM held at 0 % utilization; the user ends the
    process 40 min later."""
    gpu = Gpu(
        24 * GIB,
        used=lambda t: ramp((900, 0.6 * GIB), (960, 14 * GIB), (2700, 14 * GIB), (2715, 11 * GIB),
                            (5100, 11 * GIB), (5115, 0.6 * GIB))(t) + (20 * MIB if 2715 < t < 5100 and t % 60 else 0),
        utilization=steps(0.01, (900, 0.96), (2700, 0.0)),
        name="NVIDIA GeForce RTX 3090",
    )
    return Scenario(
        "vram_held_after_crash",
        "VRAM held at 11 GiB with 0 % utilization after a crash: held-while-idle fires, then resolves",
        5400,
        Host(64 * GIB),
        gpus=(gpu,),
        vm=False,
        expect=[
            # at 2700 utilization is 0 while the 14 GiB are not yet freed, unchanged for 120 s:
            # pending, dropped at 2715 when 3 GiB go (no longer flat)
            (2700, "vram_held_idle", "pending", "warning", GPU0),
            # 14 -> 11 GiB at 2700-2715: the 120 s flat window holds only 11 GiB from 2835
            (2835, "vram_held_idle", "pending", "warning", GPU0),
            (3435, "vram_held_idle", "firing", "warning", GPU0),
            # freed at 5100-5115: first not held 5115; +120 s
            (5235, "vram_held_idle", "resolved", "warning", GPU0),
        ],
    )


def guest_swap_thrash() -> Scenario:
    """The guest, 12 % available, swaps 150 MiB per minute for 10 min, then stops."""
    thrashing = steps(0, (600, 1), (1200, 0))
    return Scenario(
        "guest_swap_thrash",
        "swap thrash: 90 MiB/min in and 60 MiB/min out for 10 min",
        1800,
        Host(32 * GIB),
        Guest(
            15.6 * GIB,
            anon=const(13.23 * GIB),
            cache=const(1.0 * GIB),
            cpu_user=const(0.45),
            cpu_system=const(0.12),
            swap_used=ramp((600, 0.2 * GIB), (1200, 2.1 * GIB)),
            swap_in_pages_per_s=lambda t: 384 * thrashing(t),
            swap_out_pages_per_s=lambda t: 256 * thrashing(t),
        ),
        WslConfig("dropCache"),
        expect=[
            # the 60 s window of the 630 reading holds 30 s of swapping: 75 MiB/min >= 64
            (630, "guest_swap_thrash", "pending", "warning", NO),
            (750, "guest_swap_thrash", "firing", "warning", NO),
            # the 1230 reading's window still holds 30 s of it (75 >= 32, the clear line);
            # the 1260 reading holds none: first not held 1260; +120 s
            (1380, "guest_swap_thrash", "resolved", "warning", NO),
        ],
    )


def guest_near_oom() -> Scenario:
    """A data loader grows until the guest has 5 % available; the OOM killer ends it 6 min later."""
    return Scenario(
        "guest_near_oom",
        "guest MemAvailable at 5 % for 6 min, then the OOM killer frees it",
        1500,
        Host(32 * GIB),
        Guest(
            15.6 * GIB,
            anon=ramp((600, 11.2 * GIB), (660, 14.32 * GIB), (1020, 14.32 * GIB), (1030, 1.0 * GIB)),
            cache=const(1.0 * GIB),
            cpu_user=const(0.6),
            cpu_system=const(0.1),
            swap_total=0,
        ),
        WslConfig("dropCache", swap=0),
        expect=[
            # available 15 % at the 630 reading, 5 % at 660
            (660, "guest_memory_low", "pending", "warning", NO),
            (780, "guest_memory_low", "firing", "warning", NO),
            # killed at 1020-1030: the 1050 reading is fine: first not held 1050; +120 s
            (1170, "guest_memory_low", "resolved", "warning", NO),
        ],
    )


def host_memory_low() -> Scenario:
    """Windows runs short (6 % available) while the VM holds 44 % of RAM; later, with the VM
    shrunk to 13 % by a cache drop, a second shortage is not WSL's doing and does not alert."""
    total = 32 * GIB
    return Scenario(
        "host_memory_low",
        "host memory low while the VM holds 44 % of it; a later shortage with a small VM stays quiet",
        2100,
        Host(
            total,
            available=ramp((0, 0.25 * total), (600, 0.25 * total), (630, 0.06 * total), (900, 0.06 * total),
                           (915, 0.20 * total), (1500, 0.20 * total), (1530, 0.05 * total), (1800, 0.05 * total),
                           (1815, 0.25 * total)),
        ),
        Guest(
            15.6 * GIB,
            anon=const(4.3 * GIB),
            cache=ramp((0, 9 * GIB), (1200, 9 * GIB), (1205, 0.3 * GIB)),
            cpu_user=const(0.25),
            cpu_system=const(0.05),
        ),
        WslConfig("dropCache"),
        expect=[
            # 25 % -> 6 % over 600-630 crosses 10 % at 624: the 630 reading
            (630, "host_memory_low", "pending", "critical", NO),
            (750, "host_memory_low", "firing", "critical", NO),
            # back to 20 % at 915 (above the 15 % clear line): first not held 915; +120 s
            (1035, "host_memory_low", "resolved", "critical", NO),
        ],
    )


def brief_spikes() -> Scenario:
    """Short spikes on every threshold: each may go pending, none may fire."""
    gpu = Gpu(
        24 * GIB,
        used=steps(12 * GIB, (600, 23.76 * GIB), (630, 12 * GIB)),
        utilization=const(0.9),
    )
    total = 32 * GIB
    return Scenario(
        "brief_spikes",
        "30 s at 99 % VRAM, 45 s of low host memory, one 200 MiB swap burst, one low guest reading",
        1800,
        Host(total, available=steps(0.3 * total, (900, 0.05 * total), (945, 0.3 * total))),
        Guest(
            15.6 * GIB,
            anon=steps(8 * GIB, (1500, 14.4 * GIB), (1530, 8 * GIB)),
            cache=const(1.0 * GIB),
            cpu_user=const(0.5),
            cpu_system=const(0.1),
            swap_in_pages_per_s=steps(0, (1200, 200 * MIB / 4096 / 30), (1230, 0)),
        ),
        WslConfig("dropCache"),
        gpus=(gpu,),
        expect=[
            # 99 % at the 600 and 615 readings: 15 s held, for is 30 s (critical) / 60 s (warning)
            (600, "vram_high", "pending", "warning", GPU0),
            (600, "vram_high", "pending", "critical", GPU0),
            # 5 % at 900, 915, 930: 30 s of the 120 s needed
            (900, "host_memory_low", "pending", "critical", NO),
            # the burst is inside the 60 s window of the 1230 and 1260 readings: 45 s held
            (1230, "guest_swap_thrash", "pending", "warning", NO),
            # one guest reading (1500) at 4 % available
            (1500, "guest_memory_low", "pending", "warning", NO),
        ],
    )


def vm_not_releasing() -> Scenario:
    """#8414/#10143: after C++ builds the guest frees 7 GiB but the VM keeps 2.5 GiB of it,
    even after dropCache empties the cache; compact_memory at 3000 gives it back."""
    return Scenario(
        "vm_not_releasing",
        "the guest freed memory that Windows still counts against the VM, until compact_memory",
        3600,
        Host(32 * GIB),
        Guest(
            15.6 * GIB,
            anon=steps(8 * GIB, (1200, 1 * GIB)),
            cache=ramp((0, 4 * GIB), (1820, 4 * GIB), (1825, 0.3 * GIB)),
            stuck=steps(0, (1200, 2.5 * GIB), (3000, 0)),
            cpu_user=steps(0.7, (1200, IDLE_USER)),
            cpu_system=steps(0.1, (1200, IDLE_SYSTEM)),
        ),
        WslConfig("dropCache"),
        expect=[
            # gap 2.8 GiB >= max(1.5 GiB, 20 % of 8.2 GiB) from the 1200 readings
            (1200, "vm_not_releasing", "pending", "warning", NO),
            # idle from 1200; dropCache empties the cache at 1825, before reclaim_stalled's 780 s
            (1230, "reclaim_stalled", "pending", "warning", NO),
            (1800, "vm_not_releasing", "firing", "warning", NO),
            # compact_memory at 3000: first not held 3000; +300 s
            (3300, "vm_not_releasing", "resolved", "warning", NO),
        ],
    )


_FAST = {"stat_dir": const(40e-6)}


def data_on_mnt_c() -> Scenario:
    """A dataset configured as training data on /mnt/c (drvfs over 9p); the share degrades 4x
    at 300, stops answering at 900 and recovers at 1500. A second data path on ext4 is fine."""
    degraded = steps(1.0, (300, 4.0), (1500, 1.0))
    mnt_c = ProbedPath(
        "/mnt/c/datasets", "9p", "wsl-drvfs-9p", True, "drvfs", "/mnt/c",
        latency={
            "stat_dir": lambda t: 2.3e-3 * degraded(t),
            "open_close": lambda t: 8.8e-3 * degraded(t),
            "create_fsync": lambda t: 15.8e-3 * degraded(t),
        },
        stalled=steps(0, (900, 1), (1500, 0)),
    )
    home = ProbedPath("/home/ana/data", "ext4", "ext4", False, "/dev/sdc", "/", latency=_FAST)
    path = {"path": "/mnt/c/datasets"}
    return Scenario(
        "data_on_mnt_c",
        "training data on /mnt/c: cross-OS advice, then slow, then stalled, then back",
        1800,
        Host(32 * GIB),
        Guest(15.6 * GIB, anon=const(6 * GIB), cache=const(4 * GIB), cpu_user=const(0.3), cpu_system=const(0.1)),
        WslConfig("dropCache"),
        paths=(mnt_c, home),
        config=(
            '[[paths]]\npath = "/mnt/c/datasets"\nname = "imagenet"\ndata = true\n\n'
            '[[paths]]\npath = "/home/ana/data"\nname = "local"\ndata = true\n'
        ),
        expect=[
            (0, "path_cross_os", "firing", "info", path),
            # the cycle done at 300 is 4x slower: pooled median 37.5 ms > 10 ms; for 120 s
            (300, "path_slow", "pending", "warning", path),
            (420, "path_slow", "firing", "warning", path),
            # stalled from the 900 probe: for 60 s
            (900, "path_stalled", "pending", "critical", path),
            (960, "path_stalled", "firing", "critical", path),
            # the last finished cycle (840) counts until two intervals old: first not held 960; +120 s
            (1080, "path_slow", "resolved", "warning", path),
            # answering again at 1500: first not held 1500; +60 s
            (1560, "path_stalled", "resolved", "critical", path),
        ],
    )


def wslconfig_misplaced() -> Scenario:
    """autoMemoryReclaim written under [wsl2] (ignored there); the user moves it at 600, which
    needs a VM restart, done at 900."""
    return Scenario(
        "wslconfig_misplaced",
        ".wslconfig problems: the key in the wrong section, then a change the running VM has not read",
        1200,
        Host(32 * GIB),
        Guest(15.6 * GIB, anon=const(3 * GIB), cache=const(2 * GIB), cpu_user=const(0.2), cpu_system=const(0.05)),
        WslConfig(
            "dropCache",
            section="wsl2",
            problems={
                "reclaim_in_wsl2_section": steps(1, (600, 0)),
                "changed_after_vm_start": steps(0, (600, 1), (900, 0)),
            },
        ),
        expect=[
            (0, "wslconfig_problem", "firing", "warning", {"code": "reclaim_in_wsl2_section"}),
            # clear_for is 0: gone from the 600 reading on
            (600, "wslconfig_problem", "firing", "warning", {"code": "changed_after_vm_start"}),
            (600, "wslconfig_problem", "resolved", "warning", {"code": "reclaim_in_wsl2_section"}),
            (900, "wslconfig_problem", "resolved", "warning", {"code": "changed_after_vm_start"}),
        ],
    )


def vm_stopped_no_gpu() -> Scenario:
    """A laptop without an NVIDIA GPU, WSL not running, Windows short of memory: every WSL and
    GPU rule lacks its inputs and stays quiet; host_memory_low needs the VM to be the cause."""
    total = 16 * GIB
    return Scenario(
        "vm_stopped_no_gpu",
        "no GPU, VM stopped, Windows at 95 %: missing inputs make rules inactive, not wrong",
        1200,
        Host(total, available=const(0.05 * total)),
        Guest(15.6 * GIB, anon=const(1 * GIB), cache=const(1 * GIB), running=const(0)),
        WslConfig("dropCache", memory=8 * GIB),
        expect=[],
    )


def guest_memory_leak() -> Scenario:
    """A container's vector index grows by 240 MiB a minute from 600 until the OOM killer ends it
    at 3300; 11.1 GiB are available when it starts growing."""
    leak = ramp((600, 4.0 * GIB), (3300, 4.0 * GIB + 45 * 240 * MIB), (3315, 4.0 * GIB))
    return Scenario(
        "guest_memory_leak",
        "guest MemAvailable falls 240 MiB/min for 45 min: the forecast fires 10 min before the OOM kill",
        3900,
        Host(64 * GIB),
        Guest(
            15.6 * GIB,
            anon=leak,
            cache=const(1.0 * GIB),
            cpu_user=const(0.3),
            cpu_system=const(0.05),
            processes={("4242", "qdrant"): lambda t: leak(t) - 0.5 * GIB},
            cgroups={(f"/docker/{'5da01ff6a026' * 5 + 'abcd'}", "container qdrant"): lambda t: leak(t) - 0.4 * GIB},
        ),
        WslConfig("dropCache"),
        expect=[
            # available = 10.2 GiB + 0.9 GiB cache - the leak: falling 240 MiB/min on a straight
            # line from 1200 (600 + the 10 min window); under 10 min left once under 2400 MiB,
            # after 8970 MiB of growth, 2242 s after 600: the 2850 reading (30 s cadence)
            (2850, "guest_memory_filling", "pending", "warning", NO),
            (2970, "guest_memory_filling", "firing", "warning", NO),
            # under 10 % available (1.56 GiB) after 9769 MiB of growth, 2442 s after 600
            (3060, "guest_memory_low", "pending", "warning", NO),
            (3180, "guest_memory_low", "firing", "warning", NO),
            # the kill at 3300-3315 frees 10.5 GiB: a step, no trend; first guest reading
            # without either condition 3330; +120 s
            (3450, "guest_memory_filling", "resolved", "warning", NO),
            (3450, "guest_memory_low", "resolved", "warning", NO),
        ],
    )


def vram_leak() -> Scenario:
    """A training loop keeps tensors of every step: VRAM grows 0.5 GiB a minute from 600 until
    CUDA runs out at 2700 and the run dies, freeing it."""
    used = ramp((600, 6.0 * GIB), (2700, 23.5 * GIB), (2715, 0.8 * GIB))
    gpu = Gpu(24 * GIB, used=used, utilization=steps(0.02, (600, 0.95), (2700, 0.0)),
              processes={("8123", "python.exe"): lambda t: max(used(t) - 0.8 * GIB, 0)})
    return Scenario(
        "vram_leak",
        "free VRAM falls 0.5 GiB/min: the forecast warns 10 min before CUDA runs out",
        3300,
        Host(64 * GIB),
        gpus=(gpu,),
        vm=False,
        expect=[
            # free = 18 GiB - 0.5 GiB/min from 600, a straight line from 1200; under 10 min left
            # once under 5 GiB: 13 GiB of growth, 1560 s after 600 (at 2160 exactly 600 s: not under)
            (2175, "vram_filling", "pending", "warning", GPU0),
            (2295, "vram_filling", "firing", "warning", GPU0),
            # 90 % in use (21.6 GiB) at 600 + 15.6 / 0.5 min = 2472: the 2475 reading
            (2475, "vram_high", "pending", "warning", GPU0),
            (2535, "vram_high", "firing", "warning", GPU0),
            # 97 % (23.28 GiB) at 2674: the 2685 reading; the run dies at 2700 before 30 s pass
            (2685, "vram_high", "pending", "critical", GPU0),
            # freed at 2700-2715 (a step): first reading without either condition 2715; +120 s each
            (2835, "vram_filling", "resolved", "warning", GPU0),
            (2835, "vram_high", "resolved", "warning", GPU0),
        ],
    )


SCENARIOS = (
    gradual_reclaim_after_training,
    reclaim_stalled,
    dropcache_gate_blocked,
    reclaim_disabled_bloat,
    vram_training_95,
    vram_full_two_gpus,
    vram_held_after_crash,
    guest_swap_thrash,
    guest_near_oom,
    host_memory_low,
    brief_spikes,
    vm_not_releasing,
    data_on_mnt_c,
    wslconfig_misplaced,
    vm_stopped_no_gpu,
    guest_memory_leak,
    vram_leak,
)


def expected_lines(s: Scenario) -> list[dict[str, object]]:
    ordered = sorted(enumerate(s.expect), key=lambda item: (item[1][0], item[0]))
    return [
        {"t": T0 + t, "rule": rule, "state": state, "severity": severity, "labels": labels}
        for _, (t, rule, state, severity, labels) in ordered
    ]


def write(directory: Path = HERE) -> list[Path]:
    """Write every scenario's `.jsonl`, `.expected.jsonl` and (if any) `.toml`; the paths written."""
    written = []
    for make in SCENARIOS:
        s = make()
        files = {
            f"{s.name}.jsonl": "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in timeline(s)),
            f"{s.name}.expected.jsonl": "".join(json.dumps(line) + "\n" for line in expected_lines(s)),
        }
        if s.config:
            files[f"{s.name}.toml"] = f"# {s.about}\n{s.config}"
        for name, text in files.items():
            (directory / name).write_text(text, encoding="utf-8")
            written.append(directory / name)
    return written


if __name__ == "__main__":
    for path in write():
        print(path.relative_to(HERE.parent.parent))
