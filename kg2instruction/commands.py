"""The ``knowforge kg2instruction`` command, generated from the fields of the stage and model steps it sets.

``--max-len``, ``--nli-*`` and ``--complete-cmd`` are ``KG2InstructionStep`` fields and the model options
``ModelSteps`` fields: their types and defaults come from there; the ``Opt`` gives the help text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from corpus.commands import DEFAULT_WORKERS
from corpus.options import Command, Opt, kwarg_default
from kg2instruction.build import LANG_CHOICES, run_build
from kg2instruction.models import ModelSteps
from kg2instruction.stage import KG2InstructionStep

EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
POSITIVE = click.IntRange(min=1)


def _build(wikidata, wiki, output, lang, schema_zh, schema_en, api_key_env, workers, kb_workers, force, quiet,
           step: dict[str, Any], models: dict[str, Any]) -> None:
    """Build InstructIE records from Wikidata triples matched onto zhwiki/enwiki paragraphs (resumable)."""
    from corpus.summary import summary_table
    from instruct.llm_errors import LLMSetupError, resolve_api_key

    try:
        steps = None
        if models.get("nli_model") or models.get("complete_model") or models.get("topic_model"):
            threshold = step.get("nli_threshold", ModelSteps.nli_threshold)
            steps = ModelSteps(api_key=resolve_api_key(api_key_env), nli_threshold=threshold, **models)
        reports, summary = run_build(
            wikidata=list(wikidata), wiki=list(wiki), output=output, langs=LANG_CHOICES[lang],
            schemas={"zh": schema_zh, "en": schema_en}, workers=workers, force=force, progress=not quiet,
            step_options=step, kb_workers=kb_workers, models=steps,
        )
    except (LLMSetupError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    click.echo(summary_table(reports))
    if steps is not None:
        m = summary["models"]
        click.echo(f"models: {m['labelled']} paragraphs labelled, rejected {m['rejected']}, failed {m['failed']} "
                   f"(listed in {output}/03-models/_failures.jsonl; rerun to retry them); requests {m['requests']}")
    click.echo(f"records per topic: {summary['records_per_topic']}")
    click.echo(f"records per split: {summary['records_per_split']}  (in {output}/instructie and ie_records)")


def _fields(group: str, cls: type, fields: dict[str, Any]) -> dict[str, Any]:
    # The step needs the KB run_build makes, and the model steps a key only when a model is named:
    # run_build and _build construct them; the command passes the fields given.
    return dict(fields)


BUILD = Command("build", _build, {
    "wikidata": Opt("Wikidata JSON dump (latest-all.json[.gz|.bz2]); repeatable.", multiple=True, required=True,
                    type=EXISTING_FILE),
    "wiki": Opt("zhwiki/enwiki pages-articles dump (.xml[.bz2]) or a directory of dumps; repeatable.", multiple=True,
                required=True, type=click.Path(exists=True, path_type=Path)),
    "output": Opt("Output directory: kb.sqlite, stage directories, instructie/, ie_records/, summary.json.",
                  flags=("-o", "--output"), required=True, type=click.Path(path_type=Path)),
    "lang": Opt("Which pages to label (the language comes from each dump); outputs are named *_zh / *_en.",
                choices=tuple(LANG_CHOICES), default="zh"),
    "schema_zh": Opt("zh schema YAML (default: configs/kg2instruction/schema_zh.yaml).",
                     flags=("--schema", "--schema-zh"), default=None, type=EXISTING_FILE),
    "schema_en": Opt("en schema YAML (default: configs/kg2instruction/schema_en.yaml).", default=None,
                     type=EXISTING_FILE),
    "step.max_len": Opt("Longest paragraph: characters for zh, words for en (InstructIE's limit).",
                        flags=("--max-len", "--max-chars"), type=click.IntRange(min=16)),
    "step.nli_cmd": Opt("Command scoring triples against text over JSON lines (see docs/kg2instruction.md)."),
    "step.nli_threshold": Opt(""),
    "step.complete_cmd": Opt("Command proposing extra triples over JSON lines."),
    "models.nli_model": Opt("Chat model scoring triples against their paragraph (LLM client)."),
    "models.complete_model": Opt("Chat/IE model (e.g. OneKE) adding triples the graph lacks."),
    "models.topic_model": Opt("Chat model giving a topic to pages the type rules leave as other (zero-shot, 12 "
                              "topics + other)."),
    "models.base_url": Opt("OpenAI-compatible endpoint of the models, e.g. http://localhost:8000/v1."),
    "api_key_env": Opt("Environment variable holding the API key (never printed or stored).",
                       default="OPENAI_API_KEY"),
    "models.concurrency": Opt("", flags=("--llm-concurrency",), type=POSITIVE),
    "models.max_attempts": Opt("", type=POSITIVE),
    "models.timeout": Opt("Seconds per attempt.", flags=("--llm-timeout",)),
    "workers": Opt("Worker processes for the wiki stages.", type=POSITIVE, default=DEFAULT_WORKERS),
    "kb_workers": Opt("Processes reading the Wikidata dump (byte ranges of a plain or multi-stream .bz2 dump; "
                      "else they parse what the main process decompresses); the main process inserts the rows.",
                      type=POSITIVE, default=kwarg_default(run_build, "kb_workers")),
    "force": Opt("Rebuild the KB and redo every shard.", type=bool, default=False),
    "quiet": Opt("No progress bars.", type=bool, default=False),
}, groups={"step": KG2InstructionStep, "models": ModelSteps}, build=_fields)

COMMANDS = [BUILD]
