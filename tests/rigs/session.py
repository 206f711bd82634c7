"""A recorded training session, as `wslwatch record` writes it (JSON Lines), for report tests and docs.

Two hours at 15 s: the VM starts at minute 3; a run trains from minute 10 to 80 on GPU 0
(24 GiB), reading its dataset into the guest page cache, with a bigger batch filling VRAM
from minute 40 to 50; the guest swaps hard around minute 57; at minute 80 the run dies, its
VRAM stays held and the VM keeps its working set although the guest freed its memory.
`ALERTS` lists the alerts that fire, recorded as the daemon's history records them
(`wslwatch_alert_firing{rule,severity,...} 1` while firing).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

__all__ = ["ALERTS", "START", "AlertWindow", "session_lines"]

GIB = 2**30
START = 1_795_000_000.0  # a fixed moment, so pictures are reproducible


@dataclass(frozen=True)
class AlertWindow:
    rule: str
    severity: str
    start_min: float
    end_min: float
    gpu: str = ""  # the GPU it is about, if any


# The alerts this story gives under the default rules, worked out by hand from the data below
# (noise included: every value near a line stays on one side of it). Readings every 15 s; an
# alert resolves `clear_for` (2 min) after the first reading where its condition fails.
ALERTS = (
    # GPU 0's ramp (0.6 + 21.9 GiB over minutes 11-13, +-0.3) is below the 90 % line (21.6 of 24
    # GiB) at 12.75 (<= 20.1 GiB) and above it from 13 (>= 22.2): pending 13, `for` 1 min.
    # It stays above the 85 % clear line until the run dies at 80 (18.2 GiB, 76 %): 80 + 2.
    AlertWindow("vram_high", "warning", 14, 82, gpu="0"),
    # the bigger batch (minutes 40-50): 23.3-23.9 GiB, over the 97 % line (23.28): pending 40,
    # `critical_for` 30 s; then 22.2-22.8 GiB stays over its clear line (the 90 % warning line)
    # until 80: 80 + 2
    AlertWindow("vram_high", "critical", 40.5, 82, gpu="0"),
    # swapping from 56 to 62 at 610 pages/s (+-5 %), 34-38 MiB per 15 s reading: the 60 s
    # window of the 56.25 reading holds two readings' worth (>= 64 MiB/min): pending 56.25,
    # `for` 2 min; the 62.5 window still holds one (>= 32 MiB/min, the clear line), the 62.75
    # window none: 62.75 + 2
    AlertWindow("guest_swap_thrash", "warning", 58.25, 64.75),
    # from 80 the VM keeps 28 GiB while the guest uses 15 GiB (1 program + 14 cache): a 13 GiB
    # gap (before: 1.2 GiB, under the 1.5 GiB line): pending 80, `for` 10 min, to the end
    AlertWindow("vm_not_releasing", "warning", 90, 120),
    # from 80 GPU 0 holds 18.2 GiB (17+ GiB above its idle 0.3-0.6 GiB) at 0 % utilization; the
    # 2 min flat window is first all 18.2 GiB at the 82 reading: pending 82, `for` 10 min
    AlertWindow("vram_held_idle", "warning", 92, 120, gpu="0"),
)


def session_lines(minutes: int = 120, step_s: float = 15.0, seed: int = 7) -> list[str]:
    """The session as record lines, oldest first."""
    rnd = random.Random(seed)
    lines = []
    swap_in = swap_out = 1000.0
    for i in range(int(minutes * 60 / step_s) + 1):
        t = START + i * step_s
        m = i * step_s / 60
        training = 10 <= m < 80
        ramp = min(1.0, max(0.0, (m - 10) / 15))
        samples = [
            _s("wslwatch_host_memory_total_bytes", 64 * GIB),
        ]
        vm_ws = 0.0
        if m >= 3:
            cache = 2 * GIB + (12 * GIB * min(1.0, max(0.0, (m - 10) / 40)) if m >= 10 else 0)
            app = (1.5 * GIB + 10.5 * GIB * ramp + rnd.uniform(-0.2, 0.2) * GIB) if training else 1.0 * GIB
            guest_total = 31 * GIB
            guest_free = guest_total - app - cache
            vm_ws = 4 * GIB if m < 10 else max(4 * GIB, min(28 * GIB, app + cache + 1.2 * GIB))
            if m >= 80:
                vm_ws = 28 * GIB
            if 56 <= m < 62:
                swap_in += 280 * step_s * rnd.uniform(0.95, 1.05)  # pages/s: about 140 MiB/min in all
                swap_out += 330 * step_s * rnd.uniform(0.95, 1.05)
            else:
                swap_in += rnd.choice((0, 0, 0, 2))
            samples += [
                _s("wslwatch_vmmem_up", 1),
                _s("wslwatch_vmmem_working_set_bytes", vm_ws),
                _s("wslwatch_guest_memory_total_bytes", guest_total),
                _s("wslwatch_guest_memory_free_bytes", guest_free),
                _s("wslwatch_guest_memory_cached_bytes", cache),
                _s("wslwatch_guest_memory_available_bytes", guest_free + cache),
                _s("wslwatch_guest_swap_in_pages_total", swap_in),
                _s("wslwatch_guest_swap_out_pages_total", swap_out),
            ]
        samples.append(_s("wslwatch_host_memory_available_bytes", 64 * GIB - 10 * GIB - vm_ws + rnd.uniform(-0.3, 0.3) * GIB))
        peak = 1.1 if 40 <= m < 50 else 0.0  # a bigger batch: VRAM near full
        vram0 = (0.6 + 21.9 * min(1.0, max(0.0, (m - 11) / 2)) + peak + rnd.uniform(-0.3, 0.3)) * GIB if training else (
            18.2 * GIB if m >= 80 else 0.6 * GIB
        )
        busy = rnd.uniform(0.85, 0.99) if training else 0.0
        for gpu, uuid, total, used, load in (("0", "GPU-5f1c", 24, vram0, busy), ("1", "GPU-9a0e", 12, 1.1 * GIB, 0.0)):
            samples += [
                _s("wslwatch_gpu_memory_total_bytes", total * GIB, gpu=gpu, uuid=uuid),
                _s("wslwatch_gpu_memory_used_bytes", used, gpu=gpu, uuid=uuid),
                _s("wslwatch_gpu_memory_free_bytes", total * GIB - used, gpu=gpu, uuid=uuid),
                _s("wslwatch_gpu_utilization_ratio", load, gpu=gpu, uuid=uuid),
            ]
        for alert in ALERTS:
            if alert.start_min <= m < alert.end_min:
                about = {"gpu": alert.gpu, "uuid": "GPU-5f1c"} if alert.gpu else {}
                samples.append(_s("wslwatch_alert_firing", 1, rule=alert.rule, severity=alert.severity, **about))
        lines.append(json.dumps({"t": t, "samples": samples}))
    return lines


def _s(name: str, value: float, **labels: str) -> dict[str, object]:
    return {"name": name, "labels": labels, "value": value}


if __name__ == "__main__":  # `python tests/rigs/session.py > session.jsonl` (the docs picture's input)
    print("\n".join(session_lines()))
