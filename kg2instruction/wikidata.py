"""Stream a Wikidata JSON dump (``latest-all.json[.gz|.bz2]``) as compact entities, in flat memory.

The dump is one JSON array written one entity per line: ``[`` first, every entity line ending in
``,``, ``]`` last. We parse line by line and keep only what KG2Instruction needs: zh/en labels and
aliases (every zh variant normalised to Simplified with OpenCC), the zhwiki and enwiki titles, entity-valued
statements, and time/quantity values. A dump cut mid-line (a partial download) yields every complete
entity, then logs a warning; a damaged line is counted and skipped. Qualifiers and references are ignored.

In parallel, a plain ``.json`` dump or a multi-stream ``.bz2`` (what pbzip2/lbzip2 write: one bz2 stream
per block) is cut into byte ranges at stream starts (resp. anywhere), and each worker decompresses and
parses its own range; the main process only stitches the line cut at each range border. Other files
(gzip, a single-stream bz2) are decompressed by the main process and parsed by the workers.
"""

from __future__ import annotations

import bz2
import dataclasses
import functools
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from corpus.runner import ordered_pool_map
from corpus.shards import TRUNCATED_STREAM, Unreadable, iter_json_lines
from corpus.text import opencc_converter

logger = logging.getLogger(__name__)

BAD_ENTITY_LINE = "bad_entity_line"
TRUNCATED_DUMP = "truncated_dump"

# zh label variants in order of preference; Traditional ones are converted to Simplified.
ZH_VARIANTS = ("zh-cn", "zh-hans", "zh", "zh-sg", "zh-my", "zh-hant", "zh-tw", "zh-hk", "zh-mo")
EN_VARIANTS = ("en", "en-gb", "en-ca")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Entity:
    """The parts of a Wikidata item or property that the KB stores."""

    id: str
    kind: str  # "item" or "property"
    label_zh: str | None
    label_en: str | None
    aliases_zh: tuple[str, ...]
    aliases_en: tuple[str, ...]
    zhwiki_title: str | None
    enwiki_title: str | None
    edges: tuple[tuple[str, str], ...]  # (property, target QID) for entity-valued statements
    values: tuple[tuple[str, str, str, str], ...]  # (property, "time"|"quantity", value, unit or precision)


def _first(mapping: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = mapping.get(key)
        if value and value.get("value"):
            return value["value"]
    return None


def _zh(text: str | None) -> str | None:
    return opencc_converter("t2s")(text) if text else None


def _unique(items: list[str], exclude: str | None) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in items:
        if item and item != exclude:
            seen.setdefault(item, None)
    return tuple(seen)


def compact_entity(raw: dict[str, Any]) -> Entity:
    """Reduce one dump entity to an :class:`Entity` (preferred statements first, deprecated ones dropped)."""
    labels = raw.get("labels") or {}
    aliases = raw.get("aliases") or {}
    label_zh = _zh(_first(labels, ZH_VARIANTS))
    label_en = _first(labels, EN_VARIANTS)
    zh_aliases = [_zh(a["value"]) for v in ZH_VARIANTS for a in aliases.get(v, [])]
    zh_aliases += [_zh(labels[v]["value"]) for v in ZH_VARIANTS if v in labels]  # other variants' labels
    en_aliases = [a["value"] for v in EN_VARIANTS for a in aliases.get(v, [])]
    edges: list[tuple[str, str]] = []
    values: list[tuple[str, str, str, str]] = []
    for prop, statements in (raw.get("claims") or {}).items():
        ranked = sorted(statements, key=lambda s: s.get("rank") != "preferred")
        for statement in ranked:
            if statement.get("rank") == "deprecated":
                continue
            snak = statement.get("mainsnak") or {}
            if snak.get("snaktype") != "value":
                continue
            datavalue = snak.get("datavalue") or {}
            value = datavalue.get("value")
            kind = datavalue.get("type")
            if kind == "wikibase-entityid" and isinstance(value, dict) and value.get("id"):
                edges.append((prop, value["id"]))
            elif kind == "time" and isinstance(value, dict):
                values.append((prop, "time", value["time"], str(value.get("precision", 11))))
            elif kind == "quantity" and isinstance(value, dict):
                unit = value.get("unit", "1").rsplit("/", 1)[-1]
                values.append((prop, "quantity", value["amount"], unit))
    sitelinks = raw.get("sitelinks") or {}
    zhwiki, enwiki = sitelinks.get("zhwiki") or {}, sitelinks.get("enwiki") or {}
    return Entity(
        id=raw["id"],
        kind=raw.get("type", "item"),
        label_zh=label_zh,
        label_en=label_en,
        aliases_zh=_unique(zh_aliases, label_zh),
        aliases_en=_unique(en_aliases, label_en),
        zhwiki_title=_zh(zhwiki.get("title")),
        enwiki_title=enwiki.get("title"),
        edges=tuple(dict.fromkeys(edges)),
        values=tuple(dict.fromkeys(values)),
    )


def _parse_line(line: bytes) -> Entity | None:
    body = line.strip().rstrip(b",")
    if body in (b"[", b"]", b""):
        return None
    return compact_entity(orjson.loads(body))


def _parse_chunk(lines: list[bytes], transform: Callable[[Entity], Any] | None = None) -> list[Any]:
    """Entities of a chunk of dump lines, in order (or ``transform(entity)`` of each, computed in the
    worker so that only its result is sent back); a bad line becomes the string ``BAD_ENTITY_LINE``."""
    out: list[Any] = []
    for line in lines:
        try:
            entity = _parse_line(line)
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            out.append(BAD_ENTITY_LINE)
            continue
        if entity is not None:
            out.append(entity if transform is None else transform(entity))
    return out


def _chunks(path: Path, counters: Counter, chunk_lines: int) -> Iterator[list[bytes]]:
    chunk: list[bytes] = []
    for lineno, line in iter_json_lines(path):
        if isinstance(line, Unreadable):
            if line.reason != TRUNCATED_STREAM:  # an oversize line: counted, the dump goes on
                counters[line.reason] += 1
                continue
            counters[TRUNCATED_DUMP] += 1
            logger.warning("%s: compressed stream ends early (line %d); kept every complete entity", path, lineno)
            break
        chunk.append(line)
        if len(chunk) >= chunk_lines:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


BZ2_STREAM_START = re.compile(rb"BZh[1-9]1AY&SY")  # stream header + the first block's magic (pi)
RANGE_BYTES = 1 << 20  # compressed bytes per worker task: ~15 MB of JSON at the real ratio, ~1,500 entities
SCAN_BYTES = 64 << 20


def split_ranges(path: Path, target: int | None = None) -> list[tuple[int, int]] | None:
    """Byte ranges of ``path`` that workers can read on their own, or None when the file cannot be split.

    A ``.json`` file splits anywhere (lines are stitched at the borders); a ``.bz2`` file only at stream
    starts, so a single-stream file (what Python's bz2 module writes) gives None. A header-like pattern
    inside compressed data (odds about 2^-72 per byte) is caught when its range fails to decompress.
    """
    size = path.stat().st_size
    target = target or RANGE_BYTES
    if path.name.endswith(".json"):
        cuts = list(range(0, size, target))
    elif path.name.endswith(".bz2"):
        cuts = []
        with open(path, "rb") as f:
            offset, overlap = 0, b""
            while block := f.read(SCAN_BYTES):
                data = overlap + block
                base = offset - len(overlap)
                for match in BZ2_STREAM_START.finditer(data):
                    at = base + match.start()
                    if not cuts or (at >= cuts[-1] + target and at > cuts[-1]):
                        cuts.append(at)
                overlap, offset = data[-9:], offset + len(block)
        if len(cuts) < 2:
            return None
    else:
        return None
    return [(start, end) for start, end in zip(cuts, [*cuts[1:], size], strict=True)]


def _range_bytes(path: Path, start: int, end: int, last: bool) -> Iterator[bytes]:
    """The decompressed bytes of one range. A range must end where a bz2 stream ends; the last range
    of a cut download ends inside one, which raises EOFError after every complete byte was yielded."""
    with open(path, "rb") as f:
        f.seek(start)
        remaining = end - start
        if not path.name.endswith(".bz2"):
            while remaining > 0 and (piece := f.read(min(1 << 20, remaining))):
                remaining -= len(piece)
                yield piece
            return
        decompressor, mid_stream = bz2.BZ2Decompressor(), False
        while remaining > 0 and (piece := f.read(min(1 << 20, remaining))):
            remaining -= len(piece)
            while piece:
                yield decompressor.decompress(piece)
                mid_stream, piece = True, b""
                if decompressor.eof:  # the next stream of the range starts in what is left over
                    piece, decompressor, mid_stream = decompressor.unused_data, bz2.BZ2Decompressor(), False
    if mid_stream and last:
        raise EOFError("compressed stream ends early")
    if mid_stream:
        raise ValueError(f"{path}: bytes {start}-{end} end inside a bz2 stream; read the dump with one worker")


def _parse_range(task: tuple[Path, int, int, bool], transform: Callable[[Entity], Any] | None = None
                 ) -> tuple[bytes, list[Any], bytes, bool]:
    """(bytes before the range's first newline, parsed complete lines, bytes after its last, cut?)."""
    path, start, end, last = task
    head: bytes | None = None
    pending = b""
    items: list[Any] = []
    cut = False
    try:
        for data in _range_bytes(path, start, end, last):
            pending += data
            if b"\n" not in data:
                continue
            lines = pending.split(b"\n")
            pending = lines.pop()
            if head is None:
                head = lines.pop(0)
            items += _parse_chunk(lines, transform)
    except (OSError, EOFError) as err:
        if not last:
            raise ValueError(f"{path}: bytes {start}-{end} could not be decompressed ({err})") from err
        cut = True
    if head is None:  # no newline in the whole range: it is all one line's middle
        return pending, [], b"", cut
    return head, items, pending, cut


def read_dump(path: Path, counters: Counter | None = None, *, workers: int = 1, chunk_lines: int = 500,
              transform: Callable[[Entity], Any] | None = None) -> Iterator[Any]:
    """Stream the entities of a dump file in order; bad or cut lines are counted, never raised.

    With ``workers > 1`` the main process only decompresses and splits lines into chunks; JSON parsing
    and compaction (most of the cost) run in a process pool, at most ``2 * workers`` chunks in flight,
    so memory stays bounded and the order is the file's. ``transform`` (a picklable function of an
    :class:`Entity`) runs in the workers too; its results are yielded instead of the entities.
    """
    counters = counters if counters is not None else Counter()
    ranges = split_ranges(path) if workers > 1 else None
    if ranges is not None:
        yield from _read_ranges(path, ranges, counters, workers, transform)
        return
    parse = _parse_chunk if transform is None else functools.partial(_parse_chunk, transform=transform)
    results: Iterator[list[Any]]
    if workers <= 1:
        results = map(parse, _chunks(path, counters, chunk_lines))
    else:
        results = ordered_pool_map(parse, _chunks(path, counters, chunk_lines), workers=workers)
    for chunk in results:
        yield from _counted_entities(chunk, counters)
    if counters[BAD_ENTITY_LINE] == 1:
        # A single unreadable line is what a cut (uncompressed) download looks like at the very end.
        logger.warning("%s: one line was not a complete entity (cut dump?); it was skipped", path)


def _counted_entities(items: list[Any], counters: Counter) -> Iterator[Any]:
    """The entities of a parsed chunk; the reasons (strings) standing for unreadable lines are counted."""
    for item in items:
        if isinstance(item, str):
            counters[item] += 1
            continue
        counters["entities"] += 1
        yield item


def _read_ranges(path: Path, ranges: list[tuple[int, int]], counters: Counter, workers: int,
                 transform: Callable[[Entity], Any] | None) -> Iterator[Any]:
    """:func:`read_dump` over byte ranges read by the workers; the line cut at each border is parsed here."""
    parse = _parse_range if transform is None else functools.partial(_parse_range, transform=transform)
    tasks = [(path, start, end, i == len(ranges) - 1) for i, (start, end) in enumerate(ranges)]
    carry = b""
    for head, items, tail, cut in ordered_pool_map(parse, tasks, workers=workers):
        inside_one_line = not items and not tail  # no newline in the range: all of it continues ``carry``
        if inside_one_line and not cut:
            carry += head
            continue
        if not inside_one_line:
            yield from _counted_entities(_parse_chunk([carry + head], transform), counters)
            yield from _counted_entities(items, counters)
        carry = tail
        if cut:  # the download stops inside the last line: it is incomplete, not a bad entity
            counters[TRUNCATED_DUMP] += 1
            logger.warning("%s: compressed stream ends early; kept every complete entity", path)
            carry = b""
    if carry.strip():
        yield from _counted_entities(_parse_chunk([carry], transform), counters)
    if counters[BAD_ENTITY_LINE] == 1:
        logger.warning("%s: one line was not a complete entity (cut dump?); it was skipped", path)
