"""SFT record formats: read and write Alpaca, ShareGPT and OpenAI ``messages`` files; LLaMA-Factory entries.

Every record is read into one ``Conversation`` (system, alternating user/assistant turns, and the
Alpaca ``input`` of the first turn kept apart so the Alpaca template can render its Input block).
``dataset_info_entry`` writes the ``dataset_info.json`` entry LLaMA-Factory needs to load our files
as they are; ``llamafactory_view`` re-applies its alignment rules so tests can check an entry against a
file without installing LLaMA-Factory (which needs torch). Tool calls and multimodal fields are left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from corpus.shards import write_bytes_atomic
from instruct.io import detect_format, read_records, write_records  # noqa: F401 - the SFT tools' file I/O

FORMATS = ("alpaca", "sharegpt", "openai")

# ShareGPT role names (FastChat / LLaMA-Factory defaults) and their OpenAI equivalents.
SHAREGPT_ROLES = {"system": "system", "human": "user", "gpt": "assistant"}
OPENAI_TO_SHAREGPT = {v: k for k, v in SHAREGPT_ROLES.items()}


@dataclass(frozen=True, kw_only=True)
class Conversation:
    """One SFT example: an optional system prompt and user/assistant turns, in order.

    ``first_input`` is the Alpaca ``input`` of the first turn (context for the instruction); templates
    other than Alpaca join it to the first user message with a newline, as LLaMA-Factory does.
    """

    turns: tuple[tuple[str, str], ...]
    system: str = ""
    first_input: str = ""
    id: str | None = None

    def user_text(self, k: int) -> str:
        """User message of turn ``k``, with the Alpaca input joined to the first one."""
        user = self.turns[k][0]
        if k == 0 and self.first_input:
            return f"{user}\n{self.first_input}" if user else self.first_input
        return user

    def messages(self) -> list[dict[str, str]]:
        """OpenAI-style messages: optional system, then user/assistant alternating."""
        out = [{"role": "system", "content": self.system}] if self.system else []
        for k, (_, answer) in enumerate(self.turns):
            out.append({"role": "user", "content": self.user_text(k)})
            out.append({"role": "assistant", "content": answer})
        return out


def record_format(row: Mapping[str, Any]) -> str:
    """``alpaca``, ``sharegpt`` or ``openai``, from the keys a record carries (``instruct.io.detect_format``)."""
    fmt = detect_format(row)
    if fmt is None:
        raise ValueError(f"record has none of instruction/conversations/messages: keys {sorted(row)}")
    return fmt


def _from_messages(messages: list[dict[str, Any]], role_key: str, content_key: str, roles: Mapping[str, str],
                   row_id: str | None) -> Conversation:
    """Pair role-tagged messages into turns; a leading system message becomes the system prompt."""
    msgs = [(roles.get(str(m.get(role_key)), str(m.get(role_key))), str(m.get(content_key) or "")) for m in messages]
    system = ""
    if msgs and msgs[0][0] == "system":
        system = msgs[0][1]
        msgs = msgs[1:]
    if len(msgs) % 2:
        raise ValueError(f"record {row_id!r}: {len(msgs)} messages after the system prompt, expected pairs")
    turns = []
    for k in range(0, len(msgs), 2):
        (r_user, user), (r_asst, answer) = msgs[k], msgs[k + 1]
        if r_user != "user" or r_asst != "assistant":
            raise ValueError(f"record {row_id!r}: turn {k // 2} has roles {r_user}/{r_asst}, expected user/assistant")
        turns.append((user, answer))
    if not turns:
        raise ValueError(f"record {row_id!r}: no user/assistant turn")
    return Conversation(turns=tuple(turns), system=system, id=row_id)


def to_conversation(row: Mapping[str, Any]) -> Conversation:
    """Read an Alpaca (with optional ``history``/``system``), ShareGPT or OpenAI record."""
    row_id = row.get("id")
    row_id = None if row_id is None else str(row_id)
    fmt = record_format(row)
    if fmt == "alpaca":
        history = tuple((str(q), str(a)) for q, a in (row.get("history") or []))
        turns = (*history, (str(row.get("instruction") or ""), str(row.get("output") or "")))
        # The Alpaca input belongs to the current (last) instruction; with history it is joined to it.
        first_input = str(row.get("input") or "")
        if history and first_input:
            turns = (*history, (f"{turns[-1][0]}\n{first_input}", turns[-1][1]))
            first_input = ""
        return Conversation(turns=turns, system=str(row.get("system") or ""), first_input=first_input, id=row_id)
    if fmt == "sharegpt":
        conv = _from_messages(list(row["conversations"]), "from", "value", SHAREGPT_ROLES, row_id)
    else:
        conv = _from_messages(list(row["messages"]), "role", "content", {}, row_id)
    if row.get("system") and not conv.system:
        conv = Conversation(turns=conv.turns, system=str(row["system"]), id=row_id)
    return conv


def to_alpaca(conv: Conversation) -> dict[str, Any]:
    """Alpaca record; earlier turns go to ``history`` as ``[instruction, output]`` pairs."""
    last = len(conv.turns) - 1
    out: dict[str, Any] = {"id": conv.id} if conv.id is not None else {}
    out["instruction"] = conv.turns[-1][0]
    out["input"] = conv.first_input if last == 0 else ""
    out["output"] = conv.turns[-1][1]
    if last:
        out["history"] = [[conv.user_text(k), conv.turns[k][1]] for k in range(last)]
    if conv.system:
        out["system"] = conv.system
    return out


def to_sharegpt(conv: Conversation) -> dict[str, Any]:
    """ShareGPT record (``conversations`` of ``{from, value}``; a system prompt is the first message)."""
    out: dict[str, Any] = {"id": conv.id} if conv.id is not None else {}
    out["conversations"] = [{"from": OPENAI_TO_SHAREGPT[m["role"]], "value": m["content"]} for m in conv.messages()]
    return out


def to_openai(conv: Conversation) -> dict[str, Any]:
    """OpenAI chat record (``messages`` of ``{role, content}``)."""
    out: dict[str, Any] = {"id": conv.id} if conv.id is not None else {}
    out["messages"] = conv.messages()
    return out


_WRITERS = {"alpaca": to_alpaca, "sharegpt": to_sharegpt, "openai": to_openai}


def convert_record(row: Mapping[str, Any], fmt: str) -> dict[str, Any]:
    """``row`` (any supported format) rewritten in ``fmt``."""
    if fmt not in _WRITERS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return _WRITERS[fmt](to_conversation(row))


def dataset_info_entry(file_name: str, fmt: str, *, system: bool = False, history: bool = False) -> dict[str, Any]:
    """The ``dataset_info.json`` entry LLaMA-Factory needs to read a file we wrote in ``fmt``.

    Alpaca: ``columns`` prompt/query/response (+ system, history). ShareGPT and OpenAI both use
    ``formatting: sharegpt`` with ``columns.messages`` and the role/content ``tags``; the system prompt
    travels as the first message, which LLaMA-Factory takes when ``system_tag`` is set.
    """
    if fmt == "alpaca":
        columns = {"prompt": "instruction", "query": "input", "response": "output"}
        if system:
            columns["system"] = "system"
        if history:
            columns["history"] = "history"
        return {"file_name": file_name, "formatting": "alpaca", "columns": columns}
    if fmt == "sharegpt":
        tags = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
                "system_tag": "system"}
        return {"file_name": file_name, "formatting": "sharegpt", "columns": {"messages": "conversations"},
                "tags": tags}
    if fmt == "openai":
        tags = {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
                "system_tag": "system"}
        return {"file_name": file_name, "formatting": "sharegpt", "columns": {"messages": "messages"}, "tags": tags}
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def write_dataset_info(directory: Path, name: str, entry: Mapping[str, Any]) -> Path:
    """Add or replace ``name`` in ``directory/dataset_info.json``, keeping the other entries."""
    path = Path(directory) / "dataset_info.json"
    info = orjson.loads(path.read_bytes()) if path.exists() else {}
    info[name] = dict(entry)
    write_bytes_atomic(path, orjson.dumps(info, option=orjson.OPT_INDENT_2) + b"\n")
    return path


def register_dataset(directory: Path, name: str, file_name: str, rows: Sequence[Mapping[str, Any]],
                     fmt: str | None = None) -> Path:
    """Add ``name`` → ``file_name`` (whose records are ``rows``) to ``directory/dataset_info.json``.

    ``fmt`` defaults to the records' own format (they must agree; no rows: alpaca). Alpaca entries map
    ``system`` and ``history`` only when some record has them, so LLaMA-Factory reads exactly the file.
    """
    if fmt is None:
        found = {record_format(row) for row in rows}
        if len(found) > 1:
            raise ValueError(f"{file_name}: records mix formats {sorted(found)}; one dataset_info entry needs one")
        fmt = found.pop() if found else "alpaca"
    has_system = fmt == "alpaca" and any("system" in row for row in rows)
    has_history = fmt == "alpaca" and any("history" in row for row in rows)
    return write_dataset_info(directory, name, dataset_info_entry(file_name, fmt, system=has_system,
                                                                  history=has_history))


def llamafactory_view(row: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    """What LLaMA-Factory's Alpaca/ShareGPT converter makes of ``row`` under ``entry``.

    Returns ``{"prompt": [messages], "response": [messages], "system": str}``; an empty prompt means
    LLaMA-Factory would skip the row as broken (roles not alternating user/assistant, odd count).
    """
    columns = entry.get("columns", {})
    if entry.get("formatting", "alpaca") == "alpaca":
        prompt: list[dict[str, str]] = []
        # HF datasets fills a column missing from some rows with None; LLaMA-Factory skips non-lists.
        history = row.get(columns["history"]) if columns.get("history") else None
        for old_q, old_a in history if isinstance(history, list) else []:
            prompt += [{"role": "user", "content": old_q}, {"role": "assistant", "content": old_a}]
        query = [row[c] for c in (columns.get("prompt", "instruction"), columns.get("query", "input")) if row.get(c)]
        prompt.append({"role": "user", "content": "\n".join(query)})
        response = [{"role": "assistant", "content": row[columns.get("response", "output")]}]
        system = row.get(columns["system"]) if columns.get("system") else None
        return {"prompt": prompt, "response": response, "system": system or ""}
    tags = entry.get("tags", {})
    role, content = tags.get("role_tag", "from"), tags.get("content_tag", "value")
    user, assistant, system_tag = tags.get("user_tag", "human"), tags.get("assistant_tag", "gpt"), tags.get("system_tag")
    messages = list(row[columns.get("messages", "conversations")])
    system = ""
    if system_tag and messages and messages[0][role] == system_tag:
        system, messages = messages[0][content], messages[1:]
    expected = (user, assistant)
    broken = len(messages) % 2 != 0 or any(m[role] != expected[i % 2] for i, m in enumerate(messages))
    if broken:
        return {"prompt": [], "response": [], "system": system}
    aligned = [{"role": "user" if m[role] == user else "assistant", "content": m[content]} for m in messages]
    return {"prompt": aligned[:-1], "response": aligned[-1:], "system": system}
