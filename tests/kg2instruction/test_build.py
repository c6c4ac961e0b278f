"""End to end on the shipped zh samples: the triples were checked by hand against the Wikidata entities
(Q42 is the real entity; the others carry real, well-known statements; see make_sample.py)."""

import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest

from kg2instruction.build import run_build, split_of
from kg2instruction.schema import load_schema
from kg2instruction.stage import PAGE_NOT_IN_KB, PARAGRAPH_NO_TRIPLES

REPO = Path(__file__).resolve().parents[2]
WIKIDATA = REPO / "data_samples" / "wikidata" / "wikidata-sample.json.bz2"
ZHWIKI = REPO / "data_samples" / "wiki" / "zhwiki-sample.xml.bz2"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("kg")
    reports, summary = run_build(wikidata=[WIKIDATA], wiki=[ZHWIKI], output=out, workers=1, progress=False)
    records = [orjson.loads(line) for split in ("train", "valid", "test")
               for line in (out / "instructie" / f"{split}_zh.json").read_bytes().splitlines()]
    return out, reports, summary, records


def _triples(records, text_start):
    (record,) = [r for r in records if r["text"].startswith(text_start)]
    return {(t["head"], t["relation"], t["tail"]) for t in record["relation"]}, record


def test_expected_triples_on_the_douglas_adams_page(built):
    _, _, _, records = built
    triples, record = _triples(records, "道格拉斯·诺尔·亚当斯")
    assert record["cate"] == "人物"
    assert triples == {
        ("亚当斯", "作品", "银河便车指南"),  # P800 (and ^P50 of the work: counted as a duplicate)
        ("亚当斯", "出生日期", "1952年3月11日"),  # P569, rendered from the time value
        ("亚当斯", "死亡日期", "2001年5月11日"),  # P570
        ("亚当斯", "国籍", "英国"),  # P27 Q145
        ("亚当斯", "职业", "编剧"),  # P106 Q28389; 作家 (Q36180) is linked but not among his P106 values
    }
    # The 1978 paragraph says "他为BBC……写成广播剧《银河便车指南》" but never names him: no head mention.
    assert not [r for r in records if r["text"].startswith("1978年")]
    triples, _ = _triples(records, "亚当斯生于英格兰剑桥")
    assert triples == {("亚当斯", "出生地点", "剑桥")}  # P19 Q350


def test_expected_triples_on_other_topics(built):
    _, _, _, records = built
    triples, record = _triples(records, "剑桥大学（University")
    assert record["cate"] == "组织"
    assert triples == {("剑桥大学", "位于", "剑桥"), ("剑桥大学", "成立时间", "1209年")}
    triples, record = _triples(records, "大不列颠及北爱尔兰联合王国")
    assert record["cate"] == "地理地区"
    assert ("大不列颠及北爱尔兰联合王国", "别名", "英国") in triples  # two names of Q145 merged
    assert ("大不列颠及北爱尔兰联合王国", "行政中心", "伦敦") in triples  # P36
    assert ("英格兰", "位于", "大不列颠及北爱尔兰联合王国") in triples
    # The sentence lists England and London as parts of the UK; it does not say London is in England.
    assert ("伦敦", "位于", "英格兰") not in triples
    triples, record = _triples(records, "《银河便车指南》（The")
    assert record["cate"] == "作品"
    # "是英国作家亚当斯创作的": 英国 is the author's country (Q42 P27), not the book's country of origin.
    assert triples == {("银河便车指南", "作者", "亚当斯")}


def test_no_triple_violates_the_type_limits(built):
    _, _, _, records = built
    schema = load_schema()
    for record in records:
        for t in record["relation"]:
            rule = schema.relations[record["cate"]][t["relation"]]
            assert t["head_type"] in rule.head_types and t["tail_type"] in rule.tail_types, t
            assert t["head"] in record["text"] and t["tail"] in record["text"]


def test_every_drop_is_counted_by_reason(built):
    out, reports, summary, records = built
    stage = reports[-1]
    assert stage.reasons == Counter({PARAGRAPH_NO_TRIPLES: 15, PAGE_NOT_IN_KB: 3})
    assert summary["dropped"] == dict(stage.reasons)
    for key in ("mention_unresolved_link", "pair_no_statement", "triple_not_in_schema", "triple_type_limit",
                "triple_duplicate", "triple_third_entity_attribute"):
        assert summary["counters"][key] > 0, key
    stats = [orjson.loads(p.read_bytes()) for p in (out / "02-kg2instruction" / "_stats").glob("*.json")]
    assert sum(s["rejected"] for s in stats) == 18
    assert sum(summary["records_per_split"].values()) == len(records) == 6


def test_ie_records_feed_the_instruction_builders(built, tmp_path):
    from instruct.build.run import BuildConfig, build_file

    out, _, _, records = built
    ie = [orjson.loads(line) for split in ("train", "valid", "test")
          for line in (out / "ie_records" / f"{split}_zh.jsonl").read_bytes().splitlines()]
    assert len(ie) == len(records) and all(r["language"] == "zh" for r in ie)
    result = build_file(out / "ie_records" / "train_zh.jsonl", tmp_path / "re.json",
                        BuildConfig(task="re", lang="zh", style="knowlm", seed=1))
    assert (tmp_path / "re.json").exists() and result


def test_split_is_by_page_and_stable():
    assert split_of("zhwiki:1001") == split_of("zhwiki:1001")
    shares = Counter(split_of(f"zhwiki:{i}") for i in range(10_000))
    assert 0.78 < shares["train"] / 10_000 < 0.82


NLI = """
import json, sys
for line in sys.stdin:
    req = json.loads(line)
    # entail only triples whose tail is written in the text right after the head's sentence start
    print(json.dumps({"scores": [0.9 if t["relation"] != "职业" else 0.1 for t in req["triples"]]}), flush=True)
"""

COMPLETE = """
import json, sys
for line in sys.stdin:
    req = json.loads(line)
    proposals = [{"head": "亚当斯", "relation": "配偶", "tail": "英国"},  # kept: fits schema, both in text
                 {"head": "亚当斯", "relation": "不存在的关系", "tail": "英国"},  # not in schema
                 {"head": "亚当斯", "relation": "配偶", "tail": "月球"}]  # tail not in text
    print(json.dumps({"relation": proposals if "1952年" in req["text"] else []}), flush=True)
"""


def test_model_plugins_over_json_lines(tmp_path):
    nli, complete = tmp_path / "nli.py", tmp_path / "complete.py"
    nli.write_text(NLI)
    complete.write_text(COMPLETE)
    _, summary = run_build(
        wikidata=[WIKIDATA], wiki=[ZHWIKI], output=tmp_path / "out", workers=1, progress=False,
        step_options={"nli_cmd": f"{sys.executable} {nli}", "complete_cmd": f"{sys.executable} {complete}"},
    )
    assert summary["counters"]["triple_nli_below_threshold"] == 1  # the one 职业 triple
    assert summary["counters"]["triple_added_by_model"] == 1
    assert summary["counters"]["triple_model_proposal_rejected"] == 2
    lines = "".join((tmp_path / "out" / "instructie" / f"{split}_zh.json").read_text()
                    for split in ("train", "valid", "test"))
    assert '"relation":"配偶","tail":"英国"' in lines and '"relation":"职业"' not in lines
