"""Who holds the guest's memory: real processes, real memory cgroups (v1 here), recorded v2 layouts.

The amounts come from the kernel, so the checks allow the interpreter's own memory on top of
what each child holds (a Python child is ~10 MiB of anonymous memory before it allocates).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rigs import need
from rigs.cgroups import V1_MEMORY, child, fixture_tree, uncached_file, memory_cgroups, v2_tree_files

from wslwatch.collectors import _guest_holders as holders
from wslwatch.collectors.wsl_guest import ProcReader, WslGuestCollector
from wslwatch.config import Config, load_text
from wslwatch.core import CollectorError, Sample
from wslwatch.daemon.app import build_collectors
from wslwatch.daemon.rules import create_engine
from wslwatch.holders import HOLDER_SERIES
from wslwatch.store import Store

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MiB = 1 << 20
SLACK = 24 * MiB  # the child interpreter's own memory, and the page cache its start reads
DOCKER_ID = "5da01ff6a026185ef051eb87557fac1627349b3f426b4db9fcae2caea7a82213"  # docker/for-win#14704


def series(samples: list[Sample], name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value for s in samples if s.name == name}


def cgroup_series(samples: list[Sample]) -> dict[tuple[str, str], tuple[str, float]]:
    """{(cgroup, kind): (name, bytes)}"""
    return {
        (s.labels["cgroup"], s.labels["kind"]): (s.labels["name"], s.value)
        for s in samples
        if s.name == "wslwatch_guest_cgroup_memory_bytes"
    }


def process_series(samples: list[Sample]) -> dict[tuple[str, str], tuple[str, float]]:
    """{(pid, kind): (process, bytes)}"""
    return {
        (s.labels["pid"], s.labels["kind"]): (s.labels["process"], s.value)
        for s in samples
        if s.name == "wslwatch_guest_process_memory_bytes"
    }


def collect_real(top_n: int, docker_root: str = "/nonexistent") -> list[Sample]:
    reader = ProcReader("/proc", "/sys/fs/cgroup", docker_root)
    return WslGuestCollector(30.0, "/proc", "", reader, top_n=top_n).collect(time.time())


# -- parsers, on recorded files -------------------------------------------------------------------


def test_a_real_process_its_name_and_cpu_from_stat_its_memory_from_status_or_the_same_from_statm() -> None:
    with child("anon", 64 * MiB) as pid:  # quiet after it allocated: its memory holds still
        stat, statm, status = (Path(f"/proc/{pid}/{name}").read_text() for name in ("stat", "statm", "status"))
    name, ticks = holders.parse_stat(stat) or ("", -1)
    assert name.startswith("python") and ticks >= 0
    amounts = holders.parse_status(status) or {}
    assert set(amounts) == {"anon", "swap"} and 64 * MiB <= amounts["anon"] <= 64 * MiB + SLACK
    assert holders.parse_statm(statm, ProcReader.page_size) == amounts["anon"]  # RssAnon, counted in pages


def test_status_as_grep_prints_its_memory_lines_is_enough() -> None:
    assert holders.parse_status("RssAnon:\t  2048 kB\nVmSwap:\t     4 kB\n") == {"anon": 2 << 20, "swap": 4096}
    assert holders.parse_status("RssAnon:\t  2048 kB") is None  # cut before its newline


def test_a_kernel_thread_has_no_memory_to_hold() -> None:
    assert holders.parse_status(Path("/proc/2/status").read_text()) is None  # kthreadd
    assert holders.parse_statm(Path("/proc/2/statm").read_text(), 4096) is None
    assert holders.parse_statm("100 50", 4096) is None  # cut


@pytest.mark.parametrize(
    ("fixture", "anon", "file"),
    [("memory.stat-v2-runc", 6121017344, 26672709632), ("memory.stat-v2-pod", 846118912, 2321530880)],
)
def test_v2_memory_stat_layouts(fixture: str, anon: int, file: int) -> None:
    text = (FIXTURES / "cgroup" / fixture).read_text()
    assert holders.parse_memory_stat(text) == {"anon": anon, "file": file}  # v2 keeps swap elsewhere


def test_v1_memory_stat_prefers_the_hierarchical_totals() -> None:
    text = (V1_MEMORY / "memory.stat").read_text() if V1_MEMORY.exists() else ""
    values = dict(line.split() for line in text.splitlines())
    need("total_rss" in values, "a cgroup v1 memory controller")
    amounts = holders.parse_memory_stat(text)
    assert amounts == {"anon": int(values["total_rss"]), "file": int(values["total_cache"]), "swap": int(values["total_swap"])}


@pytest.mark.parametrize(
    ("path", "name"),
    [
        (f"/docker/{DOCKER_ID}", "container qdrant"),
        (f"/system.slice/docker-{DOCKER_ID}.scope", "container qdrant"),
        (f"/machine.slice/libpod-{'ab' * 32}.scope", "container abababababab"),
        ("/system.slice/containerd.service", "containerd.service"),
        ("/user.slice/user-1000.slice/session-2.scope", "session-2.scope"),
        ("/wsl/init", "/wsl/init"),
    ],
)
def test_cgroup_names(path: str, name: str) -> None:
    assert holders.cgroup_name(path, {DOCKER_ID: "qdrant"}) == name


def test_only_leaf_cgroups_count_and_v2_swap_comes_from_its_own_file() -> None:
    found = holders.cgroup_holders(v2_tree_files(2, 1), lambda ids: {f"{1:064x}": "qdrant"})
    by_path = {h.labels["cgroup"]: h for h in found}
    assert set(by_path) == {f"/docker/{0:064x}", f"/docker/{1:064x}", "/system.slice/unit-0.service"}
    assert by_path[f"/docker/{1:064x}"].labels["name"] == "container qdrant"
    assert by_path[f"/docker/{0:064x}"].labels["name"] == "container 000000000000"
    assert by_path[f"/docker/{1:064x}"].amounts == {"anon": 2 * MiB, "file": 26672709632, "swap": 4096}
    assert by_path["/system.slice/unit-0.service"].amounts == {"anon": 846118912, "file": 2321530880}


def test_top_n_and_a_rest_that_adds_up() -> None:
    found = [holders.Holder({"pid": str(i), "process": f"p{i}"}, {"anon": i * MiB, "swap": 0}) for i in range(10)]
    out = holders.top_samples(found, holders.PROCESS_KINDS, 3, holders.REST_PROCESS)
    anon = [(labels["process"], value) for labels, value in out if labels["kind"] == "anon"]
    assert anon == [("p9", 9 * MiB), ("p8", 8 * MiB), ("p7", 7 * MiB), ("rest", sum(range(7)) * MiB)]
    swap = [(labels["process"], labels["pid"], value) for labels, value in out if labels["kind"] == "swap"]
    assert swap == [("rest", "", 0.0)]  # nobody swapped: no top list of zeros, the rest says 0


# -- cardinality, on a fixture tree --------------------------------------------------------------


def test_500_processes_and_200_cgroups_stay_bounded(tmp_path: Path) -> None:
    proc, cgroup = fixture_tree(tmp_path, 500, 200)
    reader = ProcReader(str(proc), str(cgroup))
    samples = WslGuestCollector(30.0, str(proc), "", reader, top_n=5).collect(1.0)
    processes, cgroups = process_series(samples), cgroup_series(samples)
    assert len(processes) == 5 + 1 + 1  # anon: 5 + rest; swap: nothing is swapped out, only the rest
    assert processes[("", "swap")] == ("rest", 0.0)  # statm was read, not status (which says pid kB)
    assert len(cgroups) == 3 * (5 + 1)
    anon = {pid: value for (pid, kind), (_, value) in processes.items() if kind == "anon"}
    page = ProcReader.page_size
    assert anon == {**{str(p): p * page * 1.0 for p in range(1495, 1500)}, "": sum(range(1000, 1495)) * page * 1.0}
    assert processes[("1499", "anon")][0] == "worker-1499"
    total_file = sum(value for (_, kind), (_, value) in cgroups.items() if kind == "file")
    assert total_file == 100 * 26672709632 + 100 * 2321530880


def test_while_anything_is_swapped_out_status_gives_each_process_its_swap(tmp_path: Path) -> None:
    proc, cgroup = fixture_tree(tmp_path, 20, 2, swapped=True)
    samples = WslGuestCollector(30.0, str(proc), "", ProcReader(str(proc), str(cgroup)), top_n=3).collect(1.0)
    processes = process_series(samples)
    swap = {pid: value for (pid, kind), (_, value) in processes.items() if kind == "swap"}
    assert swap == {"1019": 1019 * 1024.0, "1018": 1018 * 1024.0, "1017": 1017 * 1024.0, "": sum(range(1000, 1017)) * 1024.0}
    assert processes[("1019", "anon")] == ("worker-1019", 1019.0 * ProcReader.page_size)


def test_top_n_0_reads_no_holder_at_all(tmp_path: Path) -> None:
    proc, cgroup = fixture_tree(tmp_path, 3, 2)
    samples = WslGuestCollector(30.0, str(proc), "", cgroup_root=str(cgroup)).collect(1.0)
    assert not process_series(samples) and not cgroup_series(samples)


# -- for real: this machine's processes and memory cgroups ---------------------------------------


def test_children_with_known_anonymous_memory_are_in_the_top_list() -> None:
    # top 10, not 2: other jobs on this shared machine may hold more than the children
    with child("anon", 300 * MiB) as big, child("anon", 200 * MiB) as second:
        processes = process_series(collect_real(top_n=10))
    anon = {pid for pid, kind in processes if kind == "anon"}
    assert {str(big), str(second), ""} <= anon and len(anon) <= 10 + 1
    name, held = processes[(str(big), "anon")]
    assert name.startswith("python") and 300 * MiB <= held <= 300 * MiB + SLACK
    assert 200 * MiB <= processes[(str(second), "anon")][1] <= 200 * MiB + SLACK
    assert processes[("", "anon")][0] == "rest"


def test_real_memory_cgroups_are_named_with_the_right_kind_and_amount(tmp_path: Path) -> None:
    docker = tmp_path / "docker"
    (docker / "containers" / DOCKER_ID).mkdir(parents=True)
    (docker / "containers" / DOCKER_ID / "config.v2.json").write_text(json.dumps({"ID": DOCKER_ID, "Name": "/qdrant"}))
    data = uncached_file(tmp_path / "dataset.bin", 96 * MiB)
    with memory_cgroups("anon.service", f"docker/{DOCKER_ID}") as top:
        with child("anon", 128 * MiB, top / "anon.service"), child("file", 0, top / "docker" / DOCKER_ID, data):
            cgroups = cgroup_series(collect_real(top_n=1000, docker_root=str(docker)))
    base = "/" + top.name
    name, anon = cgroups[(f"{base}/anon.service", "anon")]
    assert name == "anon.service" and 128 * MiB <= anon <= 128 * MiB + SLACK
    assert cgroups.get((f"{base}/anon.service", "file"), ("", 0.0))[1] < SLACK  # absent: it holds none
    name, cached = cgroups[(f"{base}/docker/{DOCKER_ID}", "file")]
    assert name == "container qdrant" and 96 * MiB <= cached <= 96 * MiB + SLACK
    assert cgroups.get((f"{base}/docker/{DOCKER_ID}", "anon"), ("", 0.0))[1] < SLACK
    assert (base, "anon") not in cgroups and (f"{base}/docker", "anon") not in cgroups  # parents: not leaves


def test_an_unreadable_docker_record_keeps_the_short_id(tmp_path: Path) -> None:
    reader = ProcReader("/proc", "/sys/fs/cgroup", str(tmp_path))  # no containers/ there at all
    assert reader.container_names([DOCKER_ID]) == {}
    assert holders.cgroup_name(f"/docker/{DOCKER_ID}", {}) == f"container {DOCKER_ID[:12]}"


def test_no_cgroup_tree_still_lists_processes(tmp_path: Path) -> None:
    reader = ProcReader("/proc", str(tmp_path / "none"))
    samples = WslGuestCollector(30.0, "/proc", "", reader, top_n=3).collect(1.0)
    assert process_series(samples) and not cgroup_series(samples)


# -- the busiest processes, by user CPU (what WSL's idle gate counts) -----------------------------


def test_the_name_runs_to_the_last_parenthesis_and_user_ticks_are_counted_from_there() -> None:
    line = "4242 (a) b (c)) S 1 4242 4242 0 -1 4194304 99 0 0 0 713 21 0 0 20 0 1 0 160447 3133440 380\n"
    assert holders.parse_stat(line) == ("a) b (c)", 713)
    assert holders.parse_stat("4242 (cut) S 1 2") is None


def test_a_busy_child_is_the_busiest_with_its_share_of_all_cpus() -> None:
    cpus = os.cpu_count() or 1
    reader = ProcReader("/proc", "/sys/fs/cgroup")
    collector = WslGuestCollector(30.0, "/proc", "", reader, top_n=50, holders_interval_s=0)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        started = time.monotonic()
        first = collector.collect(started)
        assert not [s for s in first if s.name == "wslwatch_guest_process_cpu_user_ratio"]  # nothing to compare yet
        time.sleep(2.0)
        samples = collector.collect(time.monotonic())
    finally:
        busy.kill()
        busy.wait()
    shares = {s.labels["pid"]: s.value for s in samples if s.name == "wslwatch_guest_process_cpu_user_ratio"}
    # a spinning process gets up to one whole CPU; on this shared machine at least a tenth of one
    assert 0.1 / cpus <= shares[str(busy.pid)] <= 1.05 / cpus
    assert "" in shares  # the rest


# -- their own cadence: read every holders_interval_s, the last ones exported in between ----------


def held(samples: list[Sample]) -> list[tuple[str, tuple[tuple[str, str], ...], float]]:
    return [(s.name, tuple(sorted(s.labels.items())), s.value) for s in samples if s.name in HOLDER_SERIES]


def test_a_process_started_between_two_reads_appears_only_at_the_next_one() -> None:
    reader = ProcReader("/proc", "/sys/fs/cgroup")
    collector = WslGuestCollector(30.0, "/proc", "", reader, top_n=1000, holders_interval_s=60.0)
    first = collector.collect(1000.0)
    with child("anon", 64 * MiB) as pid:
        between = collector.collect(1030.0)
        turn = collector.collect(1059.99)  # the collection nearest the turn, a few ms early, reads them
    assert (str(pid), "anon") not in process_series(between)
    assert held(between) == held(first) != [], "the last holders, as they were read"
    assert {s.ts for s in between} == {1030.0}, "stamped with the collection that exports them"
    assert 64 * MiB <= process_series(turn)[(str(pid), "anon")][1] <= 64 * MiB + SLACK


def test_the_interval_counts_from_the_last_read_and_0_reads_at_every_collection(tmp_path: Path) -> None:
    proc, cgroup = fixture_tree(tmp_path, 3, 2)
    statm = proc / "1000" / "statm"

    def grown_at(collector: WslGuestCollector, times: list[float]) -> list[float]:
        """What pid 1000 holds at each collection, its statm growing by a page before each."""
        out = []
        for now in times:
            size, resident, *rest = statm.read_text().split()
            statm.write_text(" ".join([size, str(int(resident) + 1), *rest]) + "\n")
            out.append(process_series(collector.collect(now))[("1000", "anon")][1])
        return out

    page = ProcReader.page_size
    every = WslGuestCollector(30.0, str(proc), "", ProcReader(str(proc), str(cgroup)), top_n=5, holders_interval_s=0)
    assert grown_at(every, [0.0, 30.0, 60.0]) == [1001.0 * page, 1002.0 * page, 1003.0 * page]
    slow = WslGuestCollector(30.0, str(proc), "", ProcReader(str(proc), str(cgroup)), top_n=5, holders_interval_s=120)
    read_at = grown_at(slow, [0.0, 30.0, 60.0, 90.0, 120.0, 150.0, 240.0])
    assert read_at == [p * page for p in (1004.0, 1004.0, 1004.0, 1004.0, 1008.0, 1008.0, 1010.0)]


@pytest.mark.parametrize(("setting", "at_30_s"), [("", 1001), ("holders_interval_s = 0", 1002)])
def test_the_configured_interval_reaches_the_collector(tmp_path: Path, setting: str, at_30_s: int) -> None:
    proc, cgroup = fixture_tree(tmp_path, 3, 2)
    config = load_text(f'[collectors.wsl_guest]\nproc_root = "{proc}"\ncgroup_root = "{cgroup}"\n{setting}\n')
    built = [c for c, _ in build_collectors(config)]
    (collector,) = [c for c in built if c.name == "wsl_guest"]
    statm = proc / "1000" / "statm"
    found = []
    try:
        for now, pages in ((0.0, 1001), (30.0, 1002)):
            size, _, shared, *rest = statm.read_text().split()
            statm.write_text(" ".join([size, str(int(shared) + pages), shared, *rest]) + "\n")
            found.append(process_series(collector.collect(now))[("1000", "anon")][1])
    finally:
        for each in built:
            each.close()
    assert found == [1001.0 * ProcReader.page_size, at_30_s * ProcReader.page_size]


def test_a_failed_read_forgets_them_and_the_next_read_reads_them_at_once(tmp_path: Path) -> None:
    proc, cgroup = fixture_tree(tmp_path, 3, 2)
    collector = WslGuestCollector(30.0, str(proc), "", ProcReader(str(proc), str(cgroup)), top_n=5)
    collector.collect(0.0)
    meminfo = (proc / "meminfo").read_text()
    (proc / "meminfo").unlink()  # the guest goes away (from Windows: its distro stopped)
    with pytest.raises(CollectorError):
        collector.collect(30.0)
    (proc / "meminfo").write_text(meminfo)
    shutil.rmtree(proc / "1002")  # gone while the guest was not read
    assert ("1002", "anon") not in process_series(collector.collect(40.0)), "no holder from before the failure"


def test_alerts_keep_their_holder_between_two_reads_and_take_the_new_one_at_the_next(tmp_path: Path) -> None:
    proc, cgroup = fixture_tree(tmp_path, 20, 2)
    total = 16 << 30
    meminfo = (proc / "meminfo").read_text().splitlines()
    low = {"MemTotal:": total >> 10, "MemAvailable:": (total // 20) >> 10, "MemFree:": (total // 40) >> 10}
    lines = [f"{line.split()[0]} {low[line.split()[0]]} kB" if line.split()[0] in low else line for line in meminfo]
    (proc / "meminfo").write_text("\n".join(lines) + "\n")  # 5 % available: guest_memory_low
    store = Store()
    engine = create_engine(Config(), store)
    collector = WslGuestCollector(30.0, str(proc), "", ProcReader(str(proc), str(cgroup)), top_n=5)
    named = []
    for step in range(7):
        now = 1_785_000_000.0 + 30.0 * step
        store.record("wsl_guest", collector.collect(now), now, 0.0)
        (alert,) = [a for a in engine.alerts() if a.rule == "guest_memory_low"]
        named.append((alert.state, alert.holder))
        if step == 0:  # pid 1000 grows to the largest right after the first read
            (proc / "1000" / "statm").write_text("300000 250000 50000 1 0 250000 0\n")
    worker_1019, worker_1000 = "worker-1019 (pid 1019)", "worker-1000 (pid 1000)"
    # read at 0 s and, holders_interval_s being 120 s by default, at 120 s, when the alert fires
    assert named == [("pending", worker_1019)] * 4 + [("firing", worker_1000)] * 3
