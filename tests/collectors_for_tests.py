"""Small collectors for testing the runner and the daemon: they behave, fail or hang on cue."""

from __future__ import annotations

import threading

from wslwatch.core import CollectorError, Sample


class Steady:
    """Returns one sample per call, counting calls."""

    def __init__(self, name: str = "steady", interval_s: float = 0.2) -> None:
        self.name = name
        self.interval_s = interval_s
        self.calls = 0

    def collect(self, now: float) -> list[Sample]:
        self.calls += 1
        return [Sample("wslwatch_host_memory_total_bytes", {}, float(self.calls), now)]

    def close(self) -> None:
        """Nothing to release."""


class Hanging:
    """Blocks in `collect()` until `release` is set; raises `failure` if one is given."""

    def __init__(self, name: str = "hanging", interval_s: float = 0.2, failure: Exception | None = None) -> None:
        self.name = name
        self.interval_s = interval_s
        self.release = threading.Event()
        self.failure = failure
        self.entered = 0

    def collect(self, now: float) -> list[Sample]:
        self.entered += 1
        self.release.wait()
        if self.failure is not None:
            raise self.failure
        return [Sample("wslwatch_gpu_power_watts", {"gpu": "0", "uuid": "GPU-x"}, 50.0, now)]

    def close(self) -> None:
        self.release.set()


class Failing:
    """Raises the given exception every time."""

    def __init__(self, error: BaseException, name: str = "failing") -> None:
        self.name = name
        self.interval_s = 1.0
        self.error = error

    def collect(self, now: float) -> list[Sample]:
        raise self.error

    def close(self) -> None:
        """Nothing to release."""


__all__ = ["CollectorError", "Failing", "Hanging", "Steady"]
