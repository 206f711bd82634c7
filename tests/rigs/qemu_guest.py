"""A real Linux kernel with a cgroup v2 memory controller, booted in QEMU for one shell script.

This machine's kernel binds the memory controller to cgroup v1, so `memory.reclaim` (v2 only)
cannot be tried here. The rig boots Debian's own kernel image (the package `linux-image-6.12-amd64`
depends on, fetched with `apt-get download` and unpacked with `dpkg -x`; cached in pytest's cache
folder) under Debian's `qemu-system-x86`, KVM where `/dev/kvm` is usable and TCG otherwise, with
an initramfs of `busybox-static` and the modules the guest needs (`brd`, RAM-backed block
devices, and `fat`/`msdos`: a real disk filesystem at /data whose page cache the kernel can reclaim, and
a swap device, so that "anonymous memory was not pushed to swap" means something). The guest runs the script as root
and reports over the serial console; the rig returns what the script printed.
"""

from __future__ import annotations

import contextlib
import lzma
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator, Sequence

import pytest

from rigs import need
from wslwatch.reclaim.guest import Done

__all__ = ["KERNEL_PACKAGE", "OLD_KERNEL_PACKAGE", "QemuGuest", "Shell", "qemu_guest", "qemu_guest_6_1", "shell"]

KERNEL_PACKAGE = "linux-image-6.12-amd64"  # bookworm's 6.12: memory.reclaim takes swappiness= (Linux ≥ 6.8)
OLD_KERNEL_PACKAGE = "linux-image-amd64"  # bookworm's 6.1: memory.reclaim refuses swappiness=
BUSYBOX = Path("/bin/busybox")
MODULES = [("brd", "drivers/block/brd"), ("nls_cp437", "fs/nls/nls_cp437"), ("fat", "fs/fat/fat"), ("msdos", "fs/fat/msdos")]  # in load order
KVM_BOOT_S = 30.0
_KVM_FAILED, _KVM_MSR = "KVM internal error", "failed to set MSR"  # what a nested KVM that cannot run it says

_INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t cgroup2 none /sys/fs/cgroup
insmod /brd.ko rd_nr=2 rd_size=131072
insmod /nls_cp437.ko
insmod /fat.ko
insmod /msdos.ko
mkswap /dev/ram1 >/dev/null && swapon /dev/ram1
mkdir /data && mkdosfs /dev/ram0 >/dev/null && mount -t msdos /dev/ram0 /data
sh /script.sh 2>&1
poweroff -f
"""


def _newc(entries: list[tuple[str, int, bytes]]) -> bytes:
    """An initramfs: a cpio archive in the kernel's "newc" format (name, mode, data per entry)."""
    out = bytearray()
    for ino, (name, mode, data) in enumerate([*entries, ("TRAILER!!!", 0, b"")], start=1):
        encoded = name.encode() + b"\0"
        fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0)
        out += b"070701" + b"".join(b"%08X" % f for f in fields) + encoded
        out += b"\0" * (-len(out) % 4) + data
        out += b"\0" * (-len(out) % 4)
    return bytes(out)


def _module(kernel_root: Path, path: str) -> bytes:
    """One module of the kernel package, uncompressed (busybox's insmod takes plain .ko files)."""
    module = next((kernel_root / "lib" / "modules").glob(f"*/kernel/{path}.ko*"))
    return lzma.decompress(module.read_bytes()) if module.suffix == ".xz" else module.read_bytes()


def _fetch_kernel(cache: Path, package: str) -> Path:
    """The unpacked Debian kernel package (cached); fetched through apt, never from elsewhere."""
    done = cache / "unpacked"
    if (done / "boot").is_dir():
        return done
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        depends = subprocess.run(["apt-cache", "depends", package], capture_output=True, text=True, check=True).stdout
        image = next(line.split()[-1] for line in depends.splitlines() if "Depends: linux-image-" in line)
        subprocess.run(["apt-get", "download", image], cwd=tmp, capture_output=True, check=True)
        deb = next(Path(tmp).glob("linux-image-*.deb"))
        unpacked = Path(tmp) / "unpacked"
        subprocess.run(["dpkg", "-x", str(deb), str(unpacked)], check=True)
        kept = Path(tmp) / "kept"  # the image and the few modules the guest loads, not all 300 MB
        for wanted in ["boot/vmlinuz-*", *(f"lib/modules/*/kernel/{path}.ko*" for _, path in MODULES)]:
            for found in unpacked.glob(wanted):
                (kept / found.relative_to(unpacked)).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(found, kept / found.relative_to(unpacked))
        os.replace(kept, done)
    return done


class QemuGuest:
    """The kernel, its modules and how to boot it (KVM until a boot shows it cannot run here)."""

    kvm = os.access("/dev/kvm", os.R_OK | os.W_OK)  # for every guest of the session: one failed try is enough

    def __init__(self, kernel_root: Path) -> None:
        self.vmlinuz = next((kernel_root / "boot").glob("vmlinuz-*"))
        self._modules = [(f"{name}.ko", _module(kernel_root, path)) for name, path in MODULES]
        self.last_boot_s = 0.0

    def _initrd(self, script: str) -> bytes:
        return _newc(
            [
                ("bin", 0o40755, b""),
                ("bin/busybox", 0o100755, BUSYBOX.read_bytes()),
                *((d, 0o40755, b"") for d in ("dev", "proc", "sys", "tmp")),
                ("init", 0o100755, _INIT.encode()),
                ("script.sh", 0o100644, script.encode()),
                *((name, 0o100644, data) for name, data in self._modules),
            ]
        )

    def _argv(self, initrd: str) -> list[str]:
        accel = ["-accel", "kvm"] if self.kvm else ["-accel", "tcg"]
        return [
            "qemu-system-x86_64", *accel, "-m", "512", "-smp", "1", "-nographic", "-no-reboot",
            "-kernel", str(self.vmlinuz), "-initrd", initrd, "-append", "console=ttyS0 panic=-1 quiet loglevel=3 mitigations=off",
        ]  # fmt: skip


class Shell:
    """A root shell in a booted guest, driven over its serial console: the `Guest` that
    `wslwatch.reclaim.guest` runs its commands through (`run(argv)` -> returncode, stdout, stderr)."""

    def __init__(self, qemu: subprocess.Popen[str], timeout_s: float) -> None:
        self._qemu = qemu
        self.timeout_s = timeout_s

    def run(self, argv: Sequence[str]) -> Done:
        command = f"{shlex.join(argv)} >/tmp/o 2>/tmp/e; echo \"@@rc $?\"; sed 's/^/@@o /' /tmp/o; sed 's/^/@@e /' /tmp/e; echo @@end"
        assert self._qemu.stdin is not None and self._qemu.stdout is not None
        self._qemu.stdin.write(command + "\n")
        self._qemu.stdin.flush()
        rc, out, err = -1, [], []
        for line in self._qemu.stdout:
            line = line.rstrip("\r\n")
            line = line[line.find("@@") :] if "@@" in line else line  # after the shell's prompt, if any
            if line == "@@end":
                return Done(rc, "".join(f"{o}\n" for o in out), "".join(f"{e}\n" for e in err))
            if line.startswith("@@rc "):
                rc = int(line[5:])
            elif line.startswith(("@@o ", "@@e ")):
                (out if line[2] == "o" else err).append(line[4:])
        raise RuntimeError(f"the guest stopped while running {argv}")


def _start_shell(guest: QemuGuest, initrd: str, timeout_s: float) -> subprocess.Popen[str] | None:
    """A booted guest whose shell waits on the serial console; None when KVM did not run it
    (a nested KVM may fail loudly, or hang: a KVM boot takes seconds, so it gets `KVM_BOOT_S`)."""
    qemu = subprocess.Popen(guest._argv(initrd), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    watchdog = threading.Timer(min(timeout_s, KVM_BOOT_S) if guest.kvm else timeout_s, qemu.kill)
    watchdog.start()
    seen: list[str] = []
    try:
        assert qemu.stdout is not None
        for line in qemu.stdout:
            seen.append(line)
            if line.strip().endswith("@@ready"):
                return qemu
            if _KVM_FAILED in line or _KVM_MSR in line:
                break
    finally:
        watchdog.cancel()
    qemu.kill()
    qemu.wait()
    if guest.kvm:
        return None
    raise RuntimeError(f"the guest shell did not start:\n{''.join(seen)[-3000:]}")


@contextlib.contextmanager
def shell(guest: QemuGuest, timeout_s: float = 180.0) -> Iterator[Shell]:
    """Boot `guest` with a root shell on its serial console for the duration of the block."""
    with tempfile.NamedTemporaryFile(suffix=".cpio") as image:
        image.write(guest._initrd("stty -echo\necho @@ready\nsh -s\n"))
        image.flush()
        started = time.monotonic()
        qemu = _start_shell(guest, image.name, timeout_s)
        if qemu is None:  # KVM cannot run it here (nested KVM): TCG from now on
            QemuGuest.kvm = False
            qemu = _start_shell(guest, image.name, timeout_s)
        assert qemu is not None  # under TCG a failed boot raises
        watchdog = threading.Timer(timeout_s, qemu.kill)
        watchdog.start()
        try:
            guest.last_boot_s = time.monotonic() - started
            yield Shell(qemu, timeout_s)
        finally:
            watchdog.cancel()
            qemu.kill()
            qemu.wait()


def _guest(request: pytest.FixtureRequest, package: str) -> QemuGuest:
    need(shutil.which("qemu-system-x86_64") is not None, "qemu-system-x86_64 (Debian: qemu-system-x86)")
    need(BUSYBOX.is_file(), "a static busybox at /bin/busybox (Debian: busybox-static)")
    need(shutil.which("apt-get") is not None and shutil.which("dpkg") is not None, "apt-get and dpkg to fetch the Debian kernel")
    cache = request.config.cache.mkdir(f"qemu-guest-{package}")
    try:
        root = _fetch_kernel(cache, package)
    except (subprocess.CalledProcessError, StopIteration) as e:
        need(False, f"the Debian kernel package {package} could not be fetched through apt: {e}")
        raise
    return QemuGuest(root)


@pytest.fixture(scope="session")
def qemu_guest(request: pytest.FixtureRequest) -> QemuGuest:
    """Debian's 6.12 kernel (memory.reclaim takes swappiness=), fetched once and kept in pytest's cache."""
    return _guest(request, KERNEL_PACKAGE)


@pytest.fixture(scope="session")
def qemu_guest_6_1(request: pytest.FixtureRequest) -> QemuGuest:
    """Debian 12's own 6.1 kernel: memory.reclaim without swappiness= (as WSL's 6.6 kernels)."""
    return _guest(request, OLD_KERNEL_PACKAGE)
