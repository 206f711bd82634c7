"""The /metrics page, rendered by prometheus-client one part at a time and kept between scrapes.

Rendering a whole page at every new snapshot costs about 40 ms with 50 probed paths (3 000
series), and with 50 paths a new snapshot comes every second or so: a probe or a collector
replaced its own samples, nothing else. So each part of the page (`StoreCollector.parts()`:
one source's samples, one collector's health, the alerts) is rendered by the library's own
encoder on its own and its lines kept while its source is the same object; a page puts each
family's lines together, in the order of the parts, under the HELP and TYPE lines the encoder
writes for that family: the bytes `generate_latest` would write for the whole collector.
Between two snapshots a scrape is served the bytes of the last one.
"""

from __future__ import annotations

import gzip
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterator

from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from wslwatch.exporters.prometheus import Part, StoreCollector

__all__ = ["Page"]

#: zlib's default: a quarter of the CPU of the library's level 9 for a page 3 % larger (50 paths)
GZIP_LEVEL = 6
#: encodings (content types) whose parts are kept; Prometheus asks for one, a person for another
KEPT_ENCODINGS = 4

Encoder = Callable[[Collector], bytes]


class _Families(Collector):
    """What an encoder reads: these families."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


@dataclass
class _Rendered:
    """A page, and the sources of its parts."""

    sources: list[object]
    page: bytes
    gzipped: bytes | None = None

    def made_from(self, sources: list[object]) -> bool:
        return len(sources) == len(self.sources) and all(a is b for a, b in zip(sources, self.sources))


@dataclass
class _Encoding:
    """One encoding's kept lines: each family's HELP and TYPE, each part's samples."""

    encode: Encoder
    trailer: bytes  # what the encoder writes after the last family ("# EOF" in OpenMetrics)
    heads: dict[str, bytes] = field(default_factory=dict)
    #: id(source) -> (source, its lines per family); holding the source keeps its id from being reused
    parts: dict[int, tuple[object, list[tuple[str, bytes]]]] = field(default_factory=dict)
    last: _Rendered | None = None

    def lines(self, part: Part, kept: dict[int, tuple[object, list[tuple[str, bytes]]]]) -> list[tuple[str, bytes]]:
        """`part`'s sample lines per family, from those kept if its source is the same object."""
        hit = self.parts.get(id(part.source))
        if hit is not None:
            kept[id(part.source)] = hit
            return hit[1]
        rendered = [(family.name, self._samples(family)) for family in part.families()]
        if part.source is not None:
            kept[id(part.source)] = (part.source, rendered)
        return rendered

    def _samples(self, family: Metric) -> bytes:
        whole = self.encode(_Families([family])).removesuffix(self.trailer)
        head = self.heads.get(family.name)
        if head is None:
            empty = Metric(family.name, family.documentation, family.type, family.unit)
            head = self.heads[family.name] = self.encode(_Families([empty])).removesuffix(self.trailer)
        if not whole.startswith(head):
            raise RuntimeError(f"prometheus-client wrote {family.name} without its own header first; cannot keep its lines")
        return whole[len(head) :]


class Page:
    """The page of `collector` for a request's Accept header, rendered as little as it can be."""

    def __init__(self, collector: StoreCollector) -> None:
        self._collector = collector
        self._encodings: dict[str, _Encoding] = {}
        self._lock = threading.Lock()

    def render(self, accept: str | None, gzipped: bool) -> tuple[bytes, str]:
        """The page's bytes (gzipped if asked) and their content type."""
        encode, content_type = choose_encoder(accept or "")
        with self._lock:
            encoding = self._encoding(content_type, encode)
            parts = self._collector.parts()
            sources = [part.source for part in parts]
            rendered = encoding.last
            if rendered is None or not rendered.made_from(sources):
                rendered = encoding.last = _Rendered(sources, self._assemble(encoding, parts))
            if not gzipped:
                return rendered.page, content_type
            if rendered.gzipped is None:
                rendered.gzipped = gzip.compress(rendered.page, compresslevel=GZIP_LEVEL)
            return rendered.gzipped, content_type

    def _encoding(self, content_type: str, encode: Encoder) -> _Encoding:
        encoding = self._encodings.pop(content_type, None)
        if encoding is None:
            encoding = _Encoding(encode, encode(_Families([])))
            if len(self._encodings) >= KEPT_ENCODINGS:
                del self._encodings[next(iter(self._encodings))]  # the least recently asked for
        self._encodings[content_type] = encoding
        return encoding

    @staticmethod
    def _assemble(encoding: _Encoding, parts: list[Part]) -> bytes:
        kept: dict[int, tuple[object, list[tuple[str, bytes]]]] = {}
        families: dict[str, list[bytes]] = {}
        for part in parts:
            for name, samples in encoding.lines(part, kept):
                families.setdefault(name, []).append(samples)
        encoding.parts = kept  # what no part uses any more is let go
        chunks = [chunk for name, samples in families.items() for chunk in (encoding.heads[name], *samples)]
        return b"".join(chunks) + encoding.trailer
