"""Which schema items go into which instruction: IEPile's negative sampling, hard negatives and chunking.

Follows ``ie2instruction/convert/processer`` (IEPile, arXiv 2402.14710 §3). Two ways to pick negatives:
``sampled`` (the default; how the paper built the released corpus, ``negative_cluster_sample``): the
text's positives, every positive's hard negatives (similar labels, if a dictionary is given) and
``split_num`` random other labels; ``binomial`` (``convert_func.py``'s default ``negative_sample``): a
Bernoulli(``neg_schema``) share of all other labels, i.e. every label at 1.0, which makes most schema
chunks of a text all-negative (86-89% of RE/EE instructions on DuIE/DuEE). Then sorted (or shuffled) and
cut into chunks of ``split_num`` where a short leftover joins the last chunk. Randomness comes from a
caller's ``random.Random`` so a seed fixes every choice.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from instruct.ie.record import IERecord
from instruct.ie.schema import Schema, spo_key

NEGATIVES = ("sampled", "binomial")


@dataclass(frozen=True, kw_only=True)
class SchemaOptions:
    """How the schema is sampled and split. Defaults are IEPile's ``convert_func.py`` defaults.

    ``split_num``: schema items per instruction, -1 = all in one (IEPile recommends NER 6, others 4).
    ``negatives``: ``sampled`` (IEPile's cluster mode: hard negatives + ``split_num`` random others) or
    ``binomial`` (each label slot keeps a negative with probability ``neg_schema``; 1 = all negatives).
    ``neg_schema``: that probability; in ``sampled`` mode it sets how many labels a text with no
    positives is shown (Binomial(labels, neg_schema / 2), at least 1), as IEPile does.
    ``hard_negatives``: label → similar labels (IEPile's ``hard_dict.json`` slice); ``sampled`` mode only.
    ``split``: ``train`` samples; ``test`` keeps the full schema in file order.
    """

    split_num: int = 4
    negatives: str = "sampled"
    neg_schema: float = 1.0
    random_sort: bool = False
    hard_negatives: Mapping[str, Sequence[str]] | None = field(default=None, hash=False)
    split: str = "train"

    def __post_init__(self) -> None:
        if self.negatives not in NEGATIVES:
            raise ValueError(f"negatives must be one of {', '.join(NEGATIVES)}, got {self.negatives!r}")
        if self.hard_negatives is not None and self.negatives != "sampled":
            raise ValueError("hard negatives need negatives='sampled' (IEPile's cluster mode)")


def split_by_num(items: Sequence[str], split_num: int) -> list[list[str]]:
    """Cut ``items`` into chunks of ``split_num``; a leftover shorter than max(1, split_num // 2) joins the last.

    Example: 9 items, split_num 4 → [4, 5] (leftover 1 < 2 is merged); 10 items → [4, 4, 2].
    """
    items = list(items)
    if split_num == -1 or len(items) <= split_num:
        return [items] if items else []
    if split_num < 1:
        raise ValueError(f"split_num must be -1 or >= 1, got {split_num}")
    chunks = [items[i:i + split_num] for i in range(0, len(items) - len(items) % split_num, split_num)]
    leftover = items[len(items) - len(items) % split_num:]
    if leftover:
        if len(leftover) >= max(1, split_num // 2):
            chunks.append(leftover)
        else:
            chunks[-1].extend(leftover)
    return chunks


def positive_labels(record: IERecord, task: str) -> list[str]:
    """The schema labels ``record`` holds for ``task``, first-seen order."""
    if task == "ner":
        labels = [e.type for e in record.entities]
    elif task == "re":
        labels = [r.relation for r in record.relations]
    elif task == "spo":
        labels = [spo_key(r.head_type, r.relation, r.tail_type) for r in record.relations]
    else:
        labels = [ev.type for ev in record.events]
    return list(dict.fromkeys(labels))


def binomial(n: int, p: float, rng: random.Random) -> int:
    """Number of successes in ``n`` Bernoulli(p) draws (IEPile uses numpy's binomial for this)."""
    return sum(rng.random() < p for _ in range(n))


def sample_negatives(positives: Sequence[str], candidates: Sequence[str], neg_schema: float,
                     rng: random.Random) -> list[str]:
    """IEPile's default sampling: Binomial(len(candidates), neg_schema) negatives, at least 1 if no positives."""
    negative = sorted(set(candidates) - set(positives))
    if neg_schema <= 0:
        return []
    k = binomial(len(candidates), neg_schema, rng)
    if not positives:
        k = max(k, 1)
    return rng.sample(negative, min(k, len(negative)))


def sample_hard_negatives(positives: Sequence[str], candidates: Sequence[str], hard: Mapping[str, Sequence[str]],
                          split_num: int, neg_schema: float, rng: random.Random) -> list[str]:
    """IEPile's cluster mode: every positive's similar labels, plus ``split_num`` random other labels.

    With no positives it falls back to Binomial(len(candidates), neg_schema / 2) random labels, at least 1.
    """
    if len(candidates) == 1:
        return [c for c in candidates if c not in positives]
    if not positives:
        k = max(1, binomial(len(candidates), neg_schema / 2, rng))
        return rng.sample(sorted(candidates), min(k, len(candidates)))
    cluster = dict.fromkeys(positives)
    for p in positives:
        cluster.update(dict.fromkeys(hard.get(p, ())))
    others = sorted(set(candidates) - set(cluster))
    extra = rng.sample(others, len(others) if split_num == -1 else min(len(others), split_num))
    return [c for c in cluster if c not in positives] + extra


def plan_chunks(record: IERecord, task: str, schema: Schema, options: SchemaOptions,
                rng: random.Random) -> list[list[str]]:
    """The schema labels of each instruction built from ``record`` (empty list: no instruction)."""
    candidates = schema.candidates(task)
    positives = positive_labels(record, task)
    if options.split == "test":
        return split_by_num(list(dict.fromkeys([*candidates, *positives])), options.split_num)
    if task == "eea":  # EEA asks for the arguments of the gold events only
        labels = positives
    elif options.negatives == "sampled":
        labels = positives + sample_hard_negatives(positives, candidates, options.hard_negatives or {},
                                                   options.split_num, options.neg_schema, rng)
    else:
        labels = positives + sample_negatives(positives, candidates, options.neg_schema, rng)
    labels = list(dict.fromkeys(labels))
    if options.random_sort:
        rng.shuffle(labels)
    else:
        labels.sort()
    return split_by_num(labels, options.split_num)
