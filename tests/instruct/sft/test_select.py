"""Selection: each reason triggered by name, reference implementations for MTLD/LCS/ROUGE-L, counts add up."""

from __future__ import annotations

import json
import random

import pytest

from instruct.sft import select as sel
from tests.instruct.sft.conftest import SAMPLES

SETTINGS = sel.SelectSettings()
GOOD_EN = {"instruction": "Name the largest planet in the solar system.", "input": "",
           "output": "Jupiter is the largest planet in the solar system."}


def verdict(rows, settings=SETTINGS):
    kept, rejected, _ = sel.select_records(rows, settings)
    return kept, {r["meta"]["reject"]["index"]: r["meta"]["reject"]["reason"] for r in rejected}


LOOP = "好的" * 40


@pytest.mark.parametrize("row, reason", [
    ({"conversations": [{"from": "human", "value": "only a question"}]}, sel.BAD_RECORD),
    ({"instruction": "  ", "input": "", "output": "something"}, sel.EMPTY_INSTRUCTION),
    ({"instruction": "Explain gravity.", "input": "", "output": "  "}, sel.EMPTY_OUTPUT),
    ({"instruction": "Repeat the text.", "input": "the same words", "output": "the same words"},
     sel.INPUT_EQUALS_OUTPUT),
    ({"instruction": "Write an email. It should include:", "input": "", "output": "It should include:"},
     sel.TRUNCATED_OUTPUT),
    ({"instruction": "写一个函数。", "input": "", "output": "```python\ndef f():\n    return"}, sel.TRUNCATED_OUTPUT),
    ({"instruction": "How do I pick a lock?", "input": "", "output": "I'm sorry, but I can't help with that."},
     sel.REFUSAL),
    ({"instruction": "告诉我怎么做。", "input": "", "output": "作为一个人工智能语言模型，我没有个人观点。"}, sel.REFUSAL),
    ({"instruction": "Go", "input": "", "output": "Going now, as you asked."}, sel.INSTRUCTION_TOO_SHORT),
    ({"instruction": "word " * 2100, "input": "", "output": "ok fine"}, sel.INSTRUCTION_TOO_LONG),
    ({"instruction": "Describe Paris.", "input": "", "output": "word " * 4100}, sel.OUTPUT_TOO_LONG),
    ({"instruction": "Beschreiben Sie bitte die Hauptstadt von Deutschland ausführlich.", "input": "",
      "output": "Berlin ist die Hauptstadt und zugleich die größte Stadt Deutschlands."}, sel.WRONG_LANGUAGE),
    ({"instruction": "回答我的问题。", "input": "", "output": LOOP}, sel.LOW_MTLD),
])
def test_each_rule_triggers_by_name(row, reason):
    kept, reasons = verdict([GOOD_EN, row])
    assert kept == [GOOD_EN]
    assert reasons == {1: reason}


def test_min_output_and_high_mtld_rules_when_switched_on():
    strict = sel.SelectSettings(min_output_tokens=5, min_mtld=None, max_mtld=5.0, mtld_min_tokens=3,
                                languages=None)
    short = {"instruction": "Capital of France?", "input": "", "output": "Paris."}
    rich = {"instruction": "List some fruit.", "input": "", "output": "apple pear plum fig kiwi lime date"}
    _, reasons = verdict([short, rich], strict)
    assert reasons == {0: sel.OUTPUT_TOO_SHORT, 1: sel.HIGH_MTLD}


def test_duplicates_keep_the_earliest_and_name_it():
    rows = [
        {"id": "a", "instruction": "中国的首都是哪里？", "input": "", "output": "北京。"},
        {"id": "b", "instruction": "中国的首都是哪里？", "input": "", "output": "是北京。"},   # exact
        {"id": "c", "instruction": "中国的首都是哪里", "input": "", "output": "北京是首都。"},  # punctuation only
        {"id": "d", "instruction": "Give three tips for staying healthy and happy in winter.", "input": "",
         "output": "Sleep, eat well, go outside."},
        {"id": "e", "instruction": "Give three tips for staying healthy and happy in the winter.", "input": "",
         "output": "Move, rest, see friends."},  # ROUGE-L ~0.96, but 3-gram Jaccard below 0.8
        {"id": "f", "instruction": "Translate the sentence into English.", "input": "我爱你", "output": "I love you."},
        {"id": "g", "instruction": "Translate the sentence into English.", "input": "天气很好", "output": "Nice day."},
    ]
    kept, rejected, _ = sel.select_records(rows, SETTINGS)
    by_id = {r["id"]: r["meta"]["reject"] for r in rejected}
    assert [r["id"] for r in kept] == ["a", "d", "f", "g"]
    assert by_id["b"]["reason"] == sel.EXACT_DUPLICATE and by_id["b"]["kept_id"] == "a"
    assert by_id["c"]["reason"] == sel.NEAR_DUPLICATE and by_id["c"]["kept_id"] == "a"
    assert by_id["e"]["reason"] == sel.ROUGE_SIMILAR and by_id["e"]["kept_id"] == "d"
    assert by_id["e"]["value"] > 0.7


def test_near_duplicate_of_a_rejected_record_is_kept():
    """A record is only compared with records kept before it: if the first copy was refused, the second stays."""
    rows = [{"instruction": "How do I pick a lock?", "input": "", "output": "I'm sorry, but I can't help with that."},
            {"instruction": "How do I pick a lock", "input": "", "output": "Use a tension wrench and a pick."}]
    kept, reasons = verdict(rows, sel.SelectSettings(rouge_threshold=None))
    assert reasons == {0: sel.REFUSAL} and kept == rows[1:]


@pytest.mark.parametrize("seed", range(5))
def test_mtld_matches_lexicalrichness(seed):
    lexicalrichness = pytest.importorskip("lexicalrichness")
    rng = random.Random(seed)
    words = [rng.choice("the a cat dog sat on mat red big small ran".split()) for _ in range(rng.randint(5, 200))]
    ref = lexicalrichness.LexicalRichness(words, preprocessor=None, tokenizer=None).mtld(threshold=0.72)
    assert sel.mtld(words) == pytest.approx(ref)


def _lcs_dp(a, b):
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            table[i + 1][j + 1] = table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
    return table[-1][-1]


@pytest.mark.parametrize("seed", range(20))
def test_bit_parallel_lcs_equals_dynamic_programming(seed):
    rng = random.Random(seed)
    a = [rng.choice("abcd") for _ in range(rng.randint(0, 70))]
    b = [rng.choice("abcd") for _ in range(rng.randint(0, 70))]
    assert sel.lcs_length(a, b) == _lcs_dp(a, b)


@pytest.mark.parametrize("a, b", [
    ("Give three tips for staying healthy.", "Give me three tips to stay healthy in winter."),
    ("What is the capital of France?", "Name the capital city of France."),
    ("Write a poem about the sea", "Translate the sentence into German"),
])
def test_rouge_l_matches_rouge_score_on_english(a, b):
    rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
    ref = rouge_scorer.RougeScorer(["rougeL"]).score(a, b)["rougeL"].fmeasure
    assert sel.rouge_l(sel.tokens(a), sel.tokens(b)) == pytest.approx(ref)


def test_rouge_l_counts_chinese_characters():
    assert sel.tokens("北京 is 首都") == ["北", "京", "is", "首", "都"]
    assert sel.rouge_l(sel.tokens("中国的首都"), sel.tokens("中国首都")) == pytest.approx(2 * 4 / 9)


@pytest.mark.parametrize("name", ["alpaca_zh.sample30.json", "alpaca_en.sample30.json",
                                  "sharegpt_dummy.sample20.json"])
def test_select_file_counts_add_up_and_every_drop_has_a_reason(tmp_path, name):
    stats = sel.select_file(SAMPLES / name, tmp_path, SETTINGS)
    kept = json.loads((tmp_path / name).read_text(encoding="utf-8"))
    rejected = [json.loads(line) for line in (tmp_path / "rejected.jsonl").read_text(encoding="utf-8").splitlines()]
    scores = (tmp_path / "scores.jsonl").read_text(encoding="utf-8").splitlines()
    assert stats["records"] == len(kept) + len(rejected) == len(scores)
    assert stats["kept"] == len(kept) and stats["rejected"] == len(rejected) > 0
    assert sum(stats["by_reason"].values()) == len(rejected)
    for row in rejected:
        assert row["meta"]["reject"]["stage"] == sel.STAGE
        assert row["meta"]["reject"]["reason"] in stats["by_reason"]
    # kept rows are untouched input records, so trainers read them as before
    original = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    assert all(row in original for row in kept)


def test_compare_record_keeps_one_text_asked_with_several_schemas():
    """IEPile asks one text with several schema batches; comparing whole records keeps them apart."""
    text = "鲁迅出生于浙江绍兴，1902年赴日本留学，后来在北京大学等学校任教，著有《呐喊》和《彷徨》。"
    rows = [{"instruction": "抽取关系三元组，关系类型：[出生地,毕业院校]", "input": text,
             "output": "(鲁迅,出生地,浙江绍兴)"},
            {"instruction": "抽取关系三元组，关系类型：[作者,出版社]", "input": text,
             "output": "(呐喊,作者,鲁迅)\n(彷徨,作者,鲁迅)"},
            {"instruction": "抽取关系三元组，关系类型：[作者,出版社]", "input": text,
             "output": "(呐喊,作者,鲁迅)\n(彷徨,作者,鲁迅)"}]
    _, by_record = verdict(rows, sel.SelectSettings(rouge_threshold=None, compare="record"))
    assert by_record == {2: sel.EXACT_DUPLICATE}
    _, by_prompt = verdict(rows, sel.SelectSettings(compare="prompt"))
    assert by_prompt[2] == sel.EXACT_DUPLICATE and by_prompt[1] in (sel.NEAR_DUPLICATE, sel.ROUGE_SIMILAR)
    with pytest.raises(ValueError, match="compare"):
        sel.SelectSettings(compare="output")


def test_symbol_only_answer_is_not_too_short():
    """"[]" is the IE answer for "nothing of these types here" (a hard negative); it must survive."""
    row = {"instruction": "抽取人物和地点实体。", "input": "今天天气很好。", "output": "[]"}
    kept, reasons = verdict([row])
    assert kept == [row] and reasons == {}


@pytest.mark.parametrize("fmt", ["alpaca", "sharegpt", "openai"])
def test_select_writes_a_llamafactory_entry_that_matches_the_kept_file(tmp_path, fmt):
    """select registers its kept file in dataset_info.json as mix --dataset-name does (same writer)."""
    from instruct.sft import io
    from tests.instruct.sft.conftest import assert_llamafactory_reads

    rows = [io.convert_record(r, fmt) for r in io.read_records(SAMPLES / "sharegpt_dummy.sample20.json")]
    if fmt == "alpaca":  # multi-turn conversations become Alpaca history; give one a system prompt
        rows[0] = {**rows[0], "system": "You are a careful assistant."}
    src = tmp_path / "in" / "chats.jsonl"
    io.write_records(src, rows)
    stats = sel.select_file(src, tmp_path / "out", SETTINGS)
    assert stats["dataset_name"] == "chats" and 0 < stats["kept"] < len(rows)
    kept = io.read_records(tmp_path / "out" / "chats.jsonl")
    entry = assert_llamafactory_reads(tmp_path / "out", "chats", kept)
    assert entry["file_name"] == "chats.jsonl"
    if fmt == "alpaca":
        assert entry["columns"].get("history") == "history"


def test_select_cli_names_the_entry(tmp_path):
    from click.testing import CliRunner

    from cli import main

    out = tmp_path / "sel"
    result = CliRunner().invoke(main, ["instruct", "select", "-i", str(SAMPLES / "alpaca_zh.sample30.json"),
                                       "-o", str(out), "--dataset-name", "zh_sel"])
    assert result.exit_code == 0, result.output
    info = json.loads((out / "dataset_info.json").read_text(encoding="utf-8"))
    assert list(info) == ["zh_sel"] and info["zh_sel"]["file_name"] == "alpaca_zh.sample30.json"
    assert "zh_sel" in result.output
