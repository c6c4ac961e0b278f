"""Plug-ins for the model steps of the published pipeline, spoken as JSON lines over stdin/stdout.

KnowLM's pipeline uses an NLI model to drop triples the text does not support, and an IE model to add
triples the graph lacks (InstructIE steps 8–9). knowforge does not depend on torch: a user runs any
command (a local model, a script calling an OpenAI-compatible server) that reads one JSON object per
line and answers with one JSON object per line:

- NLI: ``{"text", "triples": [{head, relation, tail}, ...]}`` → ``{"scores": [float, ...]}`` (entailment
  probability per triple); triples scoring at or below the threshold are dropped.
- completion: ``{"text", "cate", "schema": [relation, ...], "relation": [...]}`` → ``{"relation": [...]}``;
  a proposed triple is kept only if its relation is in the topic's schema and head and tail occur in
  the text.
"""

from __future__ import annotations

import shlex
import subprocess
from collections import Counter
from typing import Any

import orjson

from kg2instruction.schema import Schema

NLI_DROPPED = "triple_nli_below_threshold"
MODEL_ADDED = "triple_added_by_model"
MODEL_REJECTED = "triple_model_proposal_rejected"


class PluginError(RuntimeError):
    """The plug-in command died or answered something that is not the expected JSON line."""


class JsonLinesCommand:
    """A long-running command we send one JSON line to and read one JSON line back from."""

    def __init__(self, command: str):
        self.command = command
        self._proc = subprocess.Popen(
            shlex.split(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
        )

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        try:
            self._proc.stdin.write(orjson.dumps(request) + b"\n")
            self._proc.stdin.flush()
        except BrokenPipeError as err:
            raise PluginError(f"plug-in {self.command!r} exited (code {self._proc.poll()})") from err
        line = self._proc.stdout.readline()
        if not line:
            raise PluginError(f"plug-in {self.command!r} closed its output (code {self._proc.poll()})")
        try:
            answer = orjson.loads(line)
        except orjson.JSONDecodeError as err:
            raise PluginError(f"plug-in {self.command!r} answered non-JSON: {line[:200]!r}") from err
        if not isinstance(answer, dict):
            raise PluginError(f"plug-in {self.command!r} answered {type(answer).__name__}, not an object")
        return answer


def apply_scores(
    relations: list[dict[str, str]], scores: Any, threshold: float, counters: Counter
) -> list[dict[str, str]]:
    """Keep the triples whose entailment score is above ``threshold``; ``scores`` must be one number per
    triple (else :class:`PluginError`). Shared by the command plug-in and the LLM step."""
    if not isinstance(scores, list) or len(scores) != len(relations):
        raise PluginError(f"NLI must answer one score per triple ({len(relations)}), got {scores!r}")
    try:
        values = [float(score) for score in scores]
    except (TypeError, ValueError):
        raise PluginError(f"NLI scores must be numbers, got {scores!r}") from None
    kept = [r for r, score in zip(relations, values, strict=True) if score > threshold]
    counters[NLI_DROPPED] += len(relations) - len(kept)
    return kept


def nli_filter(
    command: JsonLinesCommand, text: str, relations: list[dict[str, str]], threshold: float, counters: Counter
) -> list[dict[str, str]]:
    """Keep the triples whose entailment score is above ``threshold``."""
    if not relations:
        return relations
    triples = [{k: r[k] for k in ("head", "relation", "tail")} for r in relations]
    scores = command.ask({"text": text, "triples": triples}).get("scores")
    return apply_scores(relations, scores, threshold, counters)


def merge_proposals(
    proposals: Any, text: str, topic: str, relations: list[dict[str, str]], schema: Schema, counters: Counter
) -> list[dict[str, str]]:
    """Add the proposed triples that fit the topic's schema and whose head and tail occur in ``text``;
    every other proposal is counted as rejected. Shared by the command plug-in and the LLM step."""
    rules = schema.relations[topic]
    known = {(r["head"], r["relation"], r["tail"]) for r in relations}
    types = {r["head"]: r["head_type"] for r in relations} | {r["tail"]: r["tail_type"] for r in relations}
    result = list(relations)
    for proposal in proposals if isinstance(proposals, list) else []:
        head, relation, tail = (proposal.get(k) if isinstance(proposal, dict) else None
                                for k in ("head", "relation", "tail"))
        rule = rules.get(relation) if isinstance(relation, str) else None
        if (
            rule is None
            or not isinstance(head, str) or not isinstance(tail, str)
            or head not in text or tail not in text
            or (head, relation, tail) in known
        ):
            counters[MODEL_REJECTED] += 1
            continue
        known.add((head, relation, tail))
        result.append({
            "head": head, "head_type": types.get(head) or sorted(rule.head_types)[0],
            "relation": relation,
            "tail": tail, "tail_type": types.get(tail) or sorted(rule.tail_types)[0],
        })
        counters[MODEL_ADDED] += 1
    return result


def complete_triples(
    command: JsonLinesCommand,
    text: str,
    topic: str,
    relations: list[dict[str, str]],
    schema: Schema,
    counters: Counter,
) -> list[dict[str, str]]:
    """Add the model's proposed triples that fit the topic's schema and occur in the text."""
    answer = command.ask({"text": text, "cate": topic, "schema": sorted(schema.relations[topic]),
                          "relation": relations})
    return merge_proposals(answer.get("relation") or [], text, topic, relations, schema, counters)
