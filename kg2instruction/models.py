"""The model steps of KG2Instruction (InstructIE steps 6, 8 and 9) against any OpenAI-compatible server
(vLLM serving OneKE, or a chat model): a topic classifier for pages the rule table leaves as "other", LLM
completion of triples the graph lacks, and an NLI filter; prompts in ``configs/prompts/kg_*.txt``.

An ``instruct.jobs`` job, as ``instruct translate`` is: one response cache for every model
(``OUT/03-models/llm-cache.sqlite``), so a rerun pays nothing twice; retries, failure reasons and the
malformed-reply re-ask are the layer's. Each paragraph ends up labelled (``part-00000.jsonl``), rejected
with its reason (``rejected/``), or in ``_failures.jsonl``, asked again on the next run. Left out: the
Batch API, and local models (the ``--nli-cmd``/``--complete-cmd`` plug-ins cover those).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import string
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from corpus.records import reject, rejection
from corpus.resources import shipped
from corpus.shards import list_shards, read_docs
from instruct.io import COMPACT, RecordWriter
from instruct.jobs import (
    Failure,
    JobOutput,
    JobReport,
    LLMJob,
    Outcome,
    ReplyError,
    RequestFailed,
    Task,
    ask_json,
    run_job,
    run_with_clients,
)
from instruct.llm import LLMClient, LLMConfig
from instruct.llm_cost import Accounting
from kg2instruction.plugins import PluginError, apply_scores, merge_proposals

PROMPTS_DIR = shipped("configs/prompts")
STAGE = "kg2instruction_models"

# Reasons: failures (the paragraph or page is asked again on the next run) and rejections (final).
REASON_MALFORMED = "kg_model_malformed_reply"  # not JSON of the asked shape after every attempt
PAGE_TOPIC_OTHER_BY_MODEL = "page_topic_other_by_model"
PARAGRAPH_NO_TRIPLES_AFTER_MODELS = "paragraph_no_triples_after_models"

# The labelled and rejected paragraphs are corpus shards (read back by ``export``): orjson lines, with
# ``corpus.shards.ShardWriter``'s ``default=str``, so the bytes are those a stage writes.
SHARD_LINES = dataclasses.replace(COMPACT, dumps=functools.partial(orjson.dumps, default=str))


@dataclasses.dataclass(kw_only=True)
class ModelReport(JobReport):
    """What the model steps did: paragraphs in, pages classified, rejections by reason and the step
    counters, beside :class:`~instruct.jobs.JobReport`'s ``written`` (paragraphs labelled) and failure
    reasons. ``requests`` holds each model's client accounting; the one-client ``accounting`` stays empty."""

    paragraphs_in: int = 0
    pages_classified: int = 0
    rejected: Counter = dataclasses.field(default_factory=Counter)
    counters: Counter = dataclasses.field(default_factory=Counter)
    requests: dict[str, Accounting] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "paragraphs_in": self.paragraphs_in, "pages_classified": self.pages_classified,
            "labelled": self.written, "rejected": dict(self.rejected), "failed": dict(self.failure_reasons),
            "counters": dict(sorted(self.counters.items())),
            "requests": {name: {"sent": a.requests, "cache_hits": a.cache_hits, "retries": a.retries,
                                "failures": a.failures} for name, a in self.requests.items()},
        }


@dataclasses.dataclass(frozen=True, kw_only=True)
class StepFailure(Failure):
    """A model step (``step``: topic, complete or nli) that gave no usable answer on ``doc``: the page for
    topic, else the paragraph."""

    step: str
    doc: dict[str, Any]


@dataclasses.dataclass(frozen=True, kw_only=True)
class PageOutcome(Outcome):
    """One input document's outcome: ``records`` are its paragraphs, labelled or rejected (``meta.reject``);
    ``paragraphs`` counts them and the failed ones: 1 for a paragraph the stage labelled, a classified
    page's paragraphs, none when the page ends at its topic (rejected or failed before it is split)."""

    paragraphs: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class ModelSteps:
    """Which models run and how to reach them; a model left ``None`` is skipped."""

    api_key: str
    base_url: str | None = None
    nli_model: str | None = None
    complete_model: str | None = None
    topic_model: str | None = None
    nli_threshold: float = 0.5  # InstructIE drops a triple whose entailment score is <= 0.5
    concurrency: int = 16
    max_attempts: int = 6
    timeout: float = 120.0
    backoff_base: float = 1.0
    parse_attempts: int = 2  # a reply that is not the asked JSON is asked again once, then failed
    window: int = 64  # paragraphs in flight; the output keeps the input order
    topic_chars: int = 1000  # the lead of the page the topic model reads
    prompts_dir: Path = PROMPTS_DIR

    def __post_init__(self) -> None:
        if not (self.nli_model or self.complete_model or self.topic_model):
            raise ValueError("ModelSteps needs at least one of nli_model, complete_model, topic_model")
        if self.parse_attempts < 1:
            raise ValueError("parse_attempts must be at least 1")

    @property
    def topic(self) -> str | None:
        return self.topic_model

    def prompt(self, name: str, **values: str) -> str:
        """``configs/prompts/kg_<name>.txt`` with ``$values`` filled in."""
        text = (self.prompts_dir / f"kg_{name}.txt").read_text(encoding="utf-8")
        return string.Template(text).substitute(values).strip()

    def run(self, step: Any, stage_dir: Path, out_dir: Path, *, progress: bool = True) -> ModelReport:
        """Run the model steps over the stage's output into ``out_dir`` (see the module docstring)."""
        (out_dir / "rejected").mkdir(parents=True, exist_ok=True)
        models = {"topic": self.topic_model, "complete": self.complete_model, "nli": self.nli_model}
        llms = {name: LLMConfig(model=model, base_url=self.base_url, concurrency=self.concurrency,
                                max_attempts=self.max_attempts, timeout=self.timeout, backoff_base=self.backoff_base)
                for name, model in models.items() if model}

        async def main(clients: dict[str, LLMClient]) -> ModelReport:
            report = ModelReport(requests={name: client.accounting for name, client in clients.items()})
            # The rejected shard is the job's third file: committed with the other two, dropped on an error.
            with RecordWriter(out_dir / "rejected" / "part-00000.jsonl", layout=SHARD_LINES) as dropped:
                job = ModelJob(self, step, stage_dir, clients, report, dropped, progress=progress)
                return await run_job(job, report, output=out_dir / "part-00000.jsonl",
                                     failures_path=out_dir / "_failures.jsonl", close=job.bar.close)

        return run_with_clients(main, llms=llms, api_key=self.api_key, cache_path=out_dir / "llm-cache.sqlite")


class ModelJob(LLMJob):
    """Every document of the stage's output, in order: a labelled paragraph goes through completion and
    NLI; a page left pending is classified first, then split into paragraphs by the stage."""

    layout = SHARD_LINES

    def __init__(self, steps: ModelSteps, step: Any, stage_dir: Path, clients: dict[str, LLMClient],
                 report: ModelReport, dropped: RecordWriter, *, progress: bool) -> None:
        from tqdm import tqdm

        self.steps = steps
        self.step = step
        self.stage_dir = stage_dir
        self.clients = clients
        self.report = report
        self.dropped = dropped
        self.window = steps.window
        self.bar = tqdm(unit="paragraph", desc="kg2instruction models", disable=not progress)

    def tasks(self) -> Iterator[Task]:
        for shard in list_shards(self.stage_dir):
            for doc in read_docs(shard):
                yield lambda doc=doc: self.process(doc)

    def advance(self, outcome: PageOutcome) -> None:
        self.report.paragraphs_in += outcome.paragraphs
        self.report.pages_classified += bool(outcome.item["meta"].get("topic_pending"))
        self.bar.update(outcome.paragraphs)

    def failure_line(self, outcome: Outcome, failure: StepFailure) -> dict[str, Any]:
        doc = failure.doc
        line = {"reason": failure.reason, "detail": failure.detail, "step": failure.step, "id": doc["id"]}
        if failure.step == "topic":
            return line | {"title": doc["meta"].get("title")}
        return line | {"page_id": doc["meta"].get("page_id"), "text": doc["text"]}

    def take(self, outcome: Outcome, out: JobOutput) -> None:
        """Failures to the failures file, labelled paragraphs to the output, rejected ones to ``rejected/``."""
        for failure in outcome.failures:
            out.fail(failure.reason, self.failure_line(outcome, failure))
        for doc in outcome.records:
            if (why := rejection(doc)) is None:
                out.write(doc)
            else:
                self.dropped.write(doc)
                self.report.rejected[why["reason"]] += 1

    async def _ask(self, name: str, system: str, user: str, parse: Callable[[Any], Any]) -> Any:
        """:func:`~instruct.jobs.ask_json` to model ``name``, failing as :data:`REASON_MALFORMED`."""
        return await ask_json(self.clients[name], system, user, parse, attempts=self.steps.parse_attempts,
                              malformed=REASON_MALFORMED)

    async def process(self, doc: dict[str, Any]) -> PageOutcome:
        """The outcome of one stage document: a labelled paragraph, or a page pending its topic."""
        meta = doc["meta"]
        if not meta.get("topic_pending"):
            return _outcome(doc, [await self.label(doc)], paragraphs=1)
        _, schema, _ = self.step.resources(meta["lang"])
        try:
            topic = await self.classify(doc, schema)
        except RequestFailed as err:
            return _outcome(doc, [StepFailure(reason=err.reason, detail=err.detail, step="topic", doc=doc)])
        if topic is None:
            page = reject({**doc, "text": doc["text"][: self.steps.topic_chars]}, stage=STAGE,
                          reason=PAGE_TOPIC_OTHER_BY_MODEL, value=self.steps.topic_model)
            return _outcome(doc, [page])
        self.report.counters[f"pages_topic_by_model:{topic}"] += 1
        results: list[dict[str, Any] | StepFailure] = []
        for para in self.step.label_page(doc, meta["lang"], topic, self.report.counters):
            if "reject" not in para["meta"]:
                para["meta"]["topic_by_model"] = self.steps.topic_model
                para = await self.label(para)
            results.append(para)
        return _outcome(doc, results, paragraphs=len(results))

    async def classify(self, doc: dict[str, Any], schema: Any) -> str | None:
        """The page's topic from the model, or None for "other"; an unknown answer is malformed."""
        names = sorted(set(schema.topics.values()))
        other = "Other" if schema.lang == "en" else "其他"
        system = self.steps.prompt("topic", topics=", ".join(names), other=other)
        user = f"Title: {doc['meta'].get('title', '')}\n\n{doc['text'][: self.steps.topic_chars]}"

        def parse(data: Any) -> str | None:
            topic = data.get("topic") if isinstance(data, dict) else None
            if topic == other:
                return None
            if topic not in names:
                raise ReplyError(f"topic must be one of {names + [other]}, got {topic!r}")
            return topic

        return await self._ask("topic", system, user, parse)

    async def label(self, para: dict[str, Any]) -> dict[str, Any] | StepFailure:
        """The paragraph with the models' triples (rejected when none is left), or the failed step."""
        meta = para["meta"]
        _, schema, _ = self.step.resources(meta.get("lang", "zh"))
        topic, text, relations = meta["cate"], para["text"], meta["relation"]
        counters = self.report.counters
        where = "complete"
        try:
            if "complete" in self.clients:
                system = self.steps.prompt("complete", topic=topic, relations=", ".join(sorted(schema.relations[topic])))
                user = json.dumps({"text": text, "relation": [_triple(r) for r in relations]}, ensure_ascii=False)

                def parse(data: Any) -> Any:
                    if not isinstance(data, dict) or not isinstance(data.get("relation"), list):
                        raise ReplyError('expected {"relation": [...]}')
                    return data["relation"]

                proposals = await self._ask("complete", system, user, parse)
                relations = merge_proposals(proposals, text, topic, relations, schema, counters)
            where = "nli"
            if "nli" in self.clients and relations:
                numbered = "\n".join(f"{i}. ({r['head']}, {r['relation']}, {r['tail']})"
                                     for i, r in enumerate(relations, 1))
                user = f"Passage:\n{text}\n\nTriples:\n{numbered}"
                current = relations

                def parse_scores(data: Any) -> Any:
                    scores = data.get("scores") if isinstance(data, dict) else None
                    try:
                        return apply_scores(current, scores, self.steps.nli_threshold, Counter())
                    except PluginError as err:  # a wrong count or a non-number: malformed, asked again
                        raise ReplyError(str(err)) from None

                relations = await self._ask("nli", self.steps.prompt("nli"), user, parse_scores)
                counters["triple_nli_below_threshold"] += len(current) - len(relations)
        except RequestFailed as err:
            return StepFailure(reason=err.reason, detail=err.detail, step=where, doc=para)
        meta["relation"] = relations
        if not relations:
            return reject(para, stage=STAGE, reason=PARAGRAPH_NO_TRIPLES_AFTER_MODELS)
        return para


def _outcome(doc: dict[str, Any], results: list[dict[str, Any] | StepFailure], *, paragraphs: int = 0) -> PageOutcome:
    """Split ``results`` into the outcome's records (labelled or rejected paragraphs) and failures."""
    return PageOutcome(item=doc, records=[r for r in results if isinstance(r, dict)],
                       failures=[r for r in results if isinstance(r, StepFailure)], paragraphs=paragraphs)


def _triple(relation: dict[str, str]) -> dict[str, str]:
    return {k: relation[k] for k in ("head", "relation", "tail")}
