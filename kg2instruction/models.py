"""The model steps of KG2Instruction through our LLM client (``instruct.llm.LLMClient``): a topic classifier
for pages the rule table leaves as "other", LLM completion of triples the graph lacks, and an NLI filter
(InstructIE steps 6, 8 and 9), against any OpenAI-compatible server (vLLM serving OneKE, or a chat model).

Every request goes through one response cache (``OUT/03-models/llm-cache.sqlite``), so a rerun pays
nothing twice and a killed run resumes; retries, rate limits and failure reasons are the client's, as for
``instruct translate``. Prompts are editable files (``configs/prompts/kg_{topic,complete,nli}.txt``). Each
input paragraph ends up labelled (``part-00000.jsonl``), rejected with its reason (``rejected/``), or listed
in ``_failures.jsonl`` with the client's or the parser's reason; a failed one is asked again on the next run.
Left out: the Batch API, and local models (the ``--nli-cmd``/``--complete-cmd`` plug-ins cover those).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import string
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from corpus.records import reject
from corpus.resources import shipped
from corpus.shards import ShardWriter, list_shards, read_docs
from instruct.generate import ReplyError, parse_json_reply
from instruct.jobs import ordered
from instruct.llm import LLMClient, LLMConfig
from instruct.llm_cache import ResponseCache
from instruct.llm_cost import Accounting
from kg2instruction.plugins import PluginError, apply_scores, merge_proposals

PROMPTS_DIR = shipped("configs/prompts")
STAGE = "kg2instruction_models"

# Reasons: failures (the paragraph or page is asked again on the next run) and rejections (final).
REASON_MALFORMED = "kg_model_malformed_reply"  # not JSON of the asked shape after every attempt
PAGE_TOPIC_OTHER_BY_MODEL = "page_topic_other_by_model"
PARAGRAPH_NO_TRIPLES_AFTER_MODELS = "paragraph_no_triples_after_models"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ModelReport:
    """What the model steps did: counts of outcomes, of reasons, and each model's request accounting."""

    paragraphs_in: int
    pages_classified: int
    labelled: int
    rejected: Counter
    failed: Counter
    counters: Counter
    accounting: dict[str, Accounting]

    def as_dict(self) -> dict[str, Any]:
        return {
            "paragraphs_in": self.paragraphs_in, "pages_classified": self.pages_classified,
            "labelled": self.labelled, "rejected": dict(self.rejected), "failed": dict(self.failed),
            "counters": dict(sorted(self.counters.items())),
            "requests": {name: {"sent": a.requests, "cache_hits": a.cache_hits, "retries": a.retries,
                                "failures": a.failures} for name, a in self.accounting.items()},
        }


@dataclasses.dataclass(kw_only=True)
class _Outcome:
    labelled: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    rejected: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    failures: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    paragraphs: int = 0  # paragraphs this outcome accounts for (a classified page brings several)
    classified: bool = False


class _Failed(Exception):
    """A model call gave no usable answer; ``reason`` is the client's (``llm_*``) or ours."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


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
        return asyncio.run(self._run(step, stage_dir, out_dir, progress))

    async def _run(self, step: Any, stage_dir: Path, out_dir: Path, progress: bool) -> ModelReport:
        from tqdm import tqdm

        (out_dir / "rejected").mkdir(parents=True, exist_ok=True)
        cache = ResponseCache(out_dir / "llm-cache.sqlite")
        models = {"topic": self.topic_model, "complete": self.complete_model, "nli": self.nli_model}
        clients = {
            name: LLMClient(LLMConfig(model=model, base_url=self.base_url, concurrency=self.concurrency,
                                      max_attempts=self.max_attempts, timeout=self.timeout,
                                      backoff_base=self.backoff_base),
                            api_key=self.api_key, cache=cache)
            for name, model in models.items() if model
        }
        counters: Counter = Counter()
        rejected: Counter = Counter()
        failed: Counter = Counter()
        labelled = paragraphs = classified = 0

        def jobs() -> Iterator[Callable[[], Awaitable[_Outcome]]]:
            for shard in list_shards(stage_dir):
                for doc in read_docs(shard):
                    yield lambda doc=doc: self._process(doc, step, clients, counters)

        bar = tqdm(unit="paragraph", desc="kg2instruction models", disable=not progress)
        try:
            with ShardWriter(out_dir / "part-00000.jsonl") as kept, \
                    ShardWriter(out_dir / "rejected" / "part-00000.jsonl") as dropped:
                failures_tmp = out_dir / "_failures.jsonl.tmp"
                with open(failures_tmp, "w", encoding="utf-8") as failures:
                    async for outcome in ordered(jobs(), self.window):
                        paragraphs += outcome.paragraphs
                        classified += outcome.classified
                        bar.update(outcome.paragraphs)
                        for doc in outcome.labelled:
                            kept.write(doc)
                            labelled += 1
                        for doc in outcome.rejected:
                            dropped.write(doc)
                            rejected[doc["meta"]["reject"]["reason"]] += 1
                        for failure in outcome.failures:
                            failures.write(json.dumps(failure, ensure_ascii=False) + "\n")
                            failed[failure["reason"]] += 1
                failures_tmp.replace(out_dir / "_failures.jsonl")
        finally:
            bar.close()
            for client in clients.values():
                await client.aclose()
            cache.close()
        return ModelReport(paragraphs_in=paragraphs, pages_classified=classified, labelled=labelled,
                           rejected=rejected, failed=failed, counters=counters,
                           accounting={name: client.accounting for name, client in clients.items()})

    async def _ask_json(self, client: LLMClient, system: str, user: str, parse: Callable[[Any], Any]) -> Any:
        """The parsed reply; raises :class:`_Failed` with the client's reason or ``REASON_MALFORMED``."""
        problem = ""
        for attempt in range(1, self.parse_attempts + 1):
            content = user if attempt == 1 else (
                f"{user}\n\n(attempt {attempt}: the previous reply was rejected ({problem}); reply with the JSON"
                " object only)")
            result = await client.chat([{"role": "system", "content": system}, {"role": "user", "content": content}])
            if not result.ok or result.text is None:
                raise _Failed(result.reason or "llm_failed", result.detail or "")
            try:
                return parse(parse_json_reply(result.text))
            except (ReplyError, PluginError) as err:
                problem = f"{err}; reply began {result.text.strip()[:80]!r}"
        raise _Failed(REASON_MALFORMED, f"after {self.parse_attempts} attempts, last: {problem}")

    async def _process(self, doc: dict[str, Any], step: Any, clients: dict[str, LLMClient],
                       counters: Counter) -> _Outcome:
        meta = doc["meta"]
        if not meta.get("topic_pending"):
            outcome = _Outcome(paragraphs=1)
            await self._paragraph(doc, step, clients, counters, outcome)
            return outcome
        outcome = _Outcome(classified=True)
        lang = meta["lang"]
        _, schema, _ = step.resources(lang)
        try:
            topic = await self._classify(doc, schema, clients["topic"])
        except _Failed as err:
            outcome.failures.append({"reason": err.reason, "detail": err.detail, "step": "topic", "id": doc["id"],
                                     "title": meta.get("title")})
            return outcome
        if topic is None:
            outcome.rejected.append(reject({**doc, "text": doc["text"][: self.topic_chars]}, stage=STAGE,
                                           reason=PAGE_TOPIC_OTHER_BY_MODEL, value=self.topic_model))
            return outcome
        counters[f"pages_topic_by_model:{topic}"] += 1
        for para in step.label_page(doc, lang, topic, counters):
            outcome.paragraphs += 1
            if "reject" in para["meta"]:
                outcome.rejected.append(para)
                continue
            para["meta"]["topic_by_model"] = self.topic_model
            await self._paragraph(para, step, clients, counters, outcome)
        return outcome

    async def _classify(self, doc: dict[str, Any], schema: Any, client: LLMClient) -> str | None:
        """The page's topic from the model, or None for "other"; an unknown answer is malformed."""
        names = sorted(set(schema.topics.values()))
        other = "Other" if schema.lang == "en" else "其他"
        system = self.prompt("topic", topics=", ".join(names), other=other)
        user = f"Title: {doc['meta'].get('title', '')}\n\n{doc['text'][: self.topic_chars]}"

        def parse(data: Any) -> str | None:
            topic = data.get("topic") if isinstance(data, dict) else None
            if topic == other:
                return None
            if topic not in names:
                raise ReplyError(f"topic must be one of {names + [other]}, got {topic!r}")
            return topic

        return await self._ask_json(client, system, user, parse)

    async def _paragraph(self, para: dict[str, Any], step: Any, clients: dict[str, LLMClient], counters: Counter,
                         outcome: _Outcome) -> None:
        meta = para["meta"]
        _, schema, _ = step.resources(meta.get("lang", "zh"))
        topic, text, relations = meta["cate"], para["text"], meta["relation"]
        where = "complete"
        try:
            if "complete" in clients:
                system = self.prompt("complete", topic=topic, relations=", ".join(sorted(schema.relations[topic])))
                user = json.dumps({"text": text, "relation": [_triple(r) for r in relations]}, ensure_ascii=False)

                def parse(data: Any) -> Any:
                    if not isinstance(data, dict) or not isinstance(data.get("relation"), list):
                        raise ReplyError('expected {"relation": [...]}')
                    return data["relation"]

                proposals = await self._ask_json(clients["complete"], system, user, parse)
                relations = merge_proposals(proposals, text, topic, relations, schema, counters)
            where = "nli"
            if "nli" in clients and relations:
                numbered = "\n".join(f"{i}. ({r['head']}, {r['relation']}, {r['tail']})"
                                     for i, r in enumerate(relations, 1))
                user = f"Passage:\n{text}\n\nTriples:\n{numbered}"
                current = relations

                def parse_scores(data: Any) -> Any:
                    scores = data.get("scores") if isinstance(data, dict) else None
                    return apply_scores(current, scores, self.nli_threshold, Counter())

                relations = await self._ask_json(clients["nli"], self.prompt("nli"), user, parse_scores)
                counters["triple_nli_below_threshold"] += len(current) - len(relations)
        except _Failed as err:
            outcome.failures.append({"reason": err.reason, "detail": err.detail, "step": where, "id": para["id"],
                                     "page_id": meta.get("page_id"), "text": text})
            return
        meta["relation"] = relations
        if not relations:
            outcome.rejected.append(reject(para, stage=STAGE, reason=PARAGRAPH_NO_TRIPLES_AFTER_MODELS))
            return
        outcome.labelled.append(para)


def _triple(relation: dict[str, str]) -> dict[str, str]:
    return {k: relation[k] for k in ("head", "relation", "tail")}
