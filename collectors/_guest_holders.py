"""Who holds the guest's memory: processes from `/proc/<pid>/*`, cgroups from `memory.stat`.

Pure functions of the files' text, keyed as the guest readers key them: `<pid>/stat` (name and
user CPU) with `<pid>/statm` or `<pid>/status` (memory) relative to the proc root,
`cgroup:<path>/memory.stat` (and `memory.swap.current`) relative to the cgroup root. The series
are bounded: the top N holders of each kind plus one `rest` series holding the sum of the others,
so a machine with 500 processes still exports at most N + 1 series per kind.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

__all__ = [
    "CGROUP_KINDS",
    "CGROUP_PREFIX",
    "STAT",
    "STATM",
    "STATUS",
    "PROCESS_KINDS",
    "REST",
    "REST_CGROUP",
    "REST_PROCESS",
    "Holder",
    "cgroup_holders",
    "cgroup_name",
    "parse_memory_stat",
    "parse_stat",
    "parse_statm",
    "parse_status",
    "process_holders",
    "top_samples",
]

CGROUP_PREFIX = "cgroup:"
MEMORY_STAT, SWAP_CURRENT = "memory.stat", "memory.swap.current"
#: A process's files: its name and user CPU; its memory, cheap (anon only) or in full (with swap).
STAT, STATM, STATUS = "stat", "statm", "status"
PROCESS_KINDS = ("anon", "swap")
CGROUP_KINDS = ("anon", "file", "swap")
#: The label value of the series holding everything outside the top N.
REST = "rest"

#: /proc/<pid>/status fields (kB) -> kind.
_STATUS_FIELDS = {"RssAnon": "anon", "VmSwap": "swap"}
#: memory.stat fields -> kind. cgroup v2 names `anon` and `file` (hierarchical); v1 names
#: them `total_rss` and `total_cache` (hierarchical; `rss`/`cache`/`swap` are this cgroup's own,
#: used when the kernel has no `total_*`). v2 keeps swap in its own file, memory.swap.current.
_STAT_FIELDS = {
    "anon": ("anon", "total_rss", "rss"),
    "file": ("file", "total_cache", "cache"),
    "swap": ("total_swap", "swap"),
}
_STAT_LINE = re.compile(
    rf"^({'|'.join(name for names in _STAT_FIELDS.values() for name in names)}) ([0-9]+)$", re.MULTILINE
)
#: A Docker or Podman container's cgroup: `/docker/<id>` (cgroupfs driver, Docker Desktop),
#: `/system.slice/docker-<id>.scope` (systemd driver), `libpod-<id>.scope` (Podman).
_CONTAINER = re.compile(r"(?:^|/)(?:docker[-/]|libpod-)([0-9a-f]{64})(?:\.scope)?$")


class Holder(NamedTuple):
    """One holder: its identifying labels and how much of each kind it holds."""

    labels: dict[str, str]
    amounts: Mapping[str, float]


def parse_stat(text: str) -> tuple[str, int] | None:
    """(process name, user CPU time `utime` in USER_HZ ticks) of a `/proc/<pid>/stat` line; None
    for a line cut short. The name in parentheses may itself hold spaces and parentheses, so it
    runs to the last `)`, and the fields (`utime` is field 14) are counted from there."""
    opened, closed = text.find("("), text.rfind(")")
    fields = text[closed + 2 :].split(" ", 12)  # only as far as utime: a third of the CPU of them all
    if opened < 0 or closed < opened or len(fields) <= 12 or not fields[11].isdigit():
        return None
    return text[opened + 1 : closed], int(fields[11])


def parse_status(text: str) -> dict[str, int] | None:
    """{kind: bytes} from a `/proc/<pid>/status` (its RssAnon and VmSwap lines suffice); None for
    a kernel thread or a process that is exiting (no memory fields) or a cut file."""
    amounts: dict[str, int] = {}
    lines = "\n" + text
    for field, kind in _STATUS_FIELDS.items():
        at = lines.find(f"\n{field}:")
        end = lines.find("\n", at + 1)
        if at < 0 or end < 0:
            continue  # kernel threads have no memory fields; a line without its newline may be cut
        words = lines[at + len(field) + 2 : end].split()
        if words and words[0].isdigit():
            amounts[kind] = int(words[0]) << 10
    return amounts if "anon" in amounts else None


def parse_statm(text: str, page_size: int) -> int | None:
    """The anonymous memory (bytes) of a `/proc/<pid>/statm`: resident less shared (file and shmem)
    pages, the same count as status's RssAnon; None for a kernel thread or a process that is
    exiting (size 0: no memory of its own) or a cut line."""
    words = text.split(" ", 3)
    if not text.endswith("\n") or len(words) < 4 or not (words[0].isdigit() and words[1].isdigit() and words[2].isdigit()):
        return None
    return (int(words[1]) - int(words[2])) * page_size if words[0] != "0" else None


def parse_memory_stat(text: str) -> dict[str, int]:
    """{kind: bytes} from a cgroup's `memory.stat`, v2 or v1 (fields told apart by name)."""
    values = dict(_STAT_LINE.findall(text))
    amounts: dict[str, int] = {}
    for kind, names in _STAT_FIELDS.items():
        found = next((values[name] for name in names if name in values), None)
        if found is not None:
            amounts[kind] = int(found)
    return amounts


def cgroup_name(path: str, container_names: Mapping[str, str]) -> str:
    """What a person calls the cgroup at `path`: `container qdrant` (or its short id), a systemd unit, or the path."""
    match = _CONTAINER.search(path)
    if match:
        ident = match.group(1)
        return f"container {container_names.get(ident) or ident[:12]}"
    leaf = path.rsplit("/", 1)[-1]
    return leaf if leaf.endswith((".service", ".scope", ".slice")) else path


def process_holders(files: Mapping[str, str], page_size: int, swapped: bool) -> tuple[list[Holder], dict[str, int]]:
    """Every user process in `files` with its anonymous memory and swap, and {pid: user CPU ticks}
    of every process. Each is named by its `<pid>/stat`, its memory from `<pid>/status` where it
    was read, else from `<pid>/statm` (anon only: its swap is 0 when the guest has nothing
    `swapped` out, else unknown); `page_size` is statm's unit."""
    found, ticks = [], {}
    for key, text in files.items():
        pid, _, rest = key.partition("/")
        if rest != STAT or not pid.isdigit():
            continue
        stat = parse_stat(text)
        if stat is None:
            continue
        ticks[pid] = stat[1]
        status = files.get(f"{pid}/{STATUS}")
        if status is not None:
            amounts = parse_status(status)
        else:
            anon = parse_statm(files.get(f"{pid}/{STATM}", ""), page_size)
            amounts = None if anon is None else {"anon": anon} if swapped else {"anon": anon, "swap": 0}
        if amounts is not None:
            found.append(Holder({"pid": pid, "process": stat[0]}, amounts))
    return found, ticks


def cgroup_holders(
    files: Mapping[str, str], container_names: Callable[[list[str]], Mapping[str, str]]
) -> list[Holder]:
    """Every leaf cgroup in `files` with its anon, file and swap memory; `container_names` is
    asked once for the names of the containers among them, by id.

    Only leaves count: a parent's memory.stat includes its children's, so counting both would
    count the same page twice; the leaves add up to what is charged below the root.
    """
    stats: dict[str, dict[str, int]] = {}
    swaps: dict[str, int] = {}
    for key, text in files.items():
        if not key.startswith(CGROUP_PREFIX):
            continue
        directory, _, leaf = key[len(CGROUP_PREFIX) :].rpartition("/")
        directory = "/" + "/".join(part for part in directory.split("/") if part not in ("", "."))
        if leaf == MEMORY_STAT:
            stats[directory] = parse_memory_stat(text)
        elif leaf == SWAP_CURRENT and text.strip().isdigit():
            swaps[directory] = int(text)
    parents = {path.rsplit("/", 1)[0] or "/" for path in stats}
    leaves = [path for path in stats if path not in parents and path != "/"]
    names = container_names([m.group(1) for m in map(_CONTAINER.search, leaves) if m])
    return [
        Holder({"cgroup": path, "name": cgroup_name(path, names)}, {**stats[path], **_swap(swaps, path)})
        for path in leaves
    ]


def _swap(swaps: Mapping[str, int], path: str) -> dict[str, int]:
    return {"swap": swaps[path]} if path in swaps else {}


def top_samples(
    holders: list[Holder], kinds: Iterable[str], top_n: int, rest: Mapping[str, str]
) -> list[tuple[dict[str, str], float]]:
    """(labels with `kind`, bytes) of the `top_n` largest holders of each kind (none holding 0),
    plus a `rest` series (labelled `rest`) with the sum of the others: there (possibly 0) for each
    kind at least one holder reports, so the series of a kind add up to what all holders hold."""
    out: list[tuple[dict[str, str], float]] = []
    for kind in kinds:
        having = [h for h in holders if kind in h.amounts]
        if not having:
            continue
        top = sorted((h for h in having if h.amounts[kind] > 0), key=lambda h: -h.amounts[kind])[:top_n]
        out += [({**h.labels, "kind": kind}, float(h.amounts[kind])) for h in top]
        rest_bytes = sum(h.amounts[kind] for h in having) - sum(h.amounts[kind] for h in top)
        out.append(({**rest, "kind": kind}, float(rest_bytes)))
    return out


#: Labels of the rest series of processes and of cgroups.
REST_PROCESS = {"pid": "", "process": REST}
REST_CGROUP = {"cgroup": "", "name": REST}
