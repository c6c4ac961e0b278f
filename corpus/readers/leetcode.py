"""LeetCode problems: LeetCodeDataset JSON lines (nested ``meta`` or flat fields) and doocs/leetcode folders.

One document per problem, its id and title from the problem's public number (the slug where a row
lacks it: never LeetCode's internal id): title, statement as plain text (HTML converted by :mod:`corpus.readers.html`)
and the solution code in a fenced block. doocs folders are ``README[_EN].md`` with YAML front matter and
an HTML statement between ``<!-- description:start/end -->``, plus ``Solution.<ext>`` files.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import orjson
import yaml

from corpus.readers.html import html_to_text
from corpus.readers.jsonl import discover_files
from corpus.readers.jsonstream import JSON_SUFFIXES, iter_records
from corpus.records import new_doc
from corpus.shards import MISSING_TEXT, malformed_doc

SKIP_NO_STATEMENT = "skip_no_statement"
ID_CONFLICT = "leetcode_id_conflict"  # two problems in one file claimed one public number
FRONTEND_KEYS = ("frontend_id", "question_frontend_id", "questionFrontendId", "frontend_question_id")
ROMAN = re.compile(r"i{1,3}|iv|vi{0,3}|ix")  # "Jump Game II", "Can I Win": upper-case in slug titles
FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)
DESCRIPTION = re.compile(r"<!-- description:start -->(.*?)<!-- description:end -->", re.S)
TITLE = re.compile(r"^# \[(.+?)\]\((.+?)\)", re.M)
FIRST_CODE_BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)
HTML_TAG = re.compile(r"</?(?:p|pre|code|ul|ol|li|strong|em|sup|div|br)\b", re.I)
# The instruction LeetCodeDataset appends to the question in ``query``; not part of the statement.
QUERY_SUFFIX = re.compile(r"\n\s*Please complete the following python code precisely:.*\Z", re.S)
FENCE_LANGUAGES = {"py": "python", "java": "java", "cpp": "cpp", "c": "c", "go": "go", "rs": "rust",
                   "ts": "typescript", "js": "javascript", "cs": "csharp", "kt": "kotlin", "swift": "swift",
                   "rb": "ruby", "php": "php", "scala": "scala"}
# doocs/leetcode's README of each language it is written in: the choices of ``doocs_lang``.
DOOCS_LANGS = {"en": "README_EN.md", "zh": "README.md"}


def frontend_id(record: dict[str, Any]) -> str | None:
    """The problem's public number (the one in its title on leetcode.com), or None if the row lacks it.

    LeetCodeDataset v0.1.0 rows carry only ``meta.question_id``, LeetCode's *internal* id (2832 for
    problem 2831): it is not used, since it gives wrong titles and, across the dataset, collisions.
    From v0.2 on, the flat ``question_id`` is the public number. Explicit frontend-id fields (as in
    scraped LeetCode metadata) win over both.
    """
    meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
    for holder in (record, meta):
        for key in FRONTEND_KEYS:
            value = holder.get(key)
            if isinstance(value, int | str) and not isinstance(value, bool) and str(value).strip().isdigit():
                return str(int(value))
    value = record.get("question_id")  # flat rows only: the nested one is the internal id
    if isinstance(value, int | str) and not isinstance(value, bool) and str(value).strip().isdigit():
        return str(int(value))
    return None


def slug_title(slug: str) -> str:
    """``two-sum-ii-input-array-is-sorted`` -> ``Two sum II input array is sorted`` (numerals kept apart)."""
    words = [w.upper() if ROMAN.fullmatch(w) else w for w in slug.split("-") if w]
    if not words:
        return ""
    return words[0][:1].upper() + words[0][1:] + "".join(f" {w}" for w in words[1:])


def fenced(code: str, language: str) -> str:
    """``code`` in a Markdown fence long enough not to be closed by backticks inside it."""
    fence = "```"
    while fence in code:
        fence += "`"
    return f"{fence}{language}\n{code.rstrip()}\n{fence}"


def problem_text(title: str, statement: str, code: str | None, language: str) -> str:
    """The document layout: ``# title``, statement, and the solution in a fenced block."""
    statement = html_to_text(statement) if HTML_TAG.search(statement) else statement.strip()
    parts = [f"# {title}" if title else "", statement, fenced(code, language) if code and code.strip() else ""]
    return "\n\n".join(p for p in parts if p)


@dataclass(frozen=True, kw_only=True)
class LeetcodeReader:
    """LeetCodeDataset files (one shard each) and doocs problem directories (one shard per directory
    of problem folders, e.g. ``solution/0000-0099``). ``doocs_lang`` picks README_EN.md (en) or README.md
    (zh); ``solution_ext`` picks the ``Solution.<ext>`` file whose code goes into the document."""

    name: ClassVar[str] = "leetcode"
    source_name: str | None = None
    doocs_lang: str = "en"
    solution_ext: str = "py"

    def __post_init__(self) -> None:
        if self.doocs_lang not in DOOCS_LANGS:
            raise ValueError(f"doocs_lang must be one of {', '.join(map(repr, DOOCS_LANGS))}, "
                             f"got {self.doocs_lang!r}")

    def discover(self, paths: Sequence[Path]) -> list[Path]:
        """JSON(L) files, and every directory whose children are doocs problem folders; sorted."""
        units: set[Path] = set(discover_files([Path(p) for p in paths if not Path(p).is_dir()], JSON_SUFFIXES))
        for path in map(Path, paths):
            if path.is_dir():
                units.update(discover_files([path], JSON_SUFFIXES))
                units.update(readme.parent.parent for readme in path.rglob("README_EN.md"))
        return sorted(units)

    def __call__(self, path: Path, counters: Counter) -> Iterator[dict[str, Any]]:
        """Documents of a LeetCodeDataset file or of the problem folders under a directory."""
        path = Path(path)
        if path.is_dir():
            for folder in sorted(p for p in path.iterdir() if (p / "README_EN.md").exists()):
                doc = self._doocs(folder, counters)
                if doc is not None:
                    yield doc
            return
        yield from self._dataset(path, counters)

    def _dataset(self, path: Path, counters: Counter) -> Iterator[dict[str, Any]]:
        source = self.source_name or self.name
        seen: dict[str, str] = {}  # id -> task_id of the problem that has it (ids unique in a file)
        for number, record, bad in iter_records(path):
            if bad is not None:
                yield bad
                continue
            meta_in = record.get("meta") if isinstance(record.get("meta"), dict) else {}
            field = {**meta_in, **{k: v for k, v in record.items() if k != "meta"}}
            # v0.1.0 keeps the statement in meta.question_title; later versions in problem_description.
            statement = field.get("problem_description") or meta_in.get("question_title") or QUERY_SUFFIX.sub(
                "", field.get("query") or "")
            if not isinstance(statement, str) or not statement.strip():
                yield malformed_doc(path, number, MISSING_TEXT, orjson.dumps(record)[:2000], field="problem_description")
                continue
            task = field.get("task_id") or ""
            public = frontend_id(record)
            title = slug_title(task)
            if public is not None:
                title = f"{public}. {title}" if title else public
            doc_id = f"{source}:{public or task or number}"
            if seen.setdefault(doc_id, task) != task:  # the same number on two problems: the slug decides
                counters[ID_CONFLICT] += 1
                doc_id = f"{source}:{task or number}"
            seen[doc_id] = task
            text = problem_text(title, statement, field.get("completion"), "python")
            meta = {k: field[k] for k in ("task_id", "difficulty", "tags", "entry_point", "estimated_date")
                    if field.get(k) is not None}
            if public is not None:
                meta["frontend_id"] = public
            if meta_in.get("question_id") is not None:  # LeetCode's internal number, not the public one
                meta["internal_question_id"] = meta_in["question_id"]
            meta.update({"format": "leetcodedataset", "language": "Python", "lang": "en"})
            yield new_doc(doc_id, text, source, meta)

    def _doocs(self, folder: Path, counters: Counter) -> dict[str, Any] | None:
        readme = folder / DOOCS_LANGS[self.doocs_lang]
        markdown = readme.read_text(encoding="utf-8")
        front = FRONT_MATTER.match(markdown)
        info = yaml.safe_load(front.group(1)) if front else {}
        description = DESCRIPTION.search(markdown)
        if description is None:
            counters[SKIP_NO_STATEMENT] += 1
            return None
        title_match = TITLE.search(markdown)
        title = title_match.group(1) if title_match else folder.name
        solution = folder / f"Solution.{self.solution_ext}"
        fence = FENCE_LANGUAGES.get(self.solution_ext, self.solution_ext)
        if solution.exists():
            code = solution.read_text(encoding="utf-8")
        else:  # fall back to the first code block of the solutions section
            block = FIRST_CODE_BLOCK.search(markdown, description.end())
            code, fence = (block.group(2), block.group(1)) if block else (None, "")
        source = self.source_name or self.name
        number = title.split(".", 1)[0].strip()
        meta = {"title": title, "difficulty": info.get("difficulty"), "tags": info.get("tags") or [],
                "folder": folder.name, "format": "doocs", "lang": self.doocs_lang, "language": fence}
        if title_match:
            meta["url"] = title_match.group(2)
        doc_id = f"{source}:{number}" if number.isdigit() else f"{source}:{folder.name}"
        if self.doocs_lang != "en":  # English ids are plain; the other languages' ids end in :<lang>
            doc_id += f":{self.doocs_lang}"
        return new_doc(doc_id, problem_text(title, description.group(1), code, fence), source, meta)
