"""Instruction selection in the manner of EasyInstruct's selectors, with every drop explained.

Per record: malformed, empty instruction/output, input == output, truncated output, refusal, length
bounds, language, MTLD lexical diversity (McCarthy & Jarvis 2010). Over the set, in input order: exact
and MinHash-LSH near-duplicate prompts (``corpus.dedup`` shingles, signatures and banding, verified by
exact shingle Jaccard), then ROUGE-L F1 against already kept prompts (EasyInstruct's RougeSelector,
LCS over words, CJK per character). LLM scoring and perplexity selectors are left out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from corpus.dedup.exact import text_hash
from corpus.dedup.lsh import LSHSettings, band_keys, bucket_pairs
from corpus.dedup.minhash import MinHasher
from corpus.dedup.near import id_hash
from corpus.dedup.shingle import hash_shingles
from corpus.records import reject
from corpus.shards import write_bytes_atomic
from corpus.text import EAST_ASIAN
from instruct.sft.io import Conversation, read_records, register_dataset, to_conversation, write_records

STAGE = "sft-select"
BAD_RECORD = "bad_record"
EMPTY_INSTRUCTION = "empty_instruction"
EMPTY_OUTPUT = "empty_output"
INPUT_EQUALS_OUTPUT = "input_equals_output"
TRUNCATED_OUTPUT = "truncated_output"
REFUSAL = "refusal"
INSTRUCTION_TOO_SHORT = "instruction_too_short"
INSTRUCTION_TOO_LONG = "instruction_too_long"
OUTPUT_TOO_SHORT = "output_too_short"
OUTPUT_TOO_LONG = "output_too_long"
WRONG_LANGUAGE = "wrong_language"
LOW_MTLD = "low_mtld"
HIGH_MTLD = "high_mtld"
EXACT_DUPLICATE = "exact_duplicate"
NEAR_DUPLICATE = "near_duplicate"
ROUGE_SIMILAR = "rouge_similar"

COMPARE = ("prompt", "record")

_CJK = EAST_ASIAN.char_class
# One token per CJK character, one per run of other word characters (the unit of every length here).
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_LETTER = re.compile(r"[^\W\d_]")
# Refusals and AI disclaimers seen in distilled instruction data (ShareGPT/Alpaca-GPT4 cleaning lists);
# matched in the first REFUSAL_WINDOW characters of the answer only, so a quoted phrase later is fine.
REFUSAL_PATTERNS = (
    r"\bas an ai(?: language)? model\b",
    r"\bi(?:'m| am) (?:sorry|afraid),? but (?:i|as)\b",
    r"\bi (?:can(?:'|no)t|cannot|am unable to|won't) (?:help|assist|provide|comply)",
    r"作为一个?(?:人工智能|ai|AI|语言模型)",
    r"(?:抱歉|对不起)[，,]?\s*我(?:无法|不能|没有办法)",
    r"我(?:无法|不能)(?:提供|回答|协助)",
)
REFUSAL_WINDOW = 200


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens, one per CJK character: the unit of lengths, MTLD and ROUGE-L."""
    return _TOKEN.findall(text.lower())


def detect_language(text: str, *, min_letters: int = 20) -> str:
    """``zh`` when CJK is at least 30% of the letters, else py3langid's guess; ``und`` for short text.

    langid is unreliable on a dozen letters, so texts under ``min_letters`` letters are not judged.
    """
    letters = len(_LETTER.findall(text))
    if letters == 0:
        return "und"
    if len(_CJK_CHAR.findall(text)) / letters >= 0.3:
        return "zh"
    if letters < min_letters:
        return "und"
    from corpus.filters.langid import detect

    return detect(text)[0]


def mtld(words: Sequence[str], threshold: float = 0.72) -> float:
    """Measure of Textual Lexical Diversity (McCarthy & Jarvis 2010), as ``lexicalrichness`` computes it.

    Walk the words keeping a running type-token ratio; each time it falls to ``threshold`` a factor
    ends and the count restarts. The rest adds a partial factor (1 - ttr) / (1 - threshold).
    MTLD = words / factors, averaged over the forward and the reversed text. 0.0 for no words.
    """
    if not words:
        return 0.0

    def one_way(seq: Sequence[str]) -> float:
        terms: set[str] = set()
        count, factors, ttr = 0, 0.0, 1.0
        for word in seq:
            count += 1
            terms.add(word)
            ttr = len(terms) / count
            if ttr <= threshold:
                count, terms = 0, set()
                factors += 1
        if count:
            factors += (1 - ttr) / (1 - threshold)
        if factors == 0:  # every word distinct: the whole text is one factor
            whole = len(set(words)) / len(words)
            factors = 1.0 if whole == 1 else (1 - whole) / (1 - threshold)
        return len(seq) / factors

    return (one_way(words) + one_way(words[::-1])) / 2


def _lcs_masks(seq: Sequence[str]) -> dict[str, int]:
    masks: dict[str, int] = {}
    for i, tok in enumerate(seq):
        masks[tok] = masks.get(tok, 0) | (1 << i)
    return masks


def lcs_length(a: Sequence[str], b: Sequence[str], masks: dict[str, int] | None = None) -> int:
    """Length of the longest common subsequence, bit-parallel (Allison & Dix 1986; Hyyrö 2004).

    ``v`` holds one bit per position of ``a``; after scanning ``b`` the number of zero bits among
    the low ``len(a)`` bits is the LCS length. One big-int add/sub/or per token of ``b``.
    """
    if not a or not b:
        return 0
    masks = _lcs_masks(a) if masks is None else masks
    full = (1 << len(a)) - 1
    v = full
    for tok in b:
        u = v & masks.get(tok, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def rouge_l(a: Sequence[str], b: Sequence[str]) -> float:
    """ROUGE-L F1 (beta = 1, as rouge-score's ``rougeL`` fmeasure) of two token lists."""
    lcs = lcs_length(a, b)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(b), lcs / len(a)
    return 2 * precision * recall / (precision + recall)


def exact_key(*texts: str) -> tuple[int, ...]:
    """What exact duplicates share: ``corpus.dedup.exact.text_hash`` of each text (NFKC, lower case, runs
    of white space as one space), so two records differing only in case or spacing are duplicates."""
    return tuple(text_hash(text) for text in texts)


def prompt_text(conv: Conversation) -> str:
    """All user text of a conversation (instruction and input): what duplicates are judged on."""
    return "\n".join(conv.user_text(k) for k in range(len(conv.turns)))


def response_text(conv: Conversation) -> str:
    """All assistant text of a conversation."""
    return "\n".join(answer for _, answer in conv.turns)


@dataclass(frozen=True, kw_only=True)
class SelectSettings:
    """Thresholds; ``None`` switches a rule off. Lengths count ``tokens`` (a word or a CJK character).

    EasyInstruct's defaults are instruction 3–150 and response 1–350 whitespace words, MTLD 8–22 and
    ROUGE-L 0.7. Ours keep the ROUGE-L value but widen lengths (IE instructions carry a schema and a text)
    and apply MTLD only as a floor on answers of ``mtld_min_tokens`` or more, where it flags loops
    ("好的好的好的..."); EasyInstruct's 22 ceiling would drop most long, rich answers.
    """

    min_instruction_tokens: int | None = 2
    max_instruction_tokens: int | None = 2048
    min_output_tokens: int | None = 1
    max_output_tokens: int | None = 4096
    languages: tuple[str, ...] | None = ("zh", "en")
    mtld_threshold: float = 0.72  # McCarthy & Jarvis's factor TTR, lexicalrichness's default
    min_mtld: float | None = 10.0
    max_mtld: float | None = None
    mtld_min_tokens: int = 30  # MTLD needs enough words to be stable (the paper asks for 100+)
    exact_dedup: bool = True
    near_threshold: float | None = 0.8  # Jaccard of prompt shingle sets
    # Instructions are short: 3-grams (words or CJK characters) instead of the corpus' 5-grams, so a
    # one-word edit in a 10-word instruction still leaves most shingles shared.
    near_ngram: int = 3
    num_perm: int = 128
    seed: int = 1
    rouge_threshold: float | None = 0.7
    refusals: bool = True
    # What the set-level rules compare: "prompt" (instruction + input, EasyInstruct's choice) or
    # "record" (prompt and answer). IE sets repeat one long template with a schema, and IEPile asks the
    # same text with several schema batches, so for them use "record" and switch ROUGE-L off.
    compare: str = "prompt"

    def __post_init__(self) -> None:
        if self.compare not in COMPARE:
            raise ValueError(f"compare must be one of {COMPARE}, got {self.compare!r}")


def check_record(conv: Conversation, s: SelectSettings) -> tuple[tuple[str, Any, Any] | None, dict[str, Any]]:
    """((reason, value, threshold) of the first per-record rule ``conv`` breaks, or None; scores so far)."""
    prompt, response = prompt_text(conv), response_text(conv)
    p_tok, r_tok = tokens(prompt), tokens(response)
    # A non-blank text of symbols only ("[]", the IE answer "nothing found") still counts as one token.
    p_len, r_len = len(p_tok) or int(bool(prompt.strip())), len(r_tok) or int(bool(response.strip()))
    scores: dict[str, Any] = {"instruction_tokens": p_len, "output_tokens": r_len}
    if not prompt.strip():
        return (EMPTY_INSTRUCTION, 0, None), scores
    if any(not answer.strip() for _, answer in conv.turns):
        return (EMPTY_OUTPUT, 0, None), scores
    if conv.first_input.strip() and conv.first_input.strip() == conv.turns[0][1].strip():
        return (INPUT_EQUALS_OUTPUT, None, None), scores
    last = response.rstrip()
    if last.endswith((":", "：")):
        return (TRUNCATED_OUTPUT, "ends_with_colon", None), scores
    if last.count("```") % 2:
        return (TRUNCATED_OUTPUT, "unclosed_code_fence", None), scores
    if s.refusals:
        head = response[:REFUSAL_WINDOW].lower()
        for pattern in REFUSAL_PATTERNS:
            if re.search(pattern, head):
                return (REFUSAL, pattern, None), scores
    for value, low, high, r_low, r_high in (
        (p_len, s.min_instruction_tokens, s.max_instruction_tokens, INSTRUCTION_TOO_SHORT, INSTRUCTION_TOO_LONG),
        (r_len, s.min_output_tokens, s.max_output_tokens, OUTPUT_TOO_SHORT, OUTPUT_TOO_LONG),
    ):
        if low is not None and value < low:
            return (r_low, value, low), scores
        if high is not None and value > high:
            return (r_high, value, high), scores
    if s.languages:
        # The prompt only: answers are often code, lists or numbers, on which langid guesses wildly.
        lang = detect_language(prompt)
        scores["lang"] = lang
        if lang != "und" and lang not in s.languages:
            return (WRONG_LANGUAGE, lang, list(s.languages)), scores
    if len(r_tok) >= s.mtld_min_tokens:
        score = round(mtld(r_tok, s.mtld_threshold), 3)
        scores["mtld"] = score
        if s.min_mtld is not None and score < s.min_mtld:
            return (LOW_MTLD, score, s.min_mtld), scores
        if s.max_mtld is not None and score > s.max_mtld:
            return (HIGH_MTLD, score, s.max_mtld), scores
    return None, scores


def _near_duplicate_pairs(texts: Sequence[str], keys: Sequence[str], s: SelectSettings) -> list[tuple[int, int, float]]:
    """(i, j, jaccard) with i < j for prompts whose shingle-set Jaccard is at least ``near_threshold``.

    Candidates come from MinHash LSH banding (``corpus.dedup``); each is verified on the exact
    shingle sets, so the result does not depend on MinHash estimation noise.
    """
    if len(texts) < 2:
        return []
    batch = hash_shingles(texts, ngram_cjk=s.near_ngram, ngram_words=s.near_ngram)
    lsh = LSHSettings.derive(threshold=s.near_threshold, num_perm=s.num_perm)
    sig = MinHasher(num_perm=s.num_perm, seed=s.seed, mode="classic").signatures(batch)
    bands = band_keys(sig, lsh.bands, lsh.rows)
    order_key = np.array([id_hash(k) for k in keys], dtype=np.uint64)
    pairs = np.unique(np.concatenate([bucket_pairs(bands[b], order_key) for b in range(lsh.bands)]), axis=0)
    out = []
    for i, j in pairs.tolist():
        a, b = set(batch.doc(i).tolist()), set(batch.doc(j).tolist())
        jac = len(a & b) / len(a | b) if a or b else 1.0
        if jac >= s.near_threshold:
            out.append((i, j, jac))
    return out


def select_records(
    rows: Sequence[dict[str, Any]], settings: SelectSettings
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Split ``rows`` into (kept, rejected with ``meta.reject``, per-record scores in input order).

    The first rule a record breaks names its reason; set-level rules compare a record only with
    records kept before it, so the earliest of a duplicate group survives.
    """
    verdict: list[tuple[str, Any, Any, dict[str, Any]] | None] = [None] * len(rows)
    scores: list[dict[str, Any]] = [{} for _ in rows]
    convs: list[Conversation | None] = []
    for n, row in enumerate(rows):
        try:
            conv = to_conversation(row)
        except (ValueError, KeyError, TypeError) as exc:
            convs.append(None)
            verdict[n] = (BAD_RECORD, str(exc), None, {})
            continue
        convs.append(conv)
        failure, scores[n] = check_record(conv, settings)
        if failure is not None:
            verdict[n] = (*failure, {})

    def alive() -> list[int]:
        return [n for n in range(len(rows)) if verdict[n] is None]

    def compared(conv: Conversation) -> str:
        text = prompt_text(conv)
        return text if settings.compare == "prompt" else text + "\n" + response_text(conv)

    prompts = {n: compared(convs[n]) for n in alive()}
    if settings.exact_dedup:
        first: dict[tuple[int, ...], int] = {}
        for n in alive():
            h = exact_key(prompts[n])
            if h in first:
                verdict[n] = (EXACT_DUPLICATE, None, None, {"kept_index": first[h]})
            else:
                first[h] = n
    if settings.near_threshold is not None:
        live = alive()
        pairs = _near_duplicate_pairs([prompts[n] for n in live], [f"{n}" for n in live], settings)
        neighbours: dict[int, list[tuple[int, float]]] = {}
        for i, j, jac in pairs:
            neighbours.setdefault(live[j], []).append((live[i], jac))
        for n in live:  # in input order, so an earlier record is decided before a later one
            for m, jac in sorted(neighbours.get(n, [])):
                if verdict[m] is None:
                    verdict[n] = (NEAR_DUPLICATE, round(jac, 4), settings.near_threshold, {"kept_index": m})
                    break
    if settings.rouge_threshold is not None:
        kept: list[tuple[int, list[str], dict[str, int]]] = []
        for n in alive():
            toks = tokens(prompts[n])
            best, best_m = 0.0, None
            for m, other, masks in kept:
                # F1 <= 2 * min(len) / (len_a + len_b): skip pairs whose lengths alone rule them out.
                if 2 * min(len(toks), len(other)) / max(len(toks) + len(other), 1) <= best:
                    continue
                lcs = lcs_length(other, toks, masks) if toks else 0
                f1 = 2 * lcs / (len(toks) + len(other)) if lcs else 0.0
                if f1 > best:
                    best, best_m = f1, m
            scores[n]["rouge_l_max"] = round(best, 4)
            if best > settings.rouge_threshold:
                verdict[n] = (ROUGE_SIMILAR, round(best, 4), settings.rouge_threshold, {"kept_index": best_m})
            else:
                kept.append((n, toks, _lcs_masks(toks)))

    kept_rows, rejected = [], []
    for n, row in enumerate(rows):
        if verdict[n] is None:
            kept_rows.append(row)
            continue
        reason, value, threshold, extra = verdict[n]
        details = {k: v for k, v in extra.items() if k == "kept_index"}
        if "kept_index" in details:
            details["kept_id"] = rows[details["kept_index"]].get("id")
        out = reject(dict(row, meta=dict(row.get("meta") or {})), stage=STAGE, reason=reason, value=value,
                     threshold=threshold, index=n, **details)
        out["meta"]["scores"] = scores[n]
        rejected.append(out)
    return kept_rows, rejected, scores


def select_file(input_path: Path, output_dir: Path, settings: SelectSettings, *,
                dataset_name: str | None = None) -> dict[str, Any]:
    """Select one file into ``output_dir``: kept rows under the input's file name, ``rejected.jsonl``,
    ``scores.jsonl`` (one line per input record), ``_stats.json`` and a LLaMA-Factory
    ``dataset_info.json`` entry for the kept file named ``dataset_name`` (default: the input's stem,
    e.g. ``alpaca_zh`` for ``alpaca_zh.json``); returns the stats.

    Raises if the counts do not add up, so a selection never loses a record silently.
    """
    rows = read_records(input_path)
    kept, rejected, scores = select_records(rows, settings)
    by_reason = Counter(r["meta"]["reject"]["reason"] for r in rejected)
    if len(kept) + len(rejected) != len(rows):
        raise AssertionError(f"selection lost records: {len(rows)} in, {len(kept)} kept, {len(rejected)} rejected")
    output_dir = Path(output_dir)
    write_records(output_dir / Path(input_path).name, kept)
    name = dataset_name or Path(input_path).name.split(".")[0]
    register_dataset(output_dir, name, Path(input_path).name, kept)  # kept rows keep the input's format
    write_records(output_dir / "rejected.jsonl", rejected)
    write_records(output_dir / "scores.jsonl", ({"index": n, "id": rows[n].get("id"), **sc}
                                                 for n, sc in enumerate(scores)))
    stats = {"stage": STAGE, "input": str(input_path), "records": len(rows), "kept": len(kept),
             "rejected": len(rejected), "by_reason": dict(sorted(by_reason.items())), "dataset_name": name,
             "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(settings).items()}}
    write_bytes_atomic(output_dir / "_stats.json", orjson.dumps(stats, option=orjson.OPT_INDENT_2) + b"\n")
    return stats

