"""The ``knowforge instruct`` commands, generated from the settings dataclasses they fill.

An option that sets a library field (``BuildConfig``, ``SelectSettings``, ``TranslateConfig``,
``GenerateConfig``, ``LLMConfig``) takes its type, default and choices from that field; the ``Opt`` here
gives the help text. Choices come from the library's tables (``instruct.ie.convert.READERS``, ``TASKS``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from corpus.options import Command, Opt, kwarg_default
from corpus.steps import ConfigError
from instruct.build.run import STYLES, BuildConfig
from instruct.build.sampling import NEGATIVES
from instruct.formats import OUTPUT_FORMATS
from instruct.generate import LANGS, METHODS, GenerateConfig
from instruct.ie.convert import READERS as IE_READERS
from instruct.ie.schema import TASKS
from instruct.llm import LLMConfig
from instruct.sft.select import COMPARE, SelectSettings
from instruct.sft.split import split_file
from instruct.sft.templates import TEMPLATES
from instruct.sft.tokenize import TokenizeSettings
from instruct.translate import FORMATS as TRANSLATE_FORMATS
from instruct.translate import LANG_NAMES, STRATEGIES, TranslateConfig

EXISTING = click.Path(exists=True, path_type=Path)
EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
FILE = click.Path(dir_okay=False, path_type=Path)
POSITIVE = click.IntRange(min=1)
SHARE = click.FloatRange(0, 1)
SFT_INPUT = Opt("Alpaca / ShareGPT / OpenAI file (.json or .jsonl).", flags=("-i", "--input"), required=True,
                type=EXISTING_FILE)


def _off_if_negative(value: float) -> float | None:
    return value if value >= 0 else None


# --- IE ---------------------------------------------------------------------------------------------------------


def _convert(fmt: str, input_path: Path, output: Path) -> None:
    """Convert an open IE dataset into IE records (rejected lines go to NAME.rejected.jsonl)."""
    from instruct.ie.convert import convert

    stats = convert(fmt, input_path, output)
    click.echo(f"{fmt}: {stats.get('records', 0)} records, {stats.get('entities', 0)} entities, "
               f"{stats.get('relations', 0)} relations, {stats.get('events', 0)} events, "
               f"{stats['rejected']} rejected {stats['reasons'] or ''} -> {output}")


def _build(input_path: Path, output: Path, compare_path: Path | None, config: BuildConfig) -> None:
    """Build KnowLM- or IEPile-style instructions from IE records; counts go to NAME.stats.json."""
    from instruct.build.run import build_file, count_empty

    stats = build_file(input_path, output, config)
    click.echo(f"{stats['instructions']} instructions from {stats['records']} records "
               f"({stats['rejected']} rejected) -> {output}")
    line = f"  all-empty answers: {stats['empty_answers']} of {stats['instructions']} ({stats['empty_share']:.1%})"
    if compare_path is not None:
        empty, n = count_empty(compare_path)
        line += f"; {compare_path}: {empty} of {n} ({empty / n if n else 0:.1%})"
    click.echo(line)
    for key in ("per_source", "per_template", "per_format"):
        click.echo(f"  {key}: {stats[key]}")


def _evaluate(pred_path: Path, gold_path: Path | None, task: str, output: Path | None) -> None:
    """Micro precision/recall/F1 of IE answers, overall, per type and per category."""
    import orjson

    from instruct.evaluate import align, evaluate_rows
    from instruct.formats import read_rows

    preds = read_rows(pred_path)
    gold = read_rows(gold_path) if gold_path else preds
    report = evaluate_rows(task, gold, align(gold, preds))
    if output:
        output.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    for name, s in report["scores"].items():
        click.echo(f"{name:<9} P={s['p']:.4f} R={s['r']:.4f} F1={s['f1']:.4f} (tp {s['tp']}, pred {s['pred']}, "
                   f"gold {s['gold']})")
    click.echo(f"groups {report['groups']}, unparseable answers {report['errors']}, missing {report['missing']}")


IE = [
    Command("convert", _convert, {
        "fmt": Opt("Dataset layout of the input.", flags=("--format",), required=True, choices=tuple(IE_READERS)),
        "input_path": Opt("Dataset file, or a directory of them (CASIE: a directory of annotation files).",
                          flags=("-i", "--input"), required=True, type=EXISTING),
        "output": Opt("IE-records JSONL to write.", flags=("-o", "--output"), required=True, type=FILE),
    }),
    Command("build", _build, {
        "input_path": Opt("IE-records JSONL (from `instruct convert`).", flags=("-i", "--input"), required=True,
                          type=EXISTING),
        "output": Opt("Instruction file (.json = JSON array, else JSONL).", flags=("-o", "--output"), required=True,
                      type=FILE),
        "task": Opt("", required=True, choices=TASKS),
        "lang": Opt("", required=True, choices=LANGS),
        "style": Opt("", choices=STYLES),
        "schema_path": Opt("IEPile 3-line schema.json (default: the labels seen in the input).", flags=("--schema",),
                           type=EXISTING),
        "split_num": Opt("Schema items per instruction; -1 = all."),
        "negatives": Opt("sampled: positives + hard negatives + split-num random others per text (IEPile's corpus); "
                         "binomial: each other label with probability --neg-schema (IEPile's script default).",
                         choices=NEGATIVES),
        "neg_schema": Opt("binomial: probability of keeping each negative schema slot; sampled: sets how many labels "
                          "a text without positives is shown.", type=SHARE),
        "random_sort": Opt("Shuffle schema items instead of sorting them."),
        "hard_negatives": Opt("JSON {label: [similar labels]}: IEPile's hard-negative (cluster) mode.", type=EXISTING),
        "split": Opt("", choices=("train", "test")),
        "seed": Opt(""),
        "open_rate": Opt("knowlm: share of training records given a schema-less template.", type=SHARE),
        "max_chars": Opt("Split longer texts at sentence boundaries; 0 = never."),
        "label_map": Opt("YAML raw label -> shown label (e.g. configs/ie/labels_en.yaml).", type=EXISTING),
        "templates": Opt("Template file (default configs/ie/templates.yaml).", type=EXISTING),
        "output_format": Opt("", choices=OUTPUT_FORMATS),
        "compare_path": Opt("Instruction rows (e.g. IEPile's released train.json) whose all-empty share to print "
                            "beside ours.", flags=("--compare",), default=None, type=EXISTING_FILE),
    }, groups={"config": BuildConfig}),
    Command("evaluate", _evaluate, {
        "pred_path": Opt("Predictions: rows with id + output (or predict), or gold rows with output replaced.",
                         flags=("--pred",), required=True, type=EXISTING),
        "gold_path": Opt("Gold instruction file; default: the prediction rows themselves (they carry label).",
                         flags=("--gold",), default=None, type=EXISTING),
        "task": Opt("", required=True, choices=TASKS),
        "output": Opt("Write the report as JSON.", flags=("-o", "--output"), default=None, type=FILE),
    }),
]

# --- LLM jobs: translation and generation --------------------------------------------------------------------

LLM = {
    "llm.model": Opt("Model name as the endpoint knows it, e.g. gpt-4o.", required=True),
    "llm.base_url": Opt("OpenAI-compatible endpoint, e.g. http://localhost:8000/v1 (vLLM)."),
    "api_key_env": Opt("Environment variable holding the API key (never printed or stored).",
                       default="OPENAI_API_KEY"),
    "llm.concurrency": Opt("", type=POSITIVE),
    "llm.rpm": Opt("Requests-per-minute limit.", type=POSITIVE),
    "llm.tpm": Opt("Tokens-per-minute limit (estimated).", type=POSITIVE),
    "llm.timeout": Opt("Seconds per attempt."),
    "llm.max_attempts": Opt("", type=POSITIVE),
    "llm.temperature": Opt(""),
    "llm.max_tokens": Opt("Completion token limit.", type=POSITIVE),
    "cache_path": Opt("SQLite response cache (default: OUTPUT_STEM.llm-cache.sqlite beside the output).",
                      flags=("--cache",), default=None, type=FILE),
    "failures_path": Opt("Failed records with reasons (default: OUTPUT_STEM.failures.jsonl).", flags=("--failures",),
                         default=None, type=FILE),
    "batch_path": Opt("Write missing requests to this OpenAI Batch API file instead of sending them.",
                      flags=("--batch",), default=None, type=FILE),
    "quiet": Opt("No progress bar.", type=bool, default=False),
}


def run_llm_job(run, format_report, llm: LLMConfig, api_key_env: str, batch_path: Path | None):
    """Resolve the key, call ``run(api_key)``, print the accounting; exit 1 when records are unfinished."""
    from instruct.llm_cost import PriceTable
    from instruct.llm_errors import LLMSetupError, resolve_api_key

    try:
        # Batch mode sends nothing, so it needs no key.
        api_key = resolve_api_key(api_key_env) if batch_path is None else "unused-in-batch-mode"
        report = run(api_key)
    except (LLMSetupError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    click.echo(format_report(report, llm.model, PriceTable.load()))
    if report.deferred:
        click.echo(f"{report.accounting.deferred} requests written to {batch_path}: submit it to the Batch API, "
                   "then `knowforge instruct batch-ingest` the output and run this command again.")
    if unfinished := report.unfinished():
        # Exit 1 so scripts notice; a rerun sends only what is not in the cache yet.
        click.echo(f"error: {unfinished} failed; {report.failures_path} says which and why "
                   "(rerun to retry them)", err=True)
        sys.exit(1)
    return report


def _translate(input_path, output_path, api_key_env, cache_path, failures_path, batch_path, quiet,
               config: TranslateConfig, llm: LLMConfig) -> None:
    """Translate instruction data with an OpenAI-compatible LLM; resumable: rerun to finish a killed run."""
    from instruct.translate import format_report, translate_file

    with open(input_path, "rb") as handle:
        head = handle.read(4096).strip()
    if head in (b"", b"[]"):
        raise ConfigError(f"{input_path} holds no records: nothing to translate")

    def run(api_key: str):
        return translate_file(input_path, output_path, config=config, llm=llm, api_key=api_key,
                              cache_path=cache_path, failures_path=failures_path, batch_path=batch_path,
                              progress=not quiet)

    run_llm_job(run, format_report, llm, api_key_env, batch_path)


def _generate(inputs, output_path, select_dir, api_key_env, cache_path, failures_path, batch_path, quiet,
              config: GenerateConfig, llm: LLMConfig) -> None:
    """Generate grounded instruction data from corpus passages with an OpenAI-compatible LLM (resumable)."""
    from instruct.generate import format_report, generate_and_select

    selected: dict[str, Any] = {}

    def run(api_key: str):
        report, stats = generate_and_select(list(inputs), output_path, select_dir=select_dir, config=config,
                                            llm=llm, api_key=api_key, cache_path=cache_path,
                                            failures_path=failures_path, batch_path=batch_path, progress=not quiet)
        selected["stats"] = stats
        return report

    run_llm_job(run, format_report, llm, api_key_env, batch_path)
    if stats := selected.get("stats"):
        click.echo(f"selected: {stats['kept']} kept, {stats['rejected']} rejected {stats['by_reason']} "
                   f"-> {select_dir}")


def _batch_ingest(batch_output: Path, cache_path: Path, model: str | None) -> None:
    """Store an OpenAI Batch API output file in the response cache (then rerun `translate`)."""
    from instruct.llm_cache import ResponseCache, ingest_batch_output
    from instruct.llm_cost import PriceTable

    cache = ResponseCache(cache_path)
    try:
        report = ingest_batch_output(batch_output, cache)
    finally:
        cache.close()
    click.echo(f"stored {report.stored}, errors {report.errors} (sent again on the next run), "
               f"unknown ids {report.unknown}, malformed lines {report.malformed}")
    if model:
        click.echo(report.accounting.summary(model, PriceTable.load()))


JOBS = [
    Command("translate", _translate, {
        "input_path": Opt("Alpaca JSON/JSONL, ShareGPT JSON/JSONL, or generic JSONL (with --fields).",
                          flags=("-i", "--input"), required=True, type=EXISTING_FILE),
        "output_path": Opt("Output file, same format as the input (.json: a JSON array, else JSON Lines).",
                           flags=("-o", "--output"), required=True, type=FILE),
        "config.strategy": Opt("translate: every text field; answer: translate the question, let the model answer "
                               "it.", choices=STRATEGIES),
        "config.source_lang": Opt("", choices=tuple(LANG_NAMES)),
        "config.target_lang": Opt("", choices=tuple(LANG_NAMES)),
        "config.input_format": Opt("", flags=("--format",), choices=TRANSLATE_FORMATS),
        "config.fields": Opt("Generic JSONL: comma-separated text fields (the question).", sep=","),
        "config.answer_field": Opt("Generic JSONL: the answer field (filled by --strategy answer)."),
        **LLM,
    }, groups={"config": TranslateConfig, "llm": LLMConfig}),
    Command("batch-ingest", _batch_ingest, {
        "cache_path": Opt("The cache the `translate --batch` run used.", flags=("--cache",), required=True, type=FILE),
        "model": Opt("Model name, for the cost estimate.", default=None),
    }, arguments=(click.Argument(["batch_output"], type=EXISTING_FILE),)),
    Command("generate", _generate, {
        "config.method": Opt("Prompts: configs/prompts/generate_<method>.<lang>.txt.", choices=METHODS),
        "inputs": Opt("Corpus shards: a directory of shards or a shard file (.jsonl[.gz|.zst], .parquet); repeatable.",
                      flags=("-i", "--input"), multiple=True, required=True, type=EXISTING),
        "output_path": Opt("Output JSON Lines: instruction/input/output plus meta (doc id, passage offsets, scores).",
                           flags=("-o", "--output"), required=True, type=FILE),
        "config.lang": Opt("Prompt language; auto: per passage.", choices=("auto", *LANGS)),
        "config.per_passage": Opt("Questions or tasks asked for per passage.", type=POSITIVE),
        "config.max_tokens": Opt("Passage budget in estimated tokens (whole sentences).", flags=("--passage-tokens",),
                                 type=click.IntRange(min=16)),
        "config.max_passages": Opt("", type=POSITIVE),
        "config.min_grounding": Opt("Least share of answer bigrams (zh) / content words (en) found in the passage; "
                                    "0 disables.", convert=lambda share: share or None),
        "config.judge_threshold": Opt("Also score each example 1-5 with the same model and keep those >= this."),
        "select_dir": Opt("Then run the SFT selectors (dedup, near-dup, ROUGE-L diversity, length, refusals) on the "
                          "output into this directory, every drop with its reason.", flags=("--select",),
                          default=None, type=click.Path(file_okay=False, path_type=Path)),
        **LLM,
    }, groups={"config": GenerateConfig, "llm": LLMConfig}),
]

# --- SFT files ---------------------------------------------------------------------------------------------------


def _mix(config_path, output, base_dir, total, seed, dataset_name) -> None:
    """Combine instruction sets by counts or weights, seeded, with a provenance file."""
    import dataclasses

    from instruct.sft.mix import load_mix_config, mix

    config = load_mix_config(config_path, base_dir=base_dir)
    overrides = {k: v for k, v in (("total", total), ("seed", seed)) if v is not None}
    manifest = mix(dataclasses.replace(config, **overrides), output, dataset_name=dataset_name)
    shares = ", ".join(f"{s['name']} {s['taken']} ({s['share']:.2%})" for s in manifest["sources"])
    click.echo(f"mixed {manifest['total']} records into {output}: {shares}")


def _select(input_path, output_dir, dataset_name, settings: SelectSettings) -> None:
    """Drop empty, truncated, refused, off-length, off-language, repetitive and duplicate instructions."""
    from instruct.sft.select import select_file

    stats = select_file(input_path, output_dir, settings, dataset_name=dataset_name)
    reasons = ", ".join(f"{k} {v}" for k, v in stats["by_reason"].items()) or "none"
    click.echo(f"{stats['records']} records: kept {stats['kept']}, rejected {stats['rejected']} ({reasons})")
    click.echo(f"LLaMA-Factory entry {stats['dataset_name']!r} in {output_dir / 'dataset_info.json'}")


def _tokenize(input_path, output_dir, tokenizer_path, settings: TokenizeSettings) -> None:
    """Tokenise for SFT: input_ids, attention_mask, labels with prompt tokens set to -100."""
    from instruct.sft.tokenize import tokenize_file

    try:
        counts = tokenize_file(input_path, output_dir, tokenizer_path=tokenizer_path, settings=settings)["counts"]
    except (ValueError, FileNotFoundError) as err:  # a tokenizer that cannot serve this template
        raise click.ClickException(str(err)) from None
    click.echo(f"{counts['records']} records: wrote {counts['written']} to {output_dir} "
               f"({counts.get('truncated', 0)} truncated, {counts['records'] - counts['written']} rejected)")


def _split(input_path, output_dir, ratios, seed, by, provenance) -> None:
    """Split into train/dev/test by seed, stratified by source."""
    try:
        parsed = [float(x) for x in ratios]
    except ValueError:
        raise click.BadParameter(f"expected three numbers like 0.98,0.01,0.01, got {','.join(ratios)!r}") from None
    report = split_file(input_path, output_dir, ratios=parsed, seed=seed, by=by, provenance=provenance)
    click.echo(f"{report['records']} records -> " + ", ".join(f"{k} {v}" for k, v in report["splits"].items()))


SFT = [
    Command("mix", _mix, {
        "config_path": Opt("Mix YAML (e.g. configs/sft_mix_knowlm.yaml).", flags=("-c", "--config"), required=True,
                           type=EXISTING_FILE),
        "output": Opt("Mixed file (.json array or .jsonl); manifest and provenance are written beside it.",
                      flags=("-o", "--output"), required=True, type=FILE),
        "base_dir": Opt("Directory the config's relative source paths start from (default: current directory).",
                        default=None, type=click.Path(exists=True, file_okay=False, path_type=Path)),
        "total": Opt("Scale the mix to N records.", default=None, type=click.IntRange(min=0)),
        "seed": Opt("Override the config's seed.", default=None, type=int),
        "dataset_name": Opt("Also add a LLaMA-Factory dataset_info.json entry of this name.", default=None),
    }),
    Command("select", _select, {
        "input_path": SFT_INPUT,
        "output_dir": Opt("Directory for kept records, rejected.jsonl, scores.jsonl and _stats.json.",
                          flags=("-o", "--output"), required=True, type=click.Path(path_type=Path)),
        "min_instruction_tokens": Opt(""),
        "max_instruction_tokens": Opt(""),
        "min_output_tokens": Opt(""),
        "max_output_tokens": Opt(""),
        "languages": Opt("Allowed languages; empty turns the check off.", sep=",", convert=lambda langs: langs or None),
        "min_mtld": Opt(""),
        "max_mtld": Opt(""),
        "near_threshold": Opt("Jaccard for near-duplicate prompts; negative turns it off.", convert=_off_if_negative),
        "rouge_threshold": Opt("ROUGE-L F1 against kept prompts; negative turns it off.", convert=_off_if_negative),
        "compare": Opt("What duplicate rules compare; for IE sets use 'record' and --rouge-threshold -1.",
                       choices=COMPARE),
        "dataset_name": Opt("Name of the LLaMA-Factory dataset_info.json entry written beside the kept file "
                            "(default: the input file's name up to its first dot).", default=None),
    }, groups={"settings": SelectSettings}),
    Command("tokenize", _tokenize, {
        "input_path": SFT_INPUT,
        "output_dir": Opt("Output directory (datasets.save_to_disk), plus rejected.jsonl and _manifest.json.",
                          flags=("-o", "--output"), required=True, type=click.Path(path_type=Path)),
        "tokenizer_path": Opt("SentencePiece .model, tokenizer.json or HF directory (--template chat: an HF "
                              "directory).", flags=("--tokenizer",), required=True, type=EXISTING),
        "template": Opt("", choices=TEMPLATES),
        "max_source_len": Opt("", type=POSITIVE),
        "max_target_len": Opt("", type=POSITIVE),
    }, groups={"settings": TokenizeSettings}),
    Command("split", _split, {
        "input_path": Opt("Instruction file (.json or .jsonl).", flags=("-i", "--input"), required=True,
                          type=EXISTING_FILE),
        "output_dir": Opt("", flags=("-o", "--output"), required=True, type=click.Path(path_type=Path)),
        "ratios": Opt("train,dev,test shares.", sep=",", default=kwarg_default(split_file, "ratios")),
        "seed": Opt("", type=int, default=kwarg_default(split_file, "seed")),
        "by": Opt("Record field (dotted path) to stratify by.", default=kwarg_default(split_file, "by")),
        "provenance": Opt("A mix's .provenance.jsonl: stratify by the set each record came from instead.",
                          default=kwarg_default(split_file, "provenance"), type=EXISTING_FILE),
    }),
]

COMMANDS: list[Command] = [*IE, *JOBS, *SFT]
