"""The checked builder (corpus/builder.py): YAML lists reach ``tuple[...]`` fields as tuples, and a list and
the tuple it becomes make the same stage fingerprint, so no stage converts its own fields."""

from __future__ import annotations

import dataclasses

import pytest

from corpus.builder import as_declared, tuple_fields
from corpus.fingerprint import stage_parts
from corpus.readers.wiki import WikiReader
from corpus.steps import build_reader, build_step


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Shapes:
    plain: tuple[str, ...] = ()
    optional: tuple[float, ...] | None = None
    either: tuple[str, ...] | list[str] = ()
    items: list[str] = dataclasses.field(default_factory=list)
    text: str = ""


def test_tuple_fields_are_the_tuple_annotations_alone_or_with_none():
    assert tuple_fields(_Shapes) == {"plain", "optional"}


def test_only_lists_for_tuple_fields_are_converted():
    given = {"plain": ["a"], "optional": [0.5], "either": ["b"], "items": ["c"], "text": "d"}
    assert as_declared(_Shapes, given) == {"plain": ("a",), "optional": (0.5,), "either": ["b"],
                                           "items": ["c"], "text": "d"}
    assert type(as_declared(_Shapes, given)["either"]) is list  # a union with list takes either as given
    assert as_declared(_Shapes, {"optional": None}) == {"optional": None}


@pytest.mark.parametrize(("build", "name", "options", "key", "expected"), [
    (build_reader, "wiki", {"namespaces": [0, 14]}, "namespaces", (0, 14)),
    (build_reader, "wiki", {"disambiguation_templates": ["dab"]}, "disambiguation_templates", ("dab",)),
    (build_step, "merge", {"format": "knowlm", "types": ["zh", "en"]}, "types", ("zh", "en")),
    (build_step, "score", {"buckets": ["head", "tail"]}, "buckets", ("head", "tail")),
    (build_step, "dedup", {"source_priority": ["wiki"]}, "source_priority", ("wiki",)),
])
def test_yaml_lists_reach_the_stage_as_tuples_with_the_same_fingerprint(build, name, options, key, expected):
    stage = build(name, options)
    assert getattr(stage, key) == expected and type(getattr(stage, key)) is tuple
    # What a marker records is the same for the list as for the tuple, so no shard is redone.
    as_list = dataclasses.replace(stage, **options)
    assert type(getattr(as_list, key)) is list
    assert stage_parts(as_list)["options"] == stage_parts(stage)["options"]


def test_the_kg2instruction_step_takes_any_sequence_of_languages():
    from kg2instruction.stage import KG2InstructionStep

    assert KG2InstructionStep(kb="kb.sqlite", langs=["zh", "en"]).langs == ["zh", "en"]
    with pytest.raises(ValueError, match="langs must be"):
        KG2InstructionStep(kb="kb.sqlite", langs=["fr"])


def test_the_wiki_reader_derives_what_it_needs_without_rewriting_its_fields():
    reader = WikiReader(namespaces=["0", 14])
    assert reader.namespaces == ["0", 14]  # the option as given, which is what its fingerprint records
    assert reader._namespace_set == frozenset({0, 14})
