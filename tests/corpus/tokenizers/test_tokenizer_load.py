"""Loading tokenizers: token ends of the fast path equal SentencePiece's own offsets; HF directories."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from corpus.tokenizers.load import load_tokenizer, utf8_offsets

FIXTURES = Path(__file__).parents[2] / "fixtures" / "tokenizer"
LLAMA = FIXTURES / "llama-style.model"
DEMO_HF = Path(__file__).parents[3] / "data_samples" / "tokenizer" / "knowforge-demo-hf"

TEXTS = ["这是test。\n  A b", "Hello world. The end.", "  leading spaces", "x", "emoji 🙂 and 中文…",
         "tabs\tand\r\nCRLF", "数字 2023 年", "ír", "龘a", "a\u2581b"]


def test_utf8_offsets():
    assert utf8_offsets("a中b🙂").tolist() == [0, 1, 4, 5, 9]


def test_llama_model_ids_and_specials():
    tok = load_tokenizer(str(LLAMA))
    assert (tok.vocab_size, tok.bos_id, tok.eos_id) == (32000, 1, 2)
    assert tok.identity and tok.dummy_prefix


def _tokens_before_each_char(text, ends):
    """How many tokens end at or before each character boundary 1..len: what packing cuts use."""
    return np.searchsorted(ends, np.arange(1, len(text) + 1), side="right").tolist()


@pytest.mark.parametrize("text", TEXTS)
def test_fast_ends_agree_with_sentencepiece_offsets(text):
    tok = load_tokenizer(str(LLAMA))
    fast = tok.encode_batch([text])[0]
    exact = tok._encode_exact(text)
    assert fast.ids.tolist() == exact.ids.tolist() == tok.processor.encode(text)
    assert _tokens_before_each_char(text, fast.ends) == _tokens_before_each_char(text, exact.ends)
    assert fast.ends[-1] == len(text)


def test_byte_fallback_character_ends_after_its_last_byte():
    tok = load_tokenizer(str(LLAMA))
    enc = tok.encode_batch(["龘a"])[0]  # "▁" then three byte pieces (not in the 32k vocabulary) then "a"
    assert [tok.processor.id_to_piece(int(i)) for i in enc.ids] == ["▁", "<0xE9>", "<0xBE>", "<0x98>", "a"]
    assert enc.ends.tolist() == [0, 1, 1, 1, 2]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80))
@example("ír")  # the dummy "▁" then "ír": SentencePiece gives "▁" offsets (0, 0); so does the fast path
def test_fast_ends_agree_with_offsets_on_any_text(text):
    tok = load_tokenizer(str(LLAMA))
    fast, exact = tok.encode_batch([text])[0], tok._encode_exact(text)
    assert _tokens_before_each_char(text, fast.ends) == _tokens_before_each_char(text, exact.ends)


def test_hf_directory_loads_through_tokenizer_json_with_specials():
    tok = load_tokenizer(str(DEMO_HF))
    assert type(tok).__name__ == "HFTokenizer"
    assert (tok.bos_id, tok.eos_id) == (1, 2)
    enc = tok.encode_batch(["知识 graph。"])[0]
    assert np.all(np.diff(enc.ends) >= 0) and enc.ends[-1] == len("知识 graph。")
    assert tok.decode(enc.ids) == "知识 graph。"


def test_missing_tokenizer_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        load_tokenizer(str(tmp_path / "nope.model"))
    with pytest.raises(FileNotFoundError, match="no tokenizer.json"):
        load_tokenizer(str(tmp_path))


@pytest.mark.parametrize("path", [LLAMA, DEMO_HF])
def test_encode_adds_specials_only_when_asked(path):
    tok = load_tokenizer(str(path))
    texts = ["知识 graph。", ""]
    plain, framed = tok.encode(texts), tok.encode(texts, bos=True, eos=True)
    for p, f in zip(plain, framed, strict=True):
        assert p.dtype == np.int32 and f.tolist() == [tok.bos_id, *p.tolist(), tok.eos_id]
    assert tok.encode(texts, bos=True)[1].tolist() == [tok.bos_id]


def test_int_list_fallback_gives_the_same_ids():
    tok = load_tokenizer(str(LLAMA))
    lists = dataclasses.replace(tok, numpy_out=False)  # sentencepiece 0.2.0 has no numpy output
    for a, b in zip(tok.encode(TEXTS, eos=True), lists.encode(TEXTS, eos=True), strict=True):
        assert a.dtype == b.dtype == np.int32 and a.tolist() == b.tolist()


@pytest.mark.parametrize("path", [LLAMA, DEMO_HF / "tokenizer.json"])
@pytest.mark.parametrize("text", ["Paris", " Paris", "北京\n", "\nx", "### Response:\n", "😀 ok"])
def test_continuation_drops_only_the_dummy_prefix(path, text):
    """Text that follows other text gets no dummy "▁": its ids are those it has inside a longer encoding."""
    tok = load_tokenizer(str(path))
    (cont,) = tok.encode_continued([text])
    # inside a longer text after a newline (newline pieces never merge with what follows in these models)
    whole = tok.encode(["\n" + text])[0].tolist()
    lead = tok.encode(["\n"])[0].tolist()
    assert whole[: len(lead)] == lead and cont.tolist() == whole[len(lead):]
    assert cont.dtype == np.int32 and tok.decode(cont).lstrip(" ") == text.lstrip(" ")


def test_continuation_without_a_dummy_prefix_is_the_plain_encoding():
    tok = load_tokenizer(str(DEMO_HF.parent / "llama-hf"))  # converted with prepend_scheme "never"
    texts = ["Paris", " Paris", "北京\n"]
    assert [a.tolist() for a in tok.encode_continued(texts)] == [a.tolist() for a in tok.encode(texts)]
def test_long_text_in_pieces_gives_the_whole_texts_ids(monkeypatch):
    # Issue 23: a 50 MB document took 2.4 GB inside SentencePiece's Encode. With a small piece size
    # every kind of gap is cut many times; the ids, with and without specials, must not change.
    from corpus.tokenizers import load

    tok = load_tokenizer(str(LLAMA))
    assert tok.chunkable
    rng = np.random.default_rng(1)
    words = ["The", "end.", "中文", "词", "2023", "年", "🙂", "ír", "a\u2581b", "x", "\n", "  ", "Hello,", "\t"]
    text = " ".join(rng.choice(words, 6000).tolist())
    whole = tok.processor.encode(text, add_bos=True, add_eos=True)
    monkeypatch.setattr(load, "LONG_TEXT_CHARS", 64)
    assert tok.encode([text, "short one"], bos=True, eos=True)[0].tolist() == whole
    assert tok.encode([text])[0].tolist() == whole[1:-1]
    cjk = "中文没有空格" * 100  # no gap to cut at: encoded whole
    assert tok.encode([cjk])[0].tolist() == tok.processor.encode(cjk)
    (enc,) = tok.encode_batch([text])
    assert int(enc.ends[-1]) == len(text)
