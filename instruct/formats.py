"""Instruction rows → the file layouts trainers read: Alpaca, IEPile rows, ShareGPT.

Alpaca: ``{"instruction", "input", "output"}`` (a JSON array for ``.json``, JSONL otherwise), as
LLaMA-Factory and alpaca-lora read it. IEPile: ``{"task", "source", "instruction", "output"}`` JSONL,
test rows with ``id`` and ``label`` and no ``output``. ShareGPT: ``{"conversations": [{"from": "human"},
{"from": "gpt"}]}``. ``id`` and ``meta`` (template, format, schema) ride along; trainers ignore them.
Files are read and written by ``instruct.io``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from instruct.io import read_records, write_records

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
