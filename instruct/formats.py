"""Instruction rows → the file layouts trainers read: Alpaca, IEPile rows, ShareGPT.

Alpaca: ``{"instruction", "input", "output"}`` (a JSON array for ``.json``, JSONL otherwise), as
LLaMA-Factory and alpaca-lora read it. IEPile: ``{"task", "source", "instruction", "output"}`` JSONL,
test rows with ``id`` and ``label`` and no ``output``. ShareGPT: ``{"conversations": [{"from": "human"},
{"from": "gpt"}]}``. ``id`` and ``meta`` (template, format, schema) ride along; trainers ignore them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

OUTPUT_FORMATS = ("alpaca", "iepile", "sharegpt")


def to_alpaca(row: Mapping[str, Any]) -> dict[str, Any]:
    """An Alpaca record (instruction, input, output) plus id and meta."""
    out = {"id": row.get("id"), "instruction": row["instruction"], "input": row.get("input", ""),
           "output": row.get("output", "")}
    if "label" in row:
        out["label"] = row["label"]
    if row.get("meta"):
        out["meta"] = row["meta"]
    return out


def to_iepile(row: Mapping[str, Any]) -> dict[str, Any]:
    """An IEPile row; a KnowLM-style row's input is appended to its instruction (IEPile rows have no input)."""
    instruction = row["instruction"]
    if row.get("input"):
        instruction = f"{instruction}\n{row['input']}"
    out: dict[str, Any] = {"id": row.get("id"), "task": str(row.get("task", "")).upper(),
                           "source": row.get("source", ""), "instruction": instruction}
    if "label" in row:
        out["label"] = row["label"]
    else:
        out["output"] = row.get("output", "")
    if row.get("meta"):
        out["meta"] = row["meta"]
    return out


def to_sharegpt(row: Mapping[str, Any]) -> dict[str, Any]:
    """A one-turn ShareGPT conversation (human: instruction + input, gpt: output)."""
    prompt = row["instruction"] + (f"\n{row['input']}" if row.get("input") else "")
    out: dict[str, Any] = {"id": row.get("id"), "conversations": [
        {"from": "human", "value": prompt}, {"from": "gpt", "value": row.get("output", "")}]}
    if row.get("meta"):
        out["meta"] = row["meta"]
    return out


_CONVERT = {"alpaca": to_alpaca, "iepile": to_iepile, "sharegpt": to_sharegpt}


def read_records(path: Path) -> list[dict[str, Any]]:
    """Records of a JSON array file or a JSONL file (decided by the first non-space byte).

    The whole file is read: instruction sets are at most a few million short records; a bad JSONL line
    raises with its line number, since a half-read training set is worse than a stopped run.
    """
    raw = Path(path).read_bytes()
    if raw.lstrip().startswith(b"["):
        rows = orjson.loads(raw)
    else:
        rows = []
        for n, line in enumerate(raw.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(orjson.loads(line))
                except orjson.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{n}: bad JSON line: {exc}") from None
    if not all(isinstance(r, dict) for r in rows):
        raise ValueError(f"{path}: every record must be a JSON object")
    return rows


def write_records(path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write ``rows`` as a JSON array (``.json``) or JSONL (anything else), atomically; return the count.

    A JSON array holds one record per line, so the file is both valid JSON and easy to diff; the bytes
    depend only on the rows (no timestamps).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with open(tmp, "wb") as fh:
        as_array = path.suffix == ".json"
        if as_array:
            fh.write(b"[\n")
        for row in rows:
            if as_array:
                fh.write((b",\n" if n else b"") + orjson.dumps(row))
            else:
                fh.write(orjson.dumps(row) + b"\n")
            n += 1
        if as_array:
            fh.write(b"\n]\n")
    os.replace(tmp, path)
    return n


def write_rows(path: Path, rows: Iterable[Mapping[str, Any]], output_format: str) -> int:
    """Write ``rows`` in ``output_format``: a JSON array if ``path`` ends in ``.json``, else JSONL."""
    if output_format not in _CONVERT:
        raise ValueError(f"unknown output format {output_format!r}; choose one of {', '.join(OUTPUT_FORMATS)}")
    convert = _CONVERT[output_format]
    return write_records(path, (convert(row) for row in rows))


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Read instruction rows (JSON array or JSONL), normalising one-turn ShareGPT to instruction/output."""
    out = []
    for row in read_records(path):
        if "conversations" in row and "instruction" not in row:
            turns = row["conversations"]
            row = {**row, "instruction": turns[0]["value"], "input": "",
                   "output": turns[1]["value"] if len(turns) > 1 else ""}
        out.append(row)
    return out
