"""The ``knowforge corpus`` and ``knowforge tokenizer`` commands, generated from the stages they build.

Each stage command's options are the stage dataclass's own fields (type, default, choices); the
``Opt`` here adds the help text and the flag's spelling (here, not in the field's metadata: a stage
module's source is part of its shards' fingerprints, so a help text edited there would redo every shard).
``cli.py`` attaches these tables to its groups. Fields a command does not list are YAML-only
(``YAML_ONLY``, tested), so a new field is a choice.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from corpus.clean import CleanStep
from corpus.dedup.exact import ExactDedupStep
from corpus.dedup.lines import LineDedupStep
from corpus.dedup.near import NearDedupStep
from corpus.filters.base import FilterStep
from corpus.filters.pii import PiiStep
from corpus.options import Command, Opt, literal_choices, user_fields
from corpus.pack.stage import FORMATS, PackStep
from corpus.pipeline import ENGINES
from corpus.readers.wikitext import MATH_POLICIES, TABLE_POLICIES
from corpus.score.stage import SCORERS, ScoreStep
from corpus.stats import StatsStep
from corpus.steps import READERS, build_reader, build_step
from corpus.tokenizers.train import MODEL_TYPES, TrainSettings

IO = {
    "inputs": Opt("Input directory of shards (or raw files for `read`); repeatable. Default: the previous stage's "
                  "output.", flags=("-i", "--input"), multiple=True, type=click.Path(exists=True, path_type=Path)),
    "output": Opt("Output directory. Default: WORK_DIR/NN-STAGE when chained.", flags=("-o", "--output"),
                  default=None, type=click.Path(file_okay=False, path_type=Path)),
}


def _stage_command(name: str, cls: type, help: str, options: dict[str, Opt]) -> Command:
    """A chainable stage command: its options build ``cls`` through the checked ``build_step``."""

    def run(inputs: tuple[Path, ...], output: Path | None, stage: Any):
        from corpus.pipeline import StageCall

        return StageCall(stage, list(inputs), output)

    return Command(name, run, {**IO, **options}, groups={"stage": cls}, help=help,
                   build=lambda group, cls, fields: build_step(name, fields))


def _absolute_if_local(path: str) -> str:
    # Absolute when it is a local path, so the manifest names it from anywhere (`inspect --decode`).
    return str(Path(path).resolve()) if Path(path).exists() else path


POSITIVE = click.IntRange(min=1)
DEFAULT_WORKERS = os.cpu_count() or 1

STAGES = [
    _stage_command("clean", CleanStep, "Normalise text: widths (Chinese punctuation kept), markup, controls, "
                   "whitespace; code is never reflowed.", {
        "opencc": Opt("OpenCC conversion for every document, e.g. t2s."),
        "nfkc": Opt("Keep full-width forms (no Unicode NFKC).", flags=("--no-nfkc",), invert=True),
        "strip_markup": Opt("Keep leftover HTML tags and entities.", flags=("--keep-markup",), invert=True),
        "drop_navigation": Opt('Keep navigation lines such as "返回顶部".', flags=("--keep-navigation",), invert=True),
    }),
    _stage_command("dedup-exact", ExactDedupStep, "Drop documents whose normalised text was seen before (keeps the "
                   "first by source priority, shard, line).", {
        "source_priority": Opt("Source kept first among equal texts; repeatable, in order.", multiple=True),
    }),
    _stage_command("stats", StatsStep, "Count documents, characters and bytes per source; passes documents through "
                   "unchanged.", {}),
    _stage_command("filter", FilterStep, "Quality, language and harmful-content filters; every drop goes to "
                   "rejected/ with its reason.", {
        "config": Opt("Filter YAML: `filters:` for one chain, or `route:` per zh/en/code (see configs/filters/)."),
        "annotate": Opt("Score with every filter into meta.scores; drop nothing."),
    }),
    _stage_command("pii", PiiStep, "Mask emails, phones, Chinese IDs (checksum), bank cards (Luhn) and IPs with "
                   "<TYPE> placeholders.", {
        "kinds": Opt("Comma-separated kinds of personal data to mask.", sep=","),
    }),
    _stage_command("dedup-lines", LineDedupStep, "Remove lines repeated across many documents (footers, "
                   "navigation); documents left empty are rejected.", {
        "min_docs": Opt("A line found in at least this many documents is boilerplate.", type=click.IntRange(min=2)),
        "min_chars": Opt("Shorter lines (normalised) are never removed: headings and list markers recur.",
                         type=POSITIVE),
    }),
    _stage_command("dedup", NearDedupStep, "Remove near-duplicate documents with MinHash LSH (Chinese-aware "
                   "shingles); keeps one per cluster.", {
        "threshold": Opt("Jaccard similarity of shingle sets at which documents are duplicates.",
                         type=click.FloatRange(0, 1, min_open=True, max_open=True)),
        "num_perm": Opt("MinHash signature length.", type=POSITIVE),
        "ngram": Opt("CJK character n-gram size (see docs/dedup.md).", type=POSITIVE),
        "word_ngram": Opt("Word n-gram size for other scripts.", type=POSITIVE),
        "bands": Opt("LSH bands (with --rows); default derived.", type=POSITIVE),
        "rows": Opt("LSH rows per band (with --bands).", type=POSITIVE),
        "minhash": Opt("fast: one-permutation hashing; classic: datasketch-identical k permutations."),
        "verify": Opt("Confirm candidates with exact shingle Jaccard; --no-verify uses the MinHash estimate."),
        "annotate": Opt("Only mark duplicates in meta.minhash; reject nothing."),
        "source_priority": Opt("Source kept first within a cluster; repeatable, in order.", multiple=True),
    }),
    _stage_command("score", ScoreStep, "Score documents into meta.scores.ppl and optionally split them into quality "
                   "buckets.", {
        "scorer": Opt("ppl: per-character perplexity under our n-gram models (no fastText classifier here).",
                      choices=SCORERS),
        "model": Opt("Model: a .json.gz from `corpus score-train`, or a directory of KenLM models (<lang>.arpa or "
                     "<lang>.bin, CCNet's <lang>.sp.model beside them; needs the [kenlm] extra). Default: "
                     "data_samples/score/char-ngram.json.gz.", default=None),
        "buckets": Opt("Comma-separated bucket names, best first (e.g. head,middle,tail): per-language perplexity "
                       "quantiles, written to OUT/<bucket>/.", sep=",", convert=lambda names: names or None),
        "quantiles": Opt("Cut points for the buckets, e.g. 0.3,0.6 (default: equal parts).", sep=",",
                         convert=lambda cuts: tuple(float(q) for q in cuts) or None),
    }),
    _stage_command("pack", PackStep, "Tokenize and pack documents into samples of complete sentences; merges shards "
                   "into OUTPUT/merged.", {
        "tokenizer": Opt("SentencePiece .model, tokenizer.json or HF directory (default: the embedded demo model).",
                         default=None, convert=_absolute_if_local),
        "max_tokens": Opt("Most tokens per sample, BOS/EOS included.", type=click.IntRange(min=3)),
        "pack_docs": Opt("Also fill samples with consecutive short documents (EOS between)."),
        "bos_eos": Opt("doc: BOS on a document's first sample, EOS on its last (KnowLM); sample: on every sample."),
        "min_tokens": Opt("Drop samples shorter than this (KnowLM drops <= 20 tokens: use 21).",
                          type=click.IntRange(min=0)),
        "format": Opt("Megatron .bin/.idx, KnowLM's .bin/.idx, or Parquet input_ids.", choices=FORMATS),
    }),
]

# Fields only a YAML pipeline sets (tuning knobs and lists a command line would make unreadable).
YAML_ONLY = {
    "clean": {"boilerplate_lists", "drop_repeats", "drop_trailing_lists", "keep_layout_sources",
              "extracted_sources", "max_furniture_ratio"},
    "dedup": {"seed"},
    "pack": {"batch_docs"},
}


def _read(inputs: tuple[Path, ...], output: Path | None, source: str, **options: Any):
    from corpus.pipeline import StageCall

    return StageCall(stage=build_reader(source, {k: v for k, v in options.items() if v is not None}),
                     inputs=list(inputs), output=output)


# `read`'s options are fields of the reader --source picks; each applies to the readers that have it, and
# one not given keeps that reader's own default.
READ = Command("read", _read, {
    **IO,
    "source": Opt("Input format of the raw files.", required=True, choices=sorted(READERS)),
    "text_field": Opt("jsonl/parquet: field holding the text (default: text).", default=None),
    "id_field": Opt("jsonl/parquet: field holding a stable id (default: id).", default=None),
    "lang": Opt("wiki: dump language (zh or en); default from the file name.", default=None),
    "source_name": Opt("Value of the `source` field (default: --source).", flags=("--name",), default=None),
    "namespaces": Opt("wiki: comma-separated namespace numbers to read (default: 0).", default=None, sep=",",
                      convert=lambda items: tuple(int(n) for n in items) or None),  # "": not given
    "keep_redirects": Opt("wiki: emit redirects (text = target title).", type=bool, default=None),
    "opencc": Opt("wiki: OpenCC config (default auto: t2s for zh; 'none' to keep).", default=None),
    "tables": Opt("wiki: drop tables with their lead-in sentence (default) or keep them as text rows.",
                  choices=TABLE_POLICIES, default=None),
    "math": Opt("wiki: <math> as $LaTeX$ (default), as a placeholder, or dropped.", choices=MATH_POLICIES,
                default=None),
    "doocs_lang": Opt("leetcode: doocs README language (default: en).", choices=("en", "zh"), default=None),
    "solution_ext": Opt("leetcode: doocs Solution.<ext> to include (default: py).", default=None),
}, help="Read raw files into document shards (one output shard per input file).")

# Reader fields only a YAML pipeline sets.
READ_YAML_ONLY = {"max_line_bytes", "disambiguation_templates"}


def yaml_choices(kind: str, name: str) -> dict[str, tuple]:
    """The choices the command line offers for a step's (``kind`` "step") or reader's fields, so a YAML
    value outside them fails before the run as a flag's would: one declaration for both."""
    commands = [READ] if kind == "reader" else [c for c in STAGES if c.name == name]
    fields = user_fields(READERS[name]) if kind == "reader" else {}
    found: dict[str, tuple] = {}
    for command in commands:
        for param in command.params():
            field = param.key.rsplit(".", 1)[-1]
            choices = param.opt.choices or literal_choices(param.annotation)
            if choices and (kind != "reader" or field in fields):
                found[field] = tuple(choices)
    return found


# --- standalone corpus commands: they print and return None, so a chain runs no stage for them ---------


def _report(directory: Path, html_path: Path | None) -> None:
    """Print the drop table of a stage output (or of every stage of a work directory), with thresholds
    and example documents per reason, and write an HTML page of score histograms."""
    from corpus.report import collect, drop_table, is_stage_dir, stage_dirs, write_html
    from corpus.steps import ConfigError

    stages = [directory] if is_stage_dir(directory) or not stage_dirs(directory) else stage_dirs(directory)
    if len(stages) > 1 and html_path is not None:
        raise ConfigError(f"{directory} is a work directory of {len(stages)} stages: --html takes one stage's "
                          "directory; without it each stage gets its own _report.html")
    for stage in stages:
        try:
            report = collect(stage)
        except FileNotFoundError as err:  # not a stage directory: the user's mistake, said in one line
            raise ConfigError(str(err)) from None
        if stage != directory:
            click.echo(f"== {stage.name}")
        click.echo(drop_table(report))
        click.echo(f"histograms: {write_html(report, html_path or stage / '_report.html')}")


def _show(doc_id: str, work_dir: Path) -> None:
    """Print one document's fate through every stage of WORK_DIR: read, kept, changed, or dropped and why."""
    from corpus.report import document_fate
    from corpus.steps import ConfigError

    try:
        lines = document_fate(work_dir, doc_id)
    except (FileNotFoundError, LookupError) as err:
        raise ConfigError(str(err).strip("'\"")) from None
    click.echo("\n".join(lines))


def _score_train(inputs, model_out, fmt, orders, min_count, max_chars) -> None:
    """Train the character n-gram perplexity models on reference text (e.g. Wikipedia shards)."""
    from corpus.score.stage import train_from_shards

    parsed = {}
    for item in orders:
        lang, _, n = item.partition("=")
        if not lang or not n.isdigit() or int(n) < 1:
            raise click.BadParameter(f"{item!r}: expected LANG=N, e.g. zh=4", param_hint="--order")
        parsed[lang] = int(n)
    summary = train_from_shards(list(inputs), model_out, min_count=min_count, max_chars=max_chars, fmt=fmt,
                                orders=parsed)
    for lang, line in summary.items():
        click.echo(f"{lang}: {line}")
    click.echo(f"wrote {model_out}")


def _merge(prefixes, out_prefix, fmt, types) -> None:
    """Merge packed outputs (PREFIX.bin/.idx or PREFIX.parquet) into one, in the order given."""
    from corpus.pack.stage import merge_outputs

    try:
        if types and len(types) != len(prefixes):
            raise ValueError(f"{len(types)} --type for {len(prefixes)} prefixes: give one per prefix")
        counts = merge_outputs(fmt, [Path(p) for p in prefixes], Path(out_prefix), types=list(types) or None)
    except (FileNotFoundError, ValueError) as err:
        raise click.UsageError(str(err)) from None
    click.echo(f"merged {len(prefixes)} into {out_prefix}")
    if types:
        names = list(dict.fromkeys(types))
        click.echo("samples per type (OUT.dis): " + ", ".join(f"{t} {n:,}" for t, n in zip(names, counts, strict=True)))


def _inspect(prefix, tokenizer_path, decode) -> None:
    """Print sample and token counts, length statistics and decoded samples of a packed output."""
    from corpus.pack.inspect import inspect_summary
    from corpus.pack.stage import DEFAULT_TOKENIZER

    if tokenizer_path is None and decode:
        tokenizer_path = _packed_with(Path(prefix))
    try:
        click.echo(inspect_summary(prefix, tokenizer_path or DEFAULT_TOKENIZER, decode))
    except (FileNotFoundError, ValueError) as err:
        raise click.UsageError(str(err)) from None


def _packed_with(prefix: Path) -> str:
    """The tokenizer the pack stage's manifest beside ``prefix`` records, else the demo model; said aloud."""
    import orjson

    from corpus.pack.stage import DEFAULT_TOKENIZER

    manifest = prefix.parent / "_manifest.json"
    try:
        recorded = orjson.loads(manifest.read_bytes()).get("config", {}).get("tokenizer")
    except (OSError, orjson.JSONDecodeError, AttributeError):
        recorded = None
    if recorded:
        click.echo(f"decoding with {recorded}, the tokenizer {manifest} records", err=True)
        return str(recorded)
    click.echo(f"no --tokenizer and no {manifest}: decoding with the demo model {DEFAULT_TOKENIZER}", err=True)
    return str(DEFAULT_TOKENIZER)


STANDALONE = [
    Command("report", _report, {
        "html_path": Opt("Where to write the HTML page of score histograms. Default: DIRECTORY/_report.html.",
                         flags=("--html",), default=None, type=click.Path(dir_okay=False, path_type=Path)),
    }, arguments=(click.Argument(["directory"], type=click.Path(exists=True, file_okay=False, path_type=Path)),)),
    Command("show", _show, {}, arguments=(
        click.Argument(["doc_id"]),
        click.Argument(["work_dir"], type=click.Path(exists=True, file_okay=False, path_type=Path)))),
    Command("score-train", _score_train, {
        "inputs": Opt("Reference shards (directory or file); repeatable. Language from meta.lang or the script.",
                      flags=("-i", "--input"), multiple=True, required=True, type=click.Path(exists=True,
                                                                                               path_type=Path)),
        "model_out": Opt("Model to write: a .json.gz file (--format json) or a directory (--format arpa).",
                         flags=("-o", "--output"), required=True, type=click.Path(path_type=Path)),
        "fmt": Opt("json: pure-Python Witten-Bell character models; arpa: modified Kneser-Ney character models "
                   "as ARPA files, scored with KenLM (the [kenlm] extra), one per language.", flags=("--format",),
                   choices=("json", "arpa"), default="json"),
        "orders": Opt("N-gram order of a language's model, e.g. --order zh=4 (defaults: json zh=3 en=5, arpa "
                      "zh=4 en=6).", flags=("--order",), multiple=True, metavar="LANG=N"),
        "min_count": Opt("Drop n-grams (order >= 3) seen fewer times: a smaller model.", type=POSITIVE, default=1),
        "max_chars": Opt("Training characters per language.", type=POSITIVE, default=None),
    }),
    Command("merge", _merge, {
        "out_prefix": Opt("Output prefix (writes OUT.bin/.idx).", flags=("-o", "--output"), required=True),
        "fmt": Opt("", flags=("--format",), choices=FORMATS, default="megatron"),
        "types": Opt("Dataset type of each prefix, in order (KnowLM's --merge_path_type; --format knowlm): "
                     "same type = one group in OUT.dis.", flags=("--type",), multiple=True),
    }, arguments=(click.Argument(["prefixes"], nargs=-1, required=True),)),
    Command("inspect", _inspect, {
        "tokenizer_path": Opt("Tokenizer to decode with (default: demo model).", flags=("--tokenizer",),
                              default=None),
        "decode": Opt("Decode and print the first N samples.", type=click.IntRange(min=0), default=0,
                      show_default=False),
    }, arguments=(click.Argument(["prefix"]),)),
]

CORPUS_COMMANDS: list[Command] = [READ, *STAGES, *STANDALONE]


# --- running chains: `knowforge corpus`'s own options and `knowforge run` ----------------------------------

NO_FUSE_HELP = ("Run each per-document stage (clean, filter, pii, ...) on its own and write its kept documents; "
                "by default consecutive ones share one pass and only the last writes them (same bytes).")
ENGINE = {
    "engine": Opt("local: --workers processes; ray: a Ray cluster (needs the [ray] extra), same output.",
                  choices=ENGINES, default="local"),
    "ray_address": Opt("--engine ray: 'auto' (a `ray start` cluster) or ray://HOST:10001; default: a local Ray.",
                       flags=("--address",), default=None),
}
CHAIN_OPTIONS = {
    "work_dir": Opt("Where chained stages write their outputs (WORK_DIR/01-read, 02-clean, ...).",
                    flags=("-w", "--work-dir"), type=click.Path(file_okay=False, path_type=Path),
                    default=Path("knowforge-work")),
    "workers": Opt("Worker processes; output is byte-identical for any count.", type=POSITIVE,
                   default=DEFAULT_WORKERS),
    "force": Opt("Redo shards already marked done in _done/.", type=bool, default=False),
    "quiet": Opt("No progress bars.", type=bool, default=False),
    "no_fuse": Opt(NO_FUSE_HELP, type=bool, default=False),
    **ENGINE,
}


def _run(config: Path, work_dir, workers, force, quiet, dry_run, no_fuse, engine, ray_address) -> None:
    """Run a pipeline written in YAML (see configs/ for one per real job), locally or on Ray."""
    from corpus.pack.merge import samples_per_type
    from corpus.pipeline import load_config, plan_text, run_config, summary_table

    cfg = load_config(config)
    if dry_run:
        click.echo(plan_text(cfg, work_dir=work_dir, workers=workers, engine=engine, fuse=not no_fuse))
        return
    reports = run_config(cfg, work_dir=work_dir, workers=workers, force=force, progress=not quiet,
                         engine=engine, ray_address=ray_address, fuse=not no_fuse)
    click.echo(summary_table(reports))
    for report in reports:  # a typed merge (configs/knowlm.yaml): what KnowLM's trainer will sample from
        if line := samples_per_type(report):
            click.echo(f"samples per type in {report.output}/merged.dis: {line}")


RUN = Command("run", _run, {
    "work_dir": Opt("Override work_dir.", flags=("-w", "--work-dir"), default=None,
                    type=click.Path(file_okay=False, path_type=Path)),
    "workers": Opt("Override workers.", type=POSITIVE, default=None),
    "force": Opt("Redo shards already marked done.", type=bool, default=False),
    "quiet": Opt("No progress bars.", type=bool, default=False),
    "dry_run": Opt("Print the plan (stages, inputs, outputs, options); run nothing.", type=bool, default=False),
    "no_fuse": Opt(NO_FUSE_HELP + " YAML: `fuse: false`.", type=bool, default=False),
    **ENGINE,
}, arguments=(click.Argument(["config"], type=click.Path(exists=True, dir_okay=False, path_type=Path)),))
PIPELINE_COMMANDS = [RUN]


# --- knowforge tokenizer ------------------------------------------------------------------------------------


def _tokenizer_train(inputs, output, hf_dir, settings) -> None:
    """Train a SentencePiece model (byte fallback, split digits, identity normalisation, LLaMA ids)."""
    from corpus.tokenizers.flow import train_tokenizer

    result = train_tokenizer(inputs, output, settings, hf_dir=hf_dir)
    click.echo(f"wrote {result.model} and {result.hf_dir}")
    if result.pieces < settings.vocab_size:
        # hard_vocab_limit=False lets a small corpus stop early; say so rather than leave a surprise.
        click.echo(f"note: the vocabulary has {result.pieces:,} pieces, fewer than the --vocab-size "
                   f"{settings.vocab_size:,} asked: the input has too little text for more (train on more text "
                   "for the full size)", err=True)
    click.echo(result.report)


def _tokenizer_extend(base, add_chars, from_corpus, count, eval_paths, output, hf_dir) -> None:
    """Append pieces to a SentencePiece model (as Chinese-LLaMA did) and report chars/token before/after."""
    from corpus.tokenizers.flow import extend_tokenizer

    if (add_chars is None) == (from_corpus is None):
        raise click.UsageError("give exactly one of --add-chars FILE or --from-corpus DIR")
    result = extend_tokenizer(base, output, add_chars=add_chars, from_corpus=from_corpus, count=count,
                              eval_paths=eval_paths, hf_dir=hf_dir)
    click.echo(f"added {len(result.added)} pieces; wrote {output} and {result.hf_dir}")
    if result.report:
        click.echo(result.report)


_MODEL_FILE = click.Path(dir_okay=False, path_type=Path)

TOKENIZER_COMMANDS = [
    Command("train", _tokenizer_train, {
        "inputs": Opt("Shard files, directories of shards, or .txt files; repeatable.", flags=("-i", "--input"),
                      multiple=True, required=True, type=click.Path(exists=True, path_type=Path)),
        "output": Opt("Output .model path.", flags=("-o", "--output"), required=True, type=_MODEL_FILE),
        "settings.vocab_size": Opt("", type=click.IntRange(min=300)),
        "settings.model_type": Opt("", choices=MODEL_TYPES),
        "settings.character_coverage": Opt(""),
        "hf_dir": Opt("Also write a Hugging Face directory here (default: OUTPUT without suffix + '-hf').",
                      default=None, type=click.Path(path_type=Path)),
    }, groups={"settings": TrainSettings}),
    Command("extend", _tokenizer_extend, {
        "base": Opt("SentencePiece .model to extend.", required=True,
                    type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        "add_chars": Opt("File with one new piece (usually one character) per line.", default=None,
                         type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        "from_corpus": Opt("Add the most frequent CJK characters of this corpus that BASE lacks.", default=None,
                           type=click.Path(exists=True, path_type=Path)),
        "count": Opt("With --from-corpus: how many characters to add.", type=POSITIVE, default=7000),
        "eval_paths": Opt("Text for the chars/token report (default: --from-corpus).", flags=("--eval",),
                          multiple=True, type=click.Path(exists=True, path_type=Path)),
        "output": Opt("Output .model path.", flags=("-o", "--output"), required=True, type=_MODEL_FILE),
        "hf_dir": Opt("Hugging Face directory (default: OUTPUT without suffix + '-hf').", default=None,
                      type=click.Path(path_type=Path)),
    }),
]
