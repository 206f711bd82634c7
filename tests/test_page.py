"""The /metrics page rendered part by part: byte for byte what prometheus-client's own
`generate_latest` writes for the whole collector, in every encoding, through every kind of
change the Store sees; and a part is rendered again only when its source changed."""

from __future__ import annotations

import gzip
import urllib.request
from functools import partial
from typing import Callable

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from wslwatch.core import Alert, Sample
from wslwatch.exporters.http import serve
from wslwatch.exporters.page import Page
from wslwatch.exporters.prometheus import Part, StoreCollector
from wslwatch.store import Store

TEXT = None  # no Accept header: the text format 0.0.4
OPENMETRICS = "application/openmetrics-text; version=1.0.0"
TEXT_1 = "text/plain; version=1.0.0; escaping=underscores"
LIBRARY: dict[str | None, Callable[[CollectorRegistry], bytes]] = {
    TEXT: generate_latest,
    OPENMETRICS: generate_openmetrics,
    TEXT_1: partial(generate_latest, escaping="underscores"),
}


def path_samples(path: str, value: float, ts: float) -> list[Sample]:
    """One probed path's series: a histogram, its plain count/sum, its status."""
    labels = {"path": path, "op": "stat_dir"}
    return [
        Sample("wslwatch_path_io_latency_seconds_bucket", {**labels, "le": "0.001"}, value, ts),
        Sample("wslwatch_path_io_latency_seconds_bucket", {**labels, "le": "+Inf"}, value + 1, ts),
        Sample("wslwatch_path_io_latency_seconds_sum", labels, value / 1000, ts),
        Sample("wslwatch_path_io_latency_seconds_count", labels, value + 1, ts),
        Sample("wslwatch_path_probe_status", {"path": path, "status": "ok"}, 1.0, ts),
    ]


def guest_samples(used: float, ts: float) -> list[Sample]:
    return [
        Sample("wslwatch_guest_memory_total_bytes", {}, 8e9, ts),
        Sample("wslwatch_guest_memory_available_bytes", {}, used, ts),
        Sample("wslwatch_guest_swap_in_pages_total", {}, 12.0, ts),
        Sample("wslwatch_guest_cpu_seconds_total", {"mode": "idle"}, 99.5, ts),
    ]


class Rig:
    """A Store, its alerts and derived series, the collector over them, and its Page."""

    def __init__(self) -> None:
        self.store = Store()
        self.alerts: tuple[Alert, ...] = ()
        self.derived_calls = 0
        self.collector = StoreCollector(self.store.snapshot, "1.2.3", lambda: self.alerts, self.derived)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)
        self.page = Page(self.collector)

    def derived(self) -> list[Sample]:
        self.derived_calls += 1
        now = self.store.snapshot().ts  # computed anew for each state, as the forecasts are
        return [Sample("wslwatch_guest_memory_exhausted_in_seconds", {}, 3600.0 - now, now)]

    def check(self, accept: str | None) -> bytes:
        """The page for `accept` is the library's render of the whole collector, byte for byte."""
        body, _ = self.page.render(accept, False)
        calls = self.derived_calls
        assert body == LIBRARY[accept](self.registry)
        self.derived_calls = calls  # not the reference render's call
        return body


@pytest.mark.parametrize("accept", list(LIBRARY))
def test_the_page_is_the_library_render_through_every_kind_of_change(accept: str | None) -> None:
    rig = Rig()
    first = rig.check(accept)  # before any collection: the build only
    assert b"wslwatch_build_info" in first
    rig.store.record("wsl_guest", guest_samples(2e9, 1.0), now=1.0, duration_s=0.002)
    for index in range(3):
        rig.store.record(f"io_latency:p{index}", path_samples(f"/data/p{index}", index, 1.0), now=1.0, duration_s=0.1)
    rig.check(accept)
    rig.store.record("io_latency:p1", path_samples("/data/p1", 50.0, 2.0), now=2.0, duration_s=0.1)  # one path again
    assert b'wslwatch_path_io_latency_seconds_count{op="stat_dir",path="/data/p1"} 51.0' in rig.check(accept)
    rig.store.record_failure("gpu", "NVML library not found", now=2.0, duration_s=0.001)  # health, no samples
    rig.check(accept)
    rig.alerts = (Alert("vram_high", "warning", "firing", {"gpu": "0", "uuid": "GPU-a"}, "", 1.0),)
    assert b'rule="vram_high"' in rig.check(accept)
    rig.store.put([Sample("wslwatch_collector_skipped_total", {"collector": "io_latency:p0", "reason": "missed"}, 2.0, 2.0)])
    rig.check(accept)
    rig.store.forget("io_latency:p2")  # a path taken out of the config
    assert b"/data/p2" not in rig.check(accept)
    rig.store.record("wsl_guest", guest_samples(5e9, 3.0), now=3.0, duration_s=0.002)
    assert b"wslwatch_guest_memory_available_bytes 5e+09" in rig.check(accept)


def test_between_two_changes_the_page_is_served_again_not_rendered() -> None:
    rig = Rig()
    rig.store.record("wsl_guest", guest_samples(2e9, 1.0), now=1.0, duration_s=0.002)
    page, _ = rig.page.render(TEXT, False)
    assert rig.page.render(TEXT, False)[0] is page, "the same bytes object, not a render of it"
    assert rig.derived_calls == 1, "the derived series are computed once per state"
    zipped, _ = rig.page.render(TEXT, True)
    assert gzip.decompress(zipped) == page
    rig.store.record("io_latency:p0", path_samples("/data/p0", 1.0, 2.0), now=2.0, duration_s=0.1)
    assert rig.page.render(TEXT, False)[0] != page
    assert rig.derived_calls == 2


def test_only_the_parts_whose_source_changed_are_rendered_again() -> None:
    rig = Rig()
    rendered: list[object] = []
    parts = rig.collector.parts

    def counting(part: Part) -> Part:
        """`part`, noting its source each time its families are made."""

        def families() -> list[Metric]:
            rendered.append(part.source)
            return part.families()

        return Part(part.source, families)

    def counted() -> list[Part]:
        return [counting(part) for part in parts()]

    rig.collector.parts = counted  # type: ignore[method-assign]
    for index in range(3):
        rig.store.record(f"io_latency:p{index}", path_samples(f"/data/p{index}", index, 1.0), now=1.0, duration_s=0.1)
    rig.page.render(TEXT, False)
    rendered.clear()
    rig.store.record("io_latency:p1", path_samples("/data/p1", 9.0, 2.0), now=2.0, duration_s=0.1)
    rig.page.render(TEXT, False)
    snap = rig.store.snapshot()
    p1 = next(part for part in snap.parts if part[0].labels.get("path") == "/data/p1")
    p1_health = next(h for h in snap.health if h.collector == "io_latency:p1")
    assert set(map(id, rendered)) == {id(p1), id(p1_health), id(None)}, "p1's samples and health, and the derived series"


def test_the_server_serves_the_page_gzipped_and_hands_name_filters_to_the_library() -> None:
    rig = Rig()
    rig.store.record("wsl_guest", guest_samples(2e9, 1.0), now=1.0, duration_s=0.002)
    server = serve(rig.registry, "127.0.0.1", 0, page=rig.page)
    try:
        request = urllib.request.Request(server.url, headers={"Accept-Encoding": "gzip", "Accept": OPENMETRICS})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.headers["Content-Encoding"] == "gzip"
            assert response.headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
            body = gzip.decompress(response.read())
        assert body.endswith(b"# EOF\n") and b"wslwatch_guest_memory_available_bytes 2e+09" in body
        only = "wslwatch_guest_memory_available_bytes"
        with urllib.request.urlopen(f"{server.url}?name[]={only}", timeout=5) as response:
            assert response.read() == generate_latest(rig.registry.restricted_registry([only]))
    finally:
        server.close()
