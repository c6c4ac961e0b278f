"""clean's learned page model: features, the trainer (and its refusals), the model's decisions in clean."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from corpus.clean import CLEAN_PAGE_MODEL, CleanStep
from corpus.page_model import (
    DEFAULT_FEATURES,
    FEATURE_NAMES,
    FEATURES,
    PageModel,
    fit_logistic,
    load_model,
    page_features,
    train,
    write_model,
)
from corpus.page_training import train_from_files

ROOT = Path(__file__).resolve().parents[2]

MENU = ["首页", "新闻", "体育", "财经", "娱乐", "科技", "汽车", "房产", "教育", "旅游", "健康", "视频", "图片", "论坛",
        "博客", "游戏", "时尚", "军事", "历史", "读书"]
SUBJECTS = ["市政府", "研究团队", "这家企业", "当地居民", "学校老师", "气象部门", "图书馆", "志愿者们"]
ACTS = ["宣布了新的建设计划", "公布了上一年度的调查结果", "讨论了交通改善的具体办法", "介绍了项目进展和下一步安排",
        "回应了市民提出的多个问题", "总结了过去三个月的工作经验"]
TAILS = ["，预计明年春天完成全部工程。", "，相关部门表示将继续听取各方意见。", "，参与者普遍认为效果比预期更好。",
         "，并计划在秋季举办一次公开说明会。"]
HEADLINES = ["多地发布暴雨预警 出行请注意安全", "这些美食你一定没有吃过", "新款手机下月发布 价格或将下调",
             "专家解读最新经济数据", "周末去哪儿玩 十个好去处推荐", "年轻人为何越来越爱逛博物馆"]


def article_page(rng: random.Random, paragraphs: int) -> str:
    """A news page: a title, a menu row, ``paragraphs`` paragraphs of sentences, a footer line."""
    body = ["".join(rng.choice(SUBJECTS) + rng.choice(ACTS) + rng.choice(TAILS) for _ in range(rng.randint(2, 4)))
            for _ in range(paragraphs)]
    return "\n".join([rng.choice(HEADLINES), " | ".join(rng.sample(MENU, 5)), *body, "责任编辑：王明"])


def nav_page(rng: random.Random, entries: int) -> str:
    """A portal page: menu entries one per line, headline links, one short paragraph."""
    lines = rng.sample(MENU, min(entries, len(MENU))) + rng.sample(HEADLINES, 4)
    lines.insert(rng.randint(3, len(lines)), rng.choice(SUBJECTS) + rng.choice(ACTS) + rng.choice(TAILS))
    return "\n".join(lines)


def labelled_file(path: Path, seed: int, n: int = 12) -> Path:
    """``n`` keep articles and ``n`` drop portal pages as labelled JSONL, with a source per record."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        records.append({"id": f"a{seed}-{i}", "text": article_page(rng, rng.randint(9, 14)), "label": "keep",
                        "lang": "zh", "source": f"site{i % 3}:page{i}"})
        records.append({"id": f"n{seed}-{i}", "text": nav_page(rng, rng.randint(10, 18)), "label": "drop",
                        "lang": "zh", "source": f"site{i % 3}:nav{i}"})
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("page_model")
    model = train_from_files([labelled_file(root / "a.jsonl", 1), labelled_file(root / "b.jsonl", 2)])
    path = root / "page_quality.json"
    write_model(model, path)
    return path


def test_every_feature_is_documented_and_computed() -> None:
    got = page_features("首页\n新闻\n" + "这是一个完整的句子，讲述了一件事情的经过和结果。" * 2, "这是一个完整的句子。", {}, chinese=True)
    assert set(got) == set(FEATURES) == set(FEATURE_NAMES)
    assert all(isinstance(v, float) for v in got.values())
    assert all(0.0 <= got[f] <= 1.0 for f in FEATURES if f.endswith("_share"))


def test_features_measure_what_clean_removed() -> None:
    step = CleanStep()
    arrived = step.clean_text(nav_page(random.Random(3), 15), chinese=True)
    kept, tally = step.repair(arrived)
    nav = page_features(arrived, kept, tally, chinese=True)
    arrived = step.clean_text(article_page(random.Random(3), 12), chinese=True)
    kept, tally = step.repair(arrived)
    article = page_features(arrived, kept, tally, chinese=True)
    assert nav["furniture_share"] > article["furniture_share"]
    assert nav["removed_line_share"] > 0.5 > article["removed_line_share"]  # 14 of 20 lines are menu entries
    assert nav["prose_share"] < 0.35 < article["prose_share"]
    assert nav["log_article_chars"] < article["log_article_chars"]


def test_newton_fit_reaches_the_regularised_optimum() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = (x @ [1.5, -2.0, 0.0] + rng.normal(size=200) > 0).astype(float)
    coef, intercept = fit_logistic(x, y, l2=2.0)
    p = 1 / (1 + np.exp(-(x @ coef + intercept)))
    # Gradient of sum(logloss) + l2/2 |coef|^2 is zero at the optimum (the intercept unpenalised).
    assert np.allclose(x.T @ (p - y) + 2.0 * coef, 0, atol=1e-6)
    assert abs(np.sum(p - y)) < 1e-6
    assert coef[0] > 0 > coef[1]


def test_trained_model_keeps_articles_and_drops_portal_pages(model_path: Path) -> None:
    rng = random.Random(99)  # pages the model was not trained on
    docs = [{"id": f"a{i}", "text": article_page(rng, 11), "source": "web", "meta": {}} for i in range(5)]
    docs += [{"id": f"n{i}", "text": nav_page(rng, 16), "source": "web", "meta": {}} for i in range(5)]
    counters: Counter = Counter()
    out = {d["id"]: d for d in CleanStep(page_model=str(model_path))(iter(docs), counters)}
    for i in range(5):
        assert "reject" not in out[f"a{i}"]["meta"], out[f"a{i}"]["meta"]
        reject = out[f"n{i}"]["meta"]["reject"]
        assert reject["reason"] == CLEAN_PAGE_MODEL and reject["filter"] == "clean"
        assert reject["value"] < reject["threshold"] == load_model(str(model_path)).threshold
        scores = out[f"n{i}"]["meta"]["scores"]["page_model"]
        assert scores["keep_probability"] == reject["value"] and len(scores["top_features"]) == 3
    assert out["a0"]["meta"]["scores"]["page_model"]["keep_probability"] >= 0.5


def test_model_modes_and_the_rules_alone(model_path: Path) -> None:
    page = {"id": "n", "text": nav_page(random.Random(5), 16), "source": "web", "meta": {}}

    def reason(**options) -> str | None:
        doc = json.loads(json.dumps(page))
        (out,) = CleanStep(**options)(iter([doc]), Counter())
        return out["meta"].get("reject", {}).get("reason")

    assert reason() in ("clean_mostly_boilerplate", "clean_little_prose")  # the rules alone (default)
    assert reason(page_model=str(model_path)) == CLEAN_PAGE_MODEL
    # gate: the rule proposes; a model that keeps everything overrules it, one that drops all confirms it.
    assert reason(page_model=str(model_path), page_model_mode="gate") in ("clean_mostly_boilerplate",
                                                                          "clean_little_prose")
    assert reason(page_model=str(model_path), page_model_mode="gate", min_keep_probability=0.0) is None
    assert reason(page_model=str(model_path), min_keep_probability=0.0) is None


def test_short_documents_are_left_to_the_filters(model_path: Path) -> None:
    # Fewer than min_prose_lines lines: a one-line review is never judged by the page model.
    doc = {"id": "r", "text": "首页\n新闻\n体育", "source": "web", "meta": {}}
    (out,) = CleanStep(page_model=str(model_path), max_furniture_ratio=None)(iter([doc]), Counter())
    assert "reject" not in out["meta"] and "page_model" not in out["meta"].get("scores", {})


def test_model_loads_in_a_fresh_process(model_path: Path) -> None:
    features = page_features("首页\n新闻\n体育\n这是一个完整的句子，讲述了一件事情的经过和结果。", "这是一个完整的句子。", {},
                             chinese=True)
    here = load_model(str(model_path)).keep_probability(features)
    code = ("import json, sys; from corpus.page_model import load_model; "
            "print(load_model(sys.argv[1]).keep_probability(json.loads(sys.argv[2])))")
    out = subprocess.run([sys.executable, "-c", code, str(model_path), json.dumps(features)], check=True,
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    assert float(out) == pytest.approx(here, abs=1e-12)


def test_model_file_holds_coefficients_and_provenance_only(model_path: Path) -> None:
    data = json.loads(model_path.read_text(encoding="utf-8"))
    assert data["features"] == list(DEFAULT_FEATURES) and len(data["coef"]) == len(DEFAULT_FEATURES)
    prov = data["provenance"]
    assert prov["pages"] == {"zh": {"keep": 24, "drop": 24}}
    assert [f["name"] for f in prov["files"]] == ["a.jsonl", "b.jsonl"]
    assert set(prov["leave_one_file_out"]["per_lang"]) == {"zh"} and prov["leave_one_source_out"]["parts"] == 3
    assert "首页" not in model_path.read_text(encoding="utf-8")  # no document text


def test_trainer_refuses_a_record_without_a_label(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"text": "一些文字"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"x\.jsonl:1"):
        train_from_files([path])


def test_trainer_refuses_one_class_only(tmp_path: Path) -> None:
    path = labelled_file(tmp_path / "a.jsonl", 1)
    keeps = [line for line in path.read_text(encoding="utf-8").splitlines() if '"keep"' in line]
    path.write_text("\n".join(keeps) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="both keep and drop"):
        train_from_files([path])


def test_trainer_refuses_an_unknown_feature_and_no_pages(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown features"):
        train_from_files([labelled_file(tmp_path / "a.jsonl", 1)], features=["prose_share", "word_count"])
    with pytest.raises(ValueError, match="no labelled pages"):
        train([], [])
    with pytest.raises(ValueError, match="unknown features"):
        PageModel(features=("nope",), mean=(0.0,), scale=(1.0,), coef=(1.0,), intercept=0.0, threshold=0.5, l2=1.0)


def test_cli_trains_and_reports_cross_validation(tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    result = CliRunner().invoke(main, ["corpus", "train-page-model", "--labelled", str(labelled_file(tmp_path / "a.jsonl", 1)),
                                       "--labelled", str(labelled_file(tmp_path / "b.jsonl", 2)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "zh: 24 keep / 24 drop pages" in result.output and "leave-one-file-out (2 parts)" in result.output
    assert load_model(str(out)).features == DEFAULT_FEATURES
    bad = tmp_path / "one.jsonl"
    bad.write_text('{"text": "a", "label": "keep"}\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["corpus", "train-page-model", "--labelled", str(bad), "-o", str(out)])
    assert result.exit_code == 2 and "no labelled pages" in result.output


def test_a_chained_run_writes_the_model_s_drops_and_counts_them_per_rule(model_path: Path, tmp_path: Path) -> None:
    rng = random.Random(7)
    raw = tmp_path / "in.jsonl"
    records = [{"id": f"a{i}", "text": article_page(rng, 11)} for i in range(3)]
    records += [{"id": f"n{i}", "text": nav_page(rng, 16)} for i in range(3)]
    raw.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    work = tmp_path / "work"
    result = CliRunner().invoke(main, ["corpus", "-w", str(work), "--quiet", "--workers", "1", "read", "--source",
                                       "jsonl", "-i", str(raw), "--name", "web", "clean", "--page-model",
                                       str(model_path)])
    assert result.exit_code == 0, result.output
    from corpus.shards import list_shards, read_docs

    clean_dir = next(p for p in work.iterdir() if p.name.endswith("clean"))
    kept = [d for p in list_shards(clean_dir) for d in read_docs(p)]
    rejected = [d for p in list_shards(clean_dir / "rejected") for d in read_docs(p)]
    assert sorted(d["id"] for d in rejected) == ["n0", "n1", "n2"]
    assert all(d["meta"]["reject"]["reason"] == CLEAN_PAGE_MODEL for d in rejected)
    threshold = load_model(str(model_path)).threshold
    assert kept and all(d["meta"]["scores"]["page_model"]["keep_probability"] >= threshold for d in kept)
    stats = Counter()
    for path in (clean_dir / "_stats").iterdir():
        data = json.loads(path.read_text(encoding="utf-8"))
        stats.update({k: v for k, v in (data.get("reasons") or {}).items()})
    assert stats == {CLEAN_PAGE_MODEL: 3}
