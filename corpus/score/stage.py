"""The ``score`` stage: perplexity of each document under our character n-gram models into
``meta["scores"]``, and optionally CCNet-style quality buckets (Wenzek et al. 2020, §3.3: head, middle,
tail by per-language perplexity quantiles) written as separate shard sets ``OUT/head``, ``OUT/middle``...
Quantile boundaries come from one global ``prepare`` pass over all shards (``corpus.globalstep``).
Left out: fastText classifiers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from corpus.contract import ShardMap
from corpus.globalstep import CountThenFilter, global_step, stacked, valid_docs
from corpus.records import rejection
from corpus.resources import shipped
from corpus.schema import conform_doc
from corpus.score.ngram import PerplexityModels, guess_lang, train_models

if TYPE_CHECKING:
    from corpus.score.kenlm_models import KenLMModels
from corpus.shards import DEFAULT_SUFFIX, ShardWriter, atomic_path, read_docs, shard_name, write_bytes_atomic

DEFAULT_MODEL = shipped("data_samples/score/char-ngram.json.gz")
SCORERS = ("ppl",)
# What `score-train` writes (train_from_shards' fmt): our Witten-Bell models as one .json.gz, or a directory
# of modified Kneser-Ney ARPA models for KenLM (corpus.score.arpa).
MODEL_FORMATS = ("json", "arpa")
STATE_DIR = "_score"
BOUNDARIES_FILE = "boundaries.json"
SCORE_KEY = "ppl"  # meta["scores"]["ppl"]: per-character perplexity, lower = closer to the reference

UNSCORED = "unscored"  # the shard set (with buckets) of documents that could not be scored

# Why a document has no score (counters and meta["score_skipped"]; such documents are kept, not rejected).
NO_MODEL = "score_no_model"  # the document's language has no model in the file
EMPTY_TEXT = "score_empty_text"  # nothing to score after normalisation


def doc_lang(doc: dict[str, Any]) -> str:
    """``meta["lang"]`` when a reader or langid set it (first two letters), else :func:`guess_lang`."""
    lang = (doc.get("meta") or {}).get("lang")
    return str(lang)[:2].lower() if lang else guess_lang(doc["text"])


def load_models(path: Path) -> PerplexityModels | KenLMModels:
    """The models at ``path``: a directory of KenLM models (ARPA or binary, see
    :mod:`corpus.score.kenlm_models`) or a ``.json.gz`` file of our character n-gram models."""
    if path.is_dir():
        from corpus.score.kenlm_models import KenLMModels

        return KenLMModels.load(path)
    return PerplexityModels.load(path)


def score_doc(models: PerplexityModels | KenLMModels, doc: dict[str, Any]) -> tuple[str, float | None, str | None]:
    """(language, perplexity or None, reason when None) for one document."""
    lang = doc_lang(doc)
    if lang not in models.models:
        return lang, None, NO_MODEL
    ppl = models.perplexity(doc["text"], lang)
    return lang, ppl, None if ppl is not None else EMPTY_TEXT


def score_shard(shard: Path, *, state_dir: Path, model_path: Path, force: bool) -> Path:
    """Score the valid documents of ``shard`` into ``state_dir/<shard>.npz`` (``ppl`` NaN when unscored);
    reused on rerun, so a killed ``prepare`` resumes."""
    out = state_dir / f"{shard_name(shard)}.npz"
    if out.exists() and not force:
        return out
    models = load_models(model_path)
    langs, ppls = [], []
    for doc in valid_docs(shard):  # position n: the n-th document the per-shard pass is given
        lang, ppl, _ = score_doc(models, doc)
        langs.append(lang)
        ppls.append(np.nan if ppl is None else ppl)
    with atomic_path(out) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, langs=np.asarray(langs, dtype=str), ppl=np.asarray(ppls, dtype=np.float64))
    return out


def quantile_boundaries(langs: np.ndarray, ppl: np.ndarray, quantiles: tuple[float, ...]) -> dict[str, list[float]]:
    """Per language, the perplexities at ``quantiles`` of its scored documents (linear interpolation)."""
    result: dict[str, list[float]] = {}
    for lang in sorted(set(langs.tolist())):
        values = ppl[(langs == lang) & ~np.isnan(ppl)]
        if len(values):
            result[lang] = [float(v) for v in np.quantile(values, quantiles)]
    return result


def bucket_of(ppl: float, boundaries: list[float], names: tuple[str, ...]) -> str:
    """The bucket of a perplexity: ``names[i]`` for the i-th interval; a value equal to a boundary goes
    to the better (lower-perplexity) side."""
    return names[int(np.searchsorted(np.asarray(boundaries), ppl, side="left"))]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ScoreStep(CountThenFilter):
    """Score documents by perplexity; with ``buckets`` also split them into shard sets by quantile.

    A sink in the runner's terms (it writes its own shards): without buckets, ``OUT/<shard>.jsonl.zst``
    like any stage; with buckets ``head,middle,tail``, ``OUT/head/<shard>.jsonl.zst`` and so on, the
    lowest-perplexity third per language in ``head``. ``quantiles`` default to equal parts, CCNet's split.
    Options are kept as given (``buckets`` may be ``"head,middle,tail"``); ``bucket_names`` and
    ``cut_points`` are what they mean.
    """

    name: ClassVar[str] = "score"

    scorer: str = "ppl"
    # A .json.gz file of `knowforge corpus score-train`, or a directory of KenLM models (ARPA or binary,
    # e.g. CCNet's lm_sp/ or `score-train --format arpa`).
    model: str = str(DEFAULT_MODEL)
    buckets: tuple[str, ...] | None = None  # e.g. ("head", "middle", "tail"); None: score only
    quantiles: tuple[float, ...] | None = None  # len(buckets) - 1 cut points; None: equal parts

    def __post_init__(self) -> None:
        if self.scorer not in SCORERS:
            raise ValueError(f"scorer must be one of {SCORERS} (no fastText classifier in this build)")
        names = self.bucket_names
        if names is not None:
            if len(names) < 2 or len(set(names)) != len(names):
                raise ValueError("buckets needs at least two distinct names, e.g. head,middle,tail")
            q = self.cut_points
            if len(q) != len(names) - 1 or list(q) != sorted(q) or not all(0 < x < 1 for x in q):
                raise ValueError(f"quantiles must be {len(names) - 1} increasing numbers in (0, 1)")
        if not Path(self.model).exists():
            raise ValueError(f"no model file {self.model}; train one with `knowforge corpus score-train`")
        if Path(self.model).is_dir():
            load_models(Path(self.model))  # a directory must hold KenLM models (cheap: files are found, not read)

    @property
    def bucket_names(self) -> tuple[str, ...] | None:
        """The bucket names, in order from lowest perplexity (``buckets`` as a list, or its comma-separated text)."""
        if isinstance(self.buckets, str):
            return tuple(b.strip() for b in self.buckets.split(",") if b.strip())
        return None if self.buckets is None else tuple(self.buckets)

    @property
    def cut_points(self) -> tuple[float, ...]:
        """The quantiles between buckets: ``quantiles``, or equal parts (CCNet's split) when not given."""
        names = self.bucket_names
        if self.quantiles is not None:
            return tuple(self.quantiles)
        n = len(names) if names else 0
        return tuple(i / n for i in range(1, n))

    def prepare(self, shards: list[Path], output: Path, *, each: ShardMap, force: bool):
        """With buckets: score every shard once (``each``, resumable) and fix each language's quantile boundaries."""
        names = self.bucket_names
        if names is None:
            return self
        state = output / STATE_DIR

        def decide(files: list[Path]) -> None:
            rows, _ = stacked(files, ("langs", "ppl"))
            langs, ppl = rows["langs"], rows["ppl"]
            boundaries = quantile_boundaries(langs, ppl, self.cut_points)
            counts = {lang: int(((langs == lang) & ~np.isnan(ppl)).sum()) for lang in boundaries}
            model_langs = sorted(load_models(Path(self.model)).models)
            summary = {"buckets": list(names), "quantiles": list(self.cut_points),
                       "boundaries": boundaries, "documents": counts, "model_langs": model_langs}
            write_bytes_atomic(state / BOUNDARIES_FILE, json.dumps(summary, indent=2).encode("utf-8"))

        count = partial(score_shard, state_dir=state, model_path=Path(self.model), force=force)
        return global_step(self, shards, state=state, each=each, count=count, decide=decide, desc="perplexity")

    def _scored(self, docs: Iterable[dict[str, Any]], counters: Counter) -> Iterator[tuple[dict[str, Any], str]]:
        """Yield (document with its score, bucket name); unscored documents get :data:`UNSCORED`."""
        names = self.bucket_names
        if names is None:
            models = load_models(Path(self.model))
            for doc in docs:
                lang, ppl, why = score_doc(models, doc)
                yield self._record(doc, lang, ppl, why, counters), UNSCORED
            return
        state, shard = self.bound()
        z = np.load(state / f"{shard}.npz")
        summary = json.loads((state / BOUNDARIES_FILE).read_text(encoding="utf-8"))
        boundaries, known = summary["boundaries"], set(summary["model_langs"])
        for doc, lang, ppl in zip(docs, z["langs"].tolist(), z["ppl"].tolist(), strict=True):
            if ppl != ppl:  # NaN: prepare() could not score it
                yield self._record(doc, lang, None, NO_MODEL if lang not in known else EMPTY_TEXT, counters), UNSCORED
                continue
            doc = self._record(doc, lang, ppl, None, counters)
            bucket = bucket_of(ppl, boundaries[lang], names)
            doc["meta"]["bucket"] = bucket
            counters[f"bucket_{lang}_{bucket}"] += 1
            yield doc, bucket

    def _record(self, doc: dict[str, Any], lang: str, ppl: float | None, why: str | None, counters: Counter):
        scores = doc.setdefault("meta", {}).setdefault("scores", {})
        if ppl is None:
            # Scoring is not filtering: an unscorable document is kept (with the reason) and counted.
            scores[SCORE_KEY] = None
            doc["meta"]["score_skipped"] = why
            counters[why or EMPTY_TEXT] += 1
        else:
            scores[SCORE_KEY] = round(ppl, 4)
            counters[f"scored_{lang}"] += 1
        return doc

    def write_shard(self, docs: Iterator[dict[str, Any]], out_stem: Path, counters: Counter) -> None:
        """Write the scored documents of one shard: to ``OUT/<shard>`` without buckets, else to
        ``OUT/<bucket>/<shard>`` (unscorable documents to ``OUT/unscored/<shard>``). Files appear
        only when complete (``ShardWriter`` renames on close)."""
        output, name = out_stem.parent, out_stem.name
        names = self.bucket_names
        sets = (*names, UNSCORED) if names else (UNSCORED,)
        paths = {b: output / b / f"{name}{DEFAULT_SUFFIX}" for b in sets} if names else {
            UNSCORED: output / f"{name}{DEFAULT_SUFFIX}"}
        with contextlib.ExitStack() as stack:
            writers = {b: stack.enter_context(ShardWriter(path, conform=conform_doc, write_empty=False))
                       for b, path in paths.items()}
            for doc, bucket in self._scored(docs, counters):
                writers[bucket if names else UNSCORED].write(doc)


def train_from_shards(
    inputs: list[Path], output: Path, *, min_count: int = 1, max_chars: int | None = None,
    fmt: str = "json", orders: dict[str, int] | None = None, units: dict[str, str] | None = None,
) -> dict[str, str]:
    """Train the per-language models on the valid documents of the shards in ``inputs`` (directories or
    files; language from :func:`doc_lang`) and save them to ``output``: with ``fmt="json"`` our
    Witten-Bell character models in one ``.json.gz`` file, with ``fmt="arpa"`` a directory of
    modified Kneser-Ney ARPA models that KenLM reads, over the ``units`` of each language (``char`` or
``word``; ``corpus.score.arpa.DEFAULT_ARPA_UNITS``). Returns one summary line per language."""
    from corpus.shards import list_shards

    def texts() -> Iterator[tuple[str, str]]:
        for path in inputs:
            for shard in list_shards(path) if path.is_dir() else [path]:
                for doc in read_docs(shard):
                    if rejection(doc) is None and doc["text"].strip():
                        yield doc_lang(doc), doc["text"]

    if fmt == "arpa":
        from corpus.score.arpa import write_arpa_models

        def capped() -> Iterator[tuple[str, str]]:
            seen: Counter[str] = Counter()
            for lang, text in texts():
                if max_chars is None or seen[lang] < max_chars:
                    seen[lang] += len(text)
                    yield lang, text

        try:
            counts = write_arpa_models(capped(), output, orders=orders, units=units)
        except ValueError:
            raise ValueError(f"no reference text found in {', '.join(map(str, inputs))}") from None
        return {lang: ", ".join(f"{v:,} {k}" for k, v in c.items()) for lang, c in counts.items()}
    if units:
        raise ValueError("units are for --format arpa: the json models are over characters")
    if fmt != "json":  # the formats of MODEL_FORMATS, each handled above or here
        raise ValueError(f"format must be one of {', '.join(MODEL_FORMATS)}, not {fmt!r}")
    models = train_models(texts(), min_count=min_count, max_chars=max_chars, orders=orders)
    if not models.models:
        raise ValueError(f"no reference text found in {', '.join(map(str, inputs))}")
    models.save(output)
    return {lang: f"order {m.order}, {m.vocab_size} characters, {sum(len(level) for level in m.counts)} contexts"
            for lang, m in sorted(models.models.items())}
