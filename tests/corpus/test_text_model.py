"""The word-reading text model: tokens and hashing, the fit, determinism, the file (no text in it), the trainer
and its command's errors."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from corpus.text_model import (
    DEFAULT_THRESHOLD,
    Hashing,
    TextModel,
    featurize,
    fit_lbfgs,
    load_model,
    ngram_buckets,
    tokens,
    train,
    write_model,
)
from corpus.text_training import labelled_texts, train_from_files

ROOT = Path(__file__).resolve().parents[2]

EN_SUBJECTS = ["The council", "A research team", "The museum", "Local farmers", "The river authority", "Teachers"]
EN_ACTS = ["published a report on water quality", "opened a new exhibition about the city's history",
           "described how the harvest changed this year", "discussed the plan for the bridge repairs",
           "measured the rainfall over the last decade"]
EN_TAILS = [" after months of careful work.", ", and the results will be shared in spring.",
            " with support from volunteers.", ", according to a statement on Tuesday."]
EN_SPAM = ["best online casino bonus", "claim your free spins now", "win real money today",
           "top betting odds guaranteed", "click here to register and deposit", "jackpot slots vip bonus code"]
ZH_KEEP = ["研究团队公布了上一年度的调查结果，", "市政府介绍了项目进展和下一步安排，", "当地居民讨论了交通改善的具体办法，",
           "图书馆举办了一场关于历史的展览，", "气象部门总结了过去三个月的降雨情况，"]
ZH_TAIL = ["预计明年春天完成全部工程。", "相关部门表示将继续听取各方意见。", "参与者普遍认为效果比预期更好。"]
ZH_SPAM = ["澳门娱乐城官网注册送彩金", "真人视讯在线投注", "体育平台首存优惠", "百家乐网投平台信誉第一", "点击下载APP立即领取"]


def keep_text(rng: random.Random, zh: bool) -> str:
    if zh:
        return "\n".join(rng.choice(ZH_KEEP) + rng.choice(ZH_TAIL) for _ in range(rng.randint(3, 6)))
    return " ".join(rng.choice(EN_SUBJECTS) + " " + rng.choice(EN_ACTS) + rng.choice(EN_TAILS)
                    for _ in range(rng.randint(3, 6)))


def drop_text(rng: random.Random, zh: bool) -> str:
    # Article-shaped spam: the same sentence shapes as the keep pages, with betting words stitched in.
    if zh:
        return "\n".join(rng.choice(ZH_SPAM) + "，" + rng.choice(ZH_KEEP) + rng.choice(ZH_SPAM) + "。"
                         for _ in range(rng.randint(3, 6)))
    return " ".join(f"{rng.choice(EN_SUBJECTS)} says {rng.choice(EN_SPAM)}, {rng.choice(EN_SPAM)}."
                    for _ in range(rng.randint(3, 6)))


def labelled_file(path: Path, seed: int, n: int = 10, sources: tuple[str, ...] = ("a/one", "b/two")) -> Path:
    """``n`` keep and ``n`` drop records per language as labelled JSONL, the sources taken in turn."""
    rng = random.Random(seed)
    lines = []
    for zh in (True, False):
        for label in ("keep", "drop"):
            for i in range(n):
                text = keep_text(rng, zh) if label == "keep" else drop_text(rng, zh)
                lines.append(json.dumps({"id": f"{seed}-{zh}-{label}-{i}", "text": text, "lang": "zh" if zh else "en",
                                         "source": f"{sources[i % len(sources)]}:file.html", "label": label},
                                        ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_tokens_are_han_characters_words_and_digit_shapes() -> None:
    words = Hashing(symbols=False)
    assert tokens("長江 is 6300 KM long, 2024年。", words) == ["長", "江", "is", "0000", "km", "long", "0000", "年"]
    assert tokens("【广告】a|b", Hashing()) == ["【", "广", "告", "】", "a", "|", "b"]  # symbols: on by default
    # A Latin run stops at a Han character: the two are different tokens, not one "word".
    assert tokens("iphone手机", words) == ["iphone", "手", "机"]


def test_ngrams_are_words_up_to_two_and_han_up_to_three() -> None:
    hashing = Hashing()
    _, orders, starts = ngram_buckets(["长", "江", "大", "河"], hashing)
    assert sorted(zip(orders.tolist(), starts.tolist(), strict=True)) == [
        (1, 0), (1, 1), (1, 2), (1, 3), (2, 0), (2, 1), (2, 2), (3, 0), (3, 1)]
    _, orders, _ = ngram_buckets(["the", "long", "river"], hashing)
    assert sorted(orders.tolist()) == [1, 1, 1, 2, 2]  # no word trigram
    _, orders, starts = ngram_buckets(["长", "江", "is"], hashing)
    assert (3 in orders.tolist()) is False  # a trigram with a word in it is not Chinese text
    # Order matters and every n-gram is salted by its order: "a b" is not "b a", nor the unigram "a".
    ab, _, _ = ngram_buckets(["a", "b"], hashing)
    ba, _, _ = ngram_buckets(["b", "a"], hashing)
    assert ab[2] != ba[2] and ab[2] not in ab[:2]


def test_rows_are_unit_norm_log_counts() -> None:
    rows = featurize(["the river the river", "", "长江"], Hashing())
    # "the" and "river" twice each, "the river" twice, "river the" once; nothing; 长, 江 and 长江.
    assert rows.n == 3 and np.diff(rows.indptr).tolist() == [4, 0, 3]
    first = rows.data[rows.indptr[0]:rows.indptr[1]]
    expected = np.log1p([1, 2, 2, 2]) / np.sqrt(np.sum(np.log1p([1, 2, 2, 2]) ** 2))
    assert np.allclose(np.sort(first), expected)


def test_buckets_do_not_depend_on_the_process() -> None:
    # Python's own hash() of a str changes with PYTHONHASHSEED; the model's buckets must not.
    code = ("from corpus.text_model import Hashing, ngram_buckets, tokens; h = Hashing(); "
            "print(ngram_buckets(tokens('長江 is a river 澳门娱乐', h), h)[0].tolist())")
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(seen) == 1
    hashing = Hashing()
    assert seen.pop().strip() == str(ngram_buckets(tokens("長江 is a river 澳门娱乐", hashing), hashing)[0].tolist())


def test_lbfgs_reaches_the_optimum() -> None:
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(list("abcdefghij"), size=12)) for _ in range(60)]
    y = np.array([float("a" in t.split()[:3]) for t in texts])
    rows = featurize(texts, Hashing(bits=10))
    weights = np.ones(len(y))
    w, b = fit_lbfgs(rows, y, weights, l2=0.01)
    # The gradient of the objective fit_lbfgs documents vanishes at its result.
    z = rows.dot(w) + b
    p = 1 / (1 + np.exp(-z))
    s = weights / weights.sum()
    assert np.max(np.abs(rows.tdot(s * (p - y)) + 0.01 * w)) < 1e-5
    assert abs(np.sum(s * (p - y))) < 1e-5


@pytest.mark.parametrize("method", ["logistic", "naive_bayes"])
def test_a_trained_model_separates_unseen_texts(method: str) -> None:
    rng = random.Random(1)
    texts, labels, langs = [], [], []
    for zh in (True, False):
        for label in (1, 0):
            for _ in range(15):
                texts.append(keep_text(rng, zh) if label else drop_text(rng, zh))
                labels.append(label)
                langs.append("zh" if zh else "en")
    model = train(texts, labels, langs=langs, method=method, l2=1e-3)
    other = random.Random(2)
    keeps = model.keep_probabilities([keep_text(other, zh) for zh in (True, False) for _ in range(10)])
    drops = model.keep_probabilities([drop_text(other, zh) for zh in (True, False) for _ in range(10)])
    assert keeps.min() > drops.max()
    assert model.threshold == DEFAULT_THRESHOLD
    # The explanation names the document's own n-grams; a spam page's strongest ones push towards drop.
    terms = model.explain(drop_text(other, zh=False))
    assert len(terms) == 3 and float(terms[0].rsplit(" ", 1)[1]) < 0


def test_training_refuses_what_it_cannot_fit() -> None:
    with pytest.raises(ValueError, match="both keep and drop"):
        train(["a b", "c d"], [1, 1])
    with pytest.raises(ValueError, match="no labelled texts"):
        train([], [])
    with pytest.raises(ValueError, match="one 0/1 per text"):
        train(["a", "b"], [1, 2])
    with pytest.raises(ValueError, match="method"):
        train(["a", "b"], [1, 0], method="svm")


def test_same_input_same_model_bytes(tmp_path: Path) -> None:
    data = labelled_file(tmp_path / "set.jsonl", seed=3)
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    write_model(train_from_files([data], cross_validation=False), first)
    write_model(train_from_files([data], cross_validation=False), second)
    assert first.read_bytes() == second.read_bytes()


def test_the_model_file_round_trips_and_holds_no_text(tmp_path: Path) -> None:
    data = labelled_file(tmp_path / "set.jsonl", seed=4)
    model = train_from_files([data])
    path = tmp_path / "model.npz"
    write_model(model, path)
    loaded = load_model(str(path))
    texts = [r["text"] for r in labelled_texts([data])]
    assert np.array_equal(loaded.keep_probabilities(texts), model.keep_probabilities(texts))
    assert loaded.hashing == model.hashing and loaded.threshold == model.threshold
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["buckets.npy", "header.npy", "weights.npy"]
        raw = b"".join(archive.read(name) for name in archive.namelist())
    header = json.loads(bytes(np.load(path)["header"]).decode("utf-8"))
    assert header["provenance"]["files"] == [{"name": "set.jsonl", "records": 40}]
    assert header["provenance"]["records"] == {"en": {"keep": 10, "drop": 10}, "zh": {"keep": 10, "drop": 10}}
    assert set(header["provenance"]["leave_one_source_out"]["per_lang"]) == {"en", "zh"}
    # Neither a word of the training texts nor a Chinese character of them is anywhere in the file.
    for word in ("casino", "council", "volunteers", "jackpot"):
        assert word.encode() not in raw
    for chars in ("澳门", "图书馆", "研究"):
        assert chars.encode("utf-8") not in raw and chars.encode("utf-16-le") not in raw


def test_a_model_of_another_format_is_refused() -> None:
    model = train(["a b c", "d e f"], [1, 0], hashing=Hashing(bits=8))
    arrays = model.to_arrays()
    header = json.loads(bytes(arrays["header"]).decode())
    header["format"] = "something-else/9"
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with pytest.raises(ValueError, match="format"):
        TextModel.from_arrays(arrays)


def test_cli_trains_and_reports(tmp_path: Path) -> None:
    data = labelled_file(tmp_path / "set.jsonl", seed=5)
    out = tmp_path / "m.npz"
    result = CliRunner().invoke(main, ["corpus", "train-text-model", "--labelled", str(data), "-o", str(out), "--no-cv"])
    assert result.exit_code == 0, result.output
    assert "training the text model on 1 labelled file(s)" in result.output
    assert "zh: 10 keep / 10 drop records" in result.output and f"wrote {out}" in result.output
    assert load_model(str(out)).provenance["files"][0]["name"] == "set.jsonl"


@pytest.mark.parametrize(("lines", "message"), [
    ([{"text": "only keeps", "label": "keep"}] * 3, "needs both keep and drop texts; all 3 are keep"),
    ([{"text": "a", "label": "keep"}, {"label": "drop"}], "bad.jsonl:2: needs text and label keep|drop"),
    ([{"text": "a", "label": "keep"}, {"text": "b", "label": "maybe"}], "bad.jsonl:2: needs text and label"),
])
def test_cli_errors_name_what_to_fix(tmp_path: Path, lines: list[dict], message: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["corpus", "train-text-model", "--labelled", str(bad), "-o", str(tmp_path / "m.npz")])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "m.npz").exists()


def test_cli_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["corpus", "train-text-model", "--labelled", str(tmp_path / "none.jsonl"),
                                       "-o", str(tmp_path / "m.npz")])
    assert result.exit_code == 2 and "does not exist" in result.output
    with pytest.raises(FileNotFoundError, match="labelled file not found"):
        labelled_texts([tmp_path / "none.jsonl"])
