import bz2
import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from kg2instruction.wikidata import BAD_ENTITY_LINE, TRUNCATED_DUMP, compact_entity, read_dump

SAMPLES = Path(__file__).resolve().parents[2] / "data_samples" / "wikidata"


def _dump(entities: list[dict]) -> bytes:
    return ("[\n" + ",\n".join(json.dumps(e, ensure_ascii=False) for e in entities) + "\n]\n").encode()


@pytest.fixture(scope="module")
def real_entities() -> list[dict]:
    return [json.loads((SAMPLES / name).read_text()) for name in ("Q42.json", "P279.json")]


def test_real_q42_compacts_to_labels_links_and_values(real_entities):
    q42 = compact_entity(real_entities[0])
    assert q42.label_zh == "道格拉斯·亚当斯" and q42.label_en == "Douglas Adams"
    assert "亚当斯" in q42.aliases_zh  # the zh alias 亞當斯 comes out Simplified
    assert q42.zhwiki_title == "道格拉斯·亚当斯"
    assert ("P19", "Q350") in q42.edges and ("P800", "Q25169") in q42.edges
    assert ("P569", "time", "+1952-03-11T00:00:00Z", "11") in q42.values
    p279 = compact_entity(real_entities[1])
    assert p279.kind == "property" and p279.label_en == "subclass of"


@pytest.mark.parametrize("compress", [None, "gz", "bz2"])
def test_dump_framing_in_every_compression(tmp_path, real_entities, compress):
    data = _dump(real_entities)
    suffix = {None: "", "gz": ".gz", "bz2": ".bz2"}[compress]
    path = tmp_path / f"dump.json{suffix}"
    path.write_bytes({None: data, "gz": gzip.compress(data), "bz2": bz2.compress(data)}[compress])
    counters = Counter()
    assert [e.id for e in read_dump(path, counters)] == ["Q42", "P279"]
    assert counters == Counter(entities=2)


def test_cut_dump_keeps_every_complete_entity(tmp_path, real_entities):
    entities = [dict(real_entities[0], id=f"Q{i}") for i in range(1, 6)]
    data = _dump(entities)
    cut = data[: data.index(b'"id": "Q4"') + 40]  # the download stops inside Q4's line
    plain = tmp_path / "cut.json"
    plain.write_bytes(cut)
    counters = Counter()
    assert [e.id for e in read_dump(plain, counters)] == ["Q1", "Q2", "Q3"]
    assert counters[BAD_ENTITY_LINE] == 1
    compressed = tmp_path / "cut.json.bz2"
    full = bz2.compress(data)
    compressed.write_bytes(full[: len(full) * 2 // 3])
    counters = Counter()
    ids = [e.id for e in read_dump(compressed, counters)]
    assert counters[TRUNCATED_DUMP] == 1 and ids == [f"Q{i}" for i in range(1, len(ids) + 1)]


def test_parallel_reading_gives_the_same_entities_in_order(tmp_path, real_entities):
    entities = [dict(real_entities[0], id=f"Q{i}") for i in range(1, 40)]
    path = tmp_path / "dump.json.gz"
    data = _dump(entities)
    path.write_bytes(gzip.compress(data[: len(data) - 200]))  # cut inside the last entity
    serial, parallel = Counter(), Counter()
    one = [e.id for e in read_dump(path, serial)]
    two = [e.id for e in read_dump(path, parallel, workers=2, chunk_lines=3)]
    assert one == two == [f"Q{i}" for i in range(1, 39)]
    assert serial == parallel and serial[BAD_ENTITY_LINE] == 1


@pytest.mark.parametrize("kind", ["multistream-bz2", "plain", "cut-multistream-bz2"])
def test_byte_range_reading_matches_one_process(tmp_path, real_entities, monkeypatch, kind):
    """pbzip2/lbzip2-style dumps (one bz2 stream per block) and plain dumps are read by workers in byte
    ranges; borders fall inside lines, and the result is the serial one, entity for entity."""
    import kg2instruction.wikidata as wikidata

    monkeypatch.setattr(wikidata, "RANGE_BYTES", 3_000)  # many ranges, most borders inside an entity line
    entities = [dict(real_entities[0], id=f"Q{i}") for i in range(1, 60)]
    data = _dump(entities)
    if kind == "plain":
        path = tmp_path / "dump.json"
        path.write_bytes(data)
    else:
        streams = b"".join(bz2.compress(data[i:i + 50_000]) for i in range(0, len(data), 50_000))
        path = tmp_path / "dump.json.bz2"
        path.write_bytes(streams[: len(streams) * 2 // 3] if kind.startswith("cut") else streams)
    ranges = wikidata.split_ranges(path)
    assert ranges is not None and len(ranges) > 3
    serial, parallel = Counter(), Counter()
    one = [e.id for e in read_dump(path, serial)]
    two = [e.id for e in read_dump(path, parallel, workers=2)]
    assert one == two and serial == parallel
    assert (serial[TRUNCATED_DUMP] == 1) == kind.startswith("cut")
    if not kind.startswith("cut"):
        assert one == [f"Q{i}" for i in range(1, 60)]


def test_single_stream_bz2_is_not_split(tmp_path, real_entities):
    path = tmp_path / "dump.json.bz2"
    path.write_bytes(bz2.compress(_dump(real_entities)))
    from kg2instruction.wikidata import split_ranges

    assert split_ranges(path) is None  # read by one decompressing process, parsed by the workers
