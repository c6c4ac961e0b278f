"""IEPile's split/leftover rule, negative sampling and hard-negative (cluster) sampling."""

from __future__ import annotations

import random

import pytest

from instruct.build.sampling import (
    SchemaOptions,
    plan_chunks,
    sample_hard_negatives,
    sample_negatives,
    split_by_num,
)
from instruct.ie.record import Entity, IERecord
from instruct.ie.schema import Schema


@pytest.mark.parametrize("n,split_num,sizes", [
    (9, 4, [4, 5]),      # leftover 1 < 4 // 2 joins the last chunk
    (10, 4, [4, 4, 2]),  # leftover 2 >= 2 stands alone
    (8, 4, [4, 4]),
    (3, 4, [3]),
    (7, 6, [7]),         # leftover 1 < 3
    (9, 6, [6, 3]),
    (5, 1, [1, 1, 1, 1, 1]),
    (5, -1, [5]),
    (0, 4, []),
])
def test_split_by_num(n, split_num, sizes):
    items = [f"t{i}" for i in range(n)]
    chunks = split_by_num(items, split_num)
    assert [len(c) for c in chunks] == sizes
    assert [x for c in chunks for x in c] == items


def test_sample_negatives_rates():
    cands = [f"t{i}" for i in range(10)]
    rng = random.Random(0)
    assert sorted(sample_negatives(["t0"], cands, 1.0, rng)) == cands[1:]
    assert sample_negatives(["t0"], cands, 0.0, rng) == []
    assert len(sample_negatives([], cands, 1e-9, random.Random(1))) == 1  # no positives: at least one


def test_hard_negatives_are_cluster_plus_split_num_others():
    cands = [f"t{i}" for i in range(20)]
    hard = {"t0": ["t1", "t2"], "t5": ["t6"]}
    got = sample_hard_negatives(["t0", "t5"], cands, hard, split_num=4, neg_schema=1.0, rng=random.Random(3))
    assert got[:3] == ["t1", "t2", "t6"]
    others = got[3:]
    assert len(others) == 4 and not set(others) & {"t0", "t1", "t2", "t5", "t6"}
    # no positives: Binomial(20, 0.5) random labels, at least one
    assert 1 <= len(sample_hard_negatives([], cands, hard, 4, 1.0, random.Random(3))) <= 20


def test_plan_chunks_train_and_test():
    schema = Schema(types=tuple(f"t{i}" for i in range(9)))
    rec = IERecord(id="r", text="x", language="en", source="s", entities=(Entity(mention="x", type="t3"),))
    train = plan_chunks(rec, "ner", schema, SchemaOptions(split_num=4, negatives="binomial"), random.Random(0))
    assert [len(c) for c in train] == [4, 5] and sorted(x for c in train for x in c) == list(schema.types)
    only_pos = plan_chunks(rec, "ner", schema, SchemaOptions(negatives="binomial", neg_schema=0.0), random.Random(0))
    assert only_pos == [["t3"]]
    test = plan_chunks(rec, "ner", schema, SchemaOptions(split="test", split_num=-1), random.Random(0))
    assert test == [list(schema.types)]  # file order, full schema
    shuffled = plan_chunks(rec, "ner", schema, SchemaOptions(split_num=-1, random_sort=True, negatives="binomial"),
                           random.Random(5))
    assert sorted(shuffled[0]) == list(schema.types) and shuffled[0] != list(schema.types)


def test_sampled_negatives_are_positives_plus_split_num_others():
    """The default: a text sees its positives and split_num random other labels, not the whole schema."""
    schema = Schema(types=tuple(f"t{i:02d}" for i in range(40)))
    rec = IERecord(id="r", text="x y", language="en", source="s",
                   entities=(Entity(mention="x", type="t03"), Entity(mention="y", type="t17")))
    chunks = plan_chunks(rec, "ner", schema, SchemaOptions(split_num=4), random.Random(0))
    shown = [x for c in chunks for x in c]
    assert [len(c) for c in chunks] == [4, 2] and {"t03", "t17"} <= set(shown) and shown == sorted(shown)
    hard = {"t03": ["t04", "t05"]}
    chunks = plan_chunks(rec, "ner", schema, SchemaOptions(split_num=4, hard_negatives=hard), random.Random(0))
    shown = [x for c in chunks for x in c]
    assert {"t03", "t04", "t05", "t17"} <= set(shown) and len(shown) == 8
    empty = IERecord(id="e", text="z", language="en", source="s")
    shown = [x for c in plan_chunks(empty, "ner", schema, SchemaOptions(split_num=4), random.Random(1)) for x in c]
    assert 1 <= len(shown) < 40  # Binomial(40, 1/2), at least one
    with pytest.raises(ValueError, match="cluster"):
        SchemaOptions(negatives="binomial", hard_negatives=hard)
