"""The extraction schema (candidate types, roles, type→roles) and IEPile's 3-line ``schema.json``.

IEPile's file is three JSON lines: ``type_list``, ``role_list``, ``type_role_dict``
(NER/EET: types; RE: roles = relations; SPO: types ``subj_pred_obj`` + roles = predicates;
EE/EEA: event types, roles, type→roles). The KG task's schema is left out (no builder uses it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from corpus.shards import write_bytes_atomic
from instruct.ie.record import IERecord

TASKS = ("ner", "re", "spo", "ee", "eet", "eea")


@dataclass(frozen=True, kw_only=True)
class Schema:
    """Candidate labels for one dataset and task, in file order (order matters for test splits)."""

    types: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    type_roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    def candidates(self, task: str) -> tuple[str, ...]:
        """The labels a schema item is drawn from for ``task`` (relations for RE, else types)."""
        return self.roles if task == "re" else self.types

    def to_lines(self) -> str:
        """The 3-line ``schema.json`` text."""
        lines = [
            orjson.dumps(list(self.types)),
            orjson.dumps(list(self.roles)),
            orjson.dumps({k: list(v) for k, v in self.type_roles.items()}),
        ]
        return "\n".join(line.decode() for line in lines) + "\n"


def spo_key(head_type: str, relation: str, tail_type: str) -> str:
    """IEPile's internal SPO schema key ``subjtype_pred_objtype``."""
    return f"{head_type}_{relation}_{tail_type}"


def split_spo_key(key: str, predicates: Iterable[str]) -> tuple[str, str, str]:
    """Invert :func:`spo_key`. Types may contain ``_``, so the predicate is found among ``predicates``."""
    for pred in sorted(predicates, key=len, reverse=True):
        marker = f"_{pred}_"
        at = key.find(marker)
        if at > 0:
            return key[:at], pred, key[at + len(marker):]
    head, pred, tail = key.split("_", 2)
    return head, pred, tail


def read_schema(path: Path) -> Schema:
    """Read IEPile's 3-line ``schema.json`` (blank trailing lines allowed)."""
    # JSON lines: split at "\n" only (splitlines() also breaks inside a string holding U+0085 or U+2028).
    lines = [line for line in Path(path).read_text(encoding="utf-8").split("\n") if line.strip()]
    if len(lines) != 3:
        raise ValueError(f"{path}: an IEPile schema file has 3 JSON lines, found {len(lines)}")
    types, roles, type_roles = (orjson.loads(line) for line in lines)
    return Schema(types=tuple(types), roles=tuple(roles),
                  type_roles={k: tuple(v) for k, v in type_roles.items()})


def write_schema(schema: Schema, path: Path) -> None:
    """Write ``schema`` as IEPile's 3-line ``schema.json``."""
    write_bytes_atomic(Path(path), schema.to_lines().encode("utf-8"))


def schema_from_records(records: Iterable[IERecord], task: str) -> Schema:
    """The schema seen in ``records`` for ``task``, labels sorted (used when no schema file is given)."""
    types: set[str] = set()
    roles: set[str] = set()
    type_roles: dict[str, set[str]] = {}
    for rec in records:
        if task == "ner":
            types.update(e.type for e in rec.entities)
        elif task == "re":
            roles.update(r.relation for r in rec.relations)
        elif task == "spo":
            for r in rec.relations:
                types.add(spo_key(r.head_type, r.relation, r.tail_type))
                roles.add(r.relation)
        else:
            for ev in rec.events:
                types.add(ev.type)
                got = type_roles.setdefault(ev.type, set())
                for a in ev.arguments:
                    got.add(a.role)
                    roles.add(a.role)
    return Schema(
        types=tuple(sorted(types)),
        roles=tuple(sorted(roles)),
        type_roles={k: tuple(sorted(v)) for k, v in sorted(type_roles.items())} if task in ("ee", "eea") else {},
    )
