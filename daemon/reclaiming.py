"""The reclaim controller wired into the daemon: a reading per snapshot, the guest of this
platform, the VM's working set from the vmmem collector, notifications, counters in the Store."""

from __future__ import annotations

import os
import sys
import time
from typing import Callable

from wslwatch.collectors._wsl_exe import WslExe
from wslwatch.collectors._wslconfig_hosts import _inside_wsl
from wslwatch.collectors.vmmem import VmmemCollector
from wslwatch.config.schema import Config
from wslwatch.core import Alert
from wslwatch.daemon.notify import Dispatcher
from wslwatch.daemon.rules._wsl import cpu_share, guest_memory, vm_running
from wslwatch.daemon.view import View
from wslwatch.reclaim.controller import Controller
from wslwatch.reclaim.guest import Guest, LocalGuest, running_wsl_guest
from wslwatch.reclaim.policy import Reading
from wslwatch.store import Snapshot, Store

__all__ = ["Reclaiming", "reading", "this_guest"]

BUSY_WINDOW_S = 60.0  # the guest's CPU is judged over the last minute


def reading(view: View, probing: bool = False) -> Reading | None:
    """The controller's view of one snapshot; None without host memory readings."""
    available = view.value("wslwatch_host_memory_available_bytes")
    total = view.value("wslwatch_host_memory_total_bytes")
    if available is None or total is None:
        return None
    guest = guest_memory(view)
    share = cpu_share(view, BUSY_WINDOW_S)
    return Reading(
        view.now,
        available,
        total,
        cache=(guest.reclaimable or 0.0) if guest is not None else 0.0,
        busy=share.busy if share is not None else None,
        distro_running=guest is not None and vm_running(view),
        probing=probing,
    )


def this_guest(config: Config) -> Callable[[], Guest | str]:
    """How this platform reaches the guest as root, or why it cannot (checked at each action)."""
    if sys.platform == "win32":
        wsl = WslExe(timeout_s=120.0)
        return lambda: running_wsl_guest(wsl, config.collectors.wsl_guest.distro)
    if not _inside_wsl(os.environ, "/proc"):
        return lambda: "this machine is neither Windows nor a WSL guest"
    if os.geteuid() != 0:
        return lambda: "inside WSL the controller needs root; run the daemon as root (docs/reclaim.md)"
    return LocalGuest


class Reclaiming:
    """Feeds each snapshot to the controller; its counters go back into the Store as if from a
    collector named `reclaim` (so `collector_up{collector="reclaim"}` exists once it is on)."""

    def __init__(self, config: Config, store: Store, notifications: Dispatcher, probing: Callable[[], bool]) -> None:
        self.store = store
        self._probing = probing
        vmmem = VmmemCollector(config.collectors.vmmem.process_names, 0.0)

        def working_set() -> float | None:
            """The VM's working set, seen from Windows; inside WSL the VM process is not visible."""
            if sys.platform != "win32":
                return None
            found = [s.value for s in vmmem.collect(time.time()) if s.name == "wslwatch_vmmem_working_set_bytes"]
            return found[0] if found else None

        def notify(message: str) -> None:
            notifications.announce(Alert("reclaim", "info", "firing", {}, message, time.time()))
            store.record("reclaim", self.controller.samples(time.time()), time.time(), 0.0)

        guest = this_guest(config)
        #: whether this platform has a WSL guest to act on at all (Windows, or WSL as root)
        self.reachable = sys.platform == "win32" or not isinstance(guest(), str)
        self.controller = Controller(config.reclaim, guest, working_set, notify)
        if self.controller.enabled:  # its counters (and health) from the start; else from its first action
            store.record("reclaim", self.controller.samples(time.time()), time.time(), 0.0)
        store.subscribe(self.on_snapshot)

    def on_snapshot(self, snapshot: Snapshot) -> None:
        if not self.controller.enabled:
            return
        found = reading(View(snapshot, self.store.history), self._probing())
        if found is not None:
            self.controller.consider(found)
