"""Evaluation: tolerant parsing (shuffled, spaced, full-width), strict JSON, hand-computed partial scores."""

from __future__ import annotations

import orjson
import pytest

from instruct.evaluate import Score, align, evaluate_rows, parse_iepile


def knowlm_row(output: str, fmt: str, schema: list[str], rid: str = "r1", k: int = 0) -> dict:
    return {"id": f"{rid}#{k}", "source": "s", "instruction": "extract", "input": "text", "output": output,
            "meta": {"record_id": rid, "style": "knowlm", "format": fmt, "schema": schema}}


GOLD = "(林远舟,作者,山海行记)\n(山海行记,出版社,江南文艺出版社)\n(NAN,导演,NAN)"
SCHEMA = ["作者", "出版社", "导演"]


def test_shuffled_and_mangled_gold_scores_one():
    row = knowlm_row(GOLD, "tuple", SCHEMA)
    mangled = " （ 山海行记 ， 出版社 ，江南文艺出版社 ）\n\n  ( 林远舟 ,  作者,山海行记 )  "
    report = evaluate_rows("re", [row], [mangled])
    assert report["scores"]["triple"] == {"tp": 2, "pred": 2, "gold": 2, "p": 1.0, "r": 1.0, "f1": 1.0}
    assert report["errors"] == 0


def test_partial_answer_hand_computed():
    # gold: 2 triples; prediction: 1 right, 1 wrong relation, 1 invented -> P = 1/3, R = 1/2, F1 = 0.4
    row = knowlm_row(GOLD, "tuple", SCHEMA)
    pred = "(林远舟,作者,山海行记)\n(山海行记,作者,江南文艺出版社)\n(某人,导演,某片)"
    s = evaluate_rows("re", [row], [pred])["scores"]["triple"]
    assert (s["tp"], s["pred"], s["gold"]) == (1, 3, 2)
    assert s["p"] == pytest.approx(1 / 3, abs=1e-6) and s["r"] == 0.5 and s["f1"] == pytest.approx(0.4)
    per = evaluate_rows("re", [row], [pred])["per_type"]["triple"]
    assert per["作者"]["tp"] == 1 and per["作者"]["pred"] == 2 and per["导演"]["gold"] == 0


def test_f1_from_unrounded_p_and_r():
    # IEPile rounds P and R to 2 dp before F1; with tp=1, pred=3, gold=7 that gives 19.98 instead of 20.0
    s = Score(tp=1, pred=3, gold=7)
    assert s.f1 == pytest.approx(0.2)


def test_unparseable_answers_count_as_errors():
    row = knowlm_row('[{"head": "a", "relation": "作者", "tail": "b"}]', "json", SCHEMA)
    report = evaluate_rows("re", [row, row], ["not json at all", "[{'head': 'a'}]"])
    assert report["errors"] == 2 and report["scores"]["triple"]["pred"] == 0
    assert parse_iepile("ner", '["a"]') == ([], 1)


def iepile_row(task: str, schema: list, output: dict | None, label: list | None, rid: str, k: int) -> dict:
    row = {"id": f"{rid}#{k}", "task": task.upper(), "source": "DuIE",
           "instruction": orjson.dumps({"instruction": "x", "schema": schema, "input": "t"}).decode()}
    if label is not None:
        row["label"] = orjson.dumps(label).decode()
    if output is not None:
        row["output"] = orjson.dumps(output).decode()
    return row


def test_iepile_test_rows_grouped_by_source_and_id():
    label = [{"head": "归途", "relation": "主演", "tail": "高岩"}, {"head": "归途", "relation": "导演", "tail": "孙立平"}]
    rows = [iepile_row("re", ["主演", "作者"], None, label, "a", 0), iepile_row("re", ["导演"], None, label, "a", 1)]
    preds = ['{"主演": [{"subject": "归途", "object": "高岩"}], "作者": []}', '{"导演": [{"head": "归途", "tail": "孙立平"}]}']
    report = evaluate_rows("re", rows, preds)
    assert report["groups"] == 1 and report["scores"]["triple"]["f1"] == 1.0  # gold counted once, not per row


def test_spo_gold_uses_tail():
    label = [{"head": "山海行记", "relation": "作者", "tail": "林远舟", "head_type": "图书作品", "tail_type": "人物"}]
    schema = [{"subject_type": "图书作品", "predicate": "作者", "object_type": "人物"}]
    rows = [iepile_row("spo", schema, None, label, "b", 0)]
    report = evaluate_rows("spo", rows, ['{"作者": [{"subject": "山海行记", "object": "林远舟"}]}'])
    assert report["scores"]["triple"]["f1"] == 1.0


def test_ee_event_and_argument_scores():
    gold = {"组织关系-裁员": [{"trigger": "裁员", "arguments": {"时间": "7月12日", "裁员方": "远航物流", "裁员人数": "NAN"}}]}
    schema = [{"event_type": "组织关系-裁员", "trigger": True, "arguments": ["时间", "裁员方", "裁员人数"]}]
    row = iepile_row("ee", schema, gold, None, "c", 0)
    pred = {"组织关系-裁员": [{"trigger": "裁员", "arguments": {"时间": "7月12日", "裁员方": ["远航物流", "某公司"]}}]}
    report = evaluate_rows("ee", [row], [orjson.dumps(pred).decode()])
    assert report["scores"]["event"]["f1"] == 1.0
    arg = report["scores"]["argument"]
    assert (arg["tp"], arg["pred"], arg["gold"]) == (2, 3, 2)


def test_align_by_id_and_by_position():
    gold = [{"id": "a"}, {"id": "b"}]
    assert align(gold, [{"id": "b", "output": "2"}, {"id": "a", "predict": "1"}]) == ["1", "2"]
    assert align([{}, {}], [{"output": "x"}, {"output": "y"}]) == ["x", "y"]
    with pytest.raises(ValueError):
        align([{}, {}], [{"output": "x"}])
