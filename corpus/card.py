"""The dataset card beside a stage output: ``README.md`` whose configs and features make
``datasets.load_dataset(stage_dir)`` read the shards with the declared ``meta`` schema (corpus/schema.py).

Its own module because it writes files through ``corpus.shards``, which itself imports the schema: kept
in ``schema.py`` it closed an import circle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from corpus.schema import META_KIND, Kind
from corpus.shards import SHARD_SUFFIXES, is_shard, write_bytes_atomic

CARD = "README.md"  # the Hugging Face dataset card: `load_dataset(stage_dir)` reads its configs and features
_YAML_DTYPES = {"str": "string", "json": "string", "int": "int64", "float": "float64", "bool": "bool"}


def _yaml_feature(kind: Kind) -> dict[str, Any]:
    """A Kind as a dataset card's ``features`` entry (the YAML that ``datasets`` 2.19 to 5.x all read)."""
    if kind.name == "struct":
        return {"struct": [{"name": n, **_yaml_feature(k)} for n, k in kind.fields]}
    if kind.name == "list":
        inner = _yaml_feature(kind.item)
        return {"list": inner.get("dtype") or inner["struct"]}
    return {"dtype": _YAML_DTYPES[kind.name]}


class _NoAliases(yaml.SafeDumper):
    """Write the features of every config in full (no ``&id001`` anchors), as a person would."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def write_dataset_card(directory: Path) -> Path | None:
    """Write ``directory/README.md`` so that ``load_dataset(str(directory))`` reads the shards with the
    declared features, no ``features=`` needed: config ``default`` for the kept JSON-lines shards, one
    config per subfolder of them (``rejected``, score buckets). Returns the card, or None without any.
    """
    features = [{"name": n, "dtype": "string"} for n in ("id", "text", "source")]
    features.append({"name": "meta", **_yaml_feature(META_KIND)})
    configs, infos = [], []
    subfolders = sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    for folder in [directory, *subfolders]:
        # JSON lines only: they need the card for their types (Parquet carries its own schema, and a
        # sink's Parquet, such as pack's samples, holds no documents)
        suffixes = sorted({_suffix(p.name) for p in folder.iterdir() if is_shard(p) and ".jsonl" in p.name})
        if not suffixes:
            continue
        name, prefix = ("default", "") if folder == directory else (folder.name, f"{folder.name}/")
        configs.append({"config_name": name, "data_files": [{"split": "train",
                                                            "path": [f"{prefix}*{s}" for s in suffixes]}]})
        infos.append({"config_name": name, "features": features})
    card = directory / CARD
    if not configs:
        card.unlink(missing_ok=True)  # a rerun that now keeps nothing leaves no stale card
        return None
    header = yaml.dump({"configs": configs, "dataset_info": infos}, Dumper=_NoAliases, allow_unicode=True,
                       sort_keys=False)
    write_bytes_atomic(card, (
        f"---\n{header}---\n\nA knowforge stage output: JSON-lines shards whose `meta` follows the declared "
        "schema (corpus/schema.py). `datasets.load_dataset(\"<this folder>\")` loads the kept documents; "
        "`rejected` and any other folder of shards are configs of their own.\n").encode())
    return card


def _suffix(name: str) -> str:
    return max((s for s in SHARD_SUFFIXES if name.endswith(s)), key=len)
