"""The ``knowforge corpus``, ``tokenizer`` and ``run`` commands, generated from the stages they build.

Each stage command's options are the stage dataclass's own fields (type, default, choices) with the
``Opt`` of ``corpus/stage_options.py`` (help text, flag spelling); the standalone commands (report,
show, merge, inspect, score-train, train-page-model, train-text-model), the tokenizer commands and ``run`` declare theirs here.
``cli.py`` attaches these tables to its groups.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from corpus.options import Command, Opt, kwarg_default
from corpus.pack.stage import FORMATS
from corpus.page_training import train_from_files
from corpus.pipeline import ENGINES
from corpus.score.stage import MODEL_FORMATS, train_from_shards
from corpus.stage_options import POSITIVE, READ_OPTIONS, STAGE_OPTIONS
from corpus.steps import READERS, build_reader, build_step
from corpus.text_model import METHODS
from corpus.text_training import train_from_files as train_text_from_files
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


DEFAULT_WORKERS = os.cpu_count() or 1

STAGES = [_stage_command(name, spec.cls, spec.help, spec.options) for name, spec in STAGE_OPTIONS.items()]


def _read(inputs: tuple[Path, ...], output: Path | None, source: str, **options: Any):
    from corpus.pipeline import StageCall

    return StageCall(stage=build_reader(source, {k: v for k, v in options.items() if v is not None}),
                     inputs=list(inputs), output=output)


# `read`'s options are fields of the reader --source picks; each applies to the readers that have it, and
# one not given keeps that reader's own default.
READ = Command("read", _read, {
    **IO,
    "source": Opt("Input format of the raw files.", required=True, choices=sorted(READERS)),
    **READ_OPTIONS,
}, help="Read raw files into document shards (one output shard per input file).")


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


def _lang_values(items, flag: str, expected: str, valid) -> dict[str, str]:
    """``LANG=VALUE`` items of a repeatable option as a dict; a malformed one is a usage error naming it."""
    parsed = {}
    for item in items:
        lang, _, value = item.partition("=")
        if not lang or not valid(value):
            raise click.BadParameter(f"{item!r}: expected {expected}", param_hint=flag)
        parsed[lang] = value
    return parsed


def _score_train(inputs, model_out, fmt, orders, units, min_count, max_chars) -> None:
    """Train the n-gram perplexity models on reference text (e.g. Wikipedia shards)."""
    from corpus.score.arpa import ARPA_UNITS

    parsed = {lang: int(n) for lang, n in _lang_values(
        orders, "--order", "LANG=N, e.g. zh=4", lambda n: n.isdigit() and int(n) >= 1).items()}
    unit_of = _lang_values(units, "--units", f"LANG=UNIT with UNIT one of {', '.join(ARPA_UNITS)}, e.g. en=word",
                           lambda u: u in ARPA_UNITS)
    if unit_of and fmt != "arpa":
        raise click.BadParameter("units are for --format arpa (the json models are over characters)",
                                 param_hint="--units")
    summary = train_from_shards(list(inputs), model_out, min_count=min_count, max_chars=max_chars, fmt=fmt,
                                orders=parsed, units=unit_of)
    for lang, line in summary.items():
        click.echo(f"{lang}: {line}")
    click.echo(f"wrote {model_out}")


def _train_page_model(labelled, model_out, l2, threshold, features) -> None:
    """Train clean's page model (a logistic regression over page features) on JSONL labelled keep/drop."""
    from corpus.page_model import DEFAULT_FEATURES, write_model

    names = [f.strip() for f in features.split(",") if f.strip()] if features else list(DEFAULT_FEATURES)
    try:
        model = train_from_files(list(labelled), l2=l2, threshold=threshold, features=names)
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    write_model(model, model_out)
    prov = model.provenance
    for lang, counts in prov["pages"].items():
        fit = prov["training_fit"][lang]
        click.echo(f"{lang}: {counts['keep']} keep / {counts['drop']} drop pages; on them keep-recall "
                   f"{fit['keep_recall']}, drop-recall {fit['drop_recall']}")
    _echo_cross_validation(prov)
    if prov["skipped"]:
        click.echo("not pages the model judges: " + ", ".join(f"{n} {why}" for why, n in prov["skipped"].items()))
    click.echo(f"wrote {model_out}")


def _echo_cross_validation(provenance: dict, note: str = "") -> None:
    """Print a trained model's leave-one-file-out and leave-one-source-out figures, per language."""
    for key in ("file", "source"):
        cv = provenance.get(f"leave_one_{key}_out")
        if cv:
            figures = "; ".join(f"{lang} keep {r['keep_recall']} / drop {r['drop_recall']}"
                                for lang, r in cv["per_lang"].items())
            click.echo(f"leave-one-{key}-out ({cv['parts']} parts{note}): {figures}")


def _train_text_model(labelled, model_out, method, l2, threshold, bits, symbols, cv) -> None:
    """Train the word-reading text model (the ``text_model`` filter's) on JSONL labelled keep/drop."""
    from corpus.text_model import Hashing, write_model

    click.echo(f"training the text model on {len(labelled)} labelled file(s): clean, hash, fit"
               + (", then leave-one-file-out and leave-one-source-out cross-validation" if cv else ""),
               err=True)
    try:
        model = train_text_from_files(list(labelled), hashing=Hashing(bits=bits, symbols=symbols), method=method,
                                      l2=l2, threshold=threshold, cross_validation=cv)
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    write_model(model, model_out)
    prov = model.provenance
    for lang, counts in prov["records"].items():
        fit = prov["training_fit"].get(lang, {})
        click.echo(f"{lang}: {counts['keep']} keep / {counts['drop']} drop records; on those clean kept, "
                   f"keep-recall {fit.get('keep_recall')}, drop-recall {fit.get('drop_recall')}")
    _echo_cross_validation(prov, ", the model alone")
    click.echo(f"wrote {model_out} ({int((model.weights != 0).sum())} non-zero weights of {model.weights.size})")


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
        "fmt": Opt("json: pure-Python Witten-Bell character models; arpa: modified Kneser-Ney models as ARPA "
                   "files, scored with KenLM (the [kenlm] extra), one per language.", flags=("--format",),
                   choices=MODEL_FORMATS, default=kwarg_default(train_from_shards, "fmt")),
        "orders": Opt("N-gram order of a language's model, e.g. --order zh=4 (defaults: json zh=3 en=5; arpa: "
                      "characters zh=4 en=6, words 5).", flags=("--order",), multiple=True, metavar="LANG=N"),
        "units": Opt("--format arpa: tokens of a language's model, char or word, e.g. --units en=char "
                     "(defaults: zh=char en=word; other languages char).", flags=("--units",), multiple=True,
                     metavar="LANG=UNIT"),
        "min_count": Opt("Drop n-grams (order >= 3) seen fewer times: a smaller model.", type=POSITIVE, default=1),
        "max_chars": Opt("Training characters per language.", type=POSITIVE, default=None),
    }),
    Command("train-page-model", _train_page_model, {
        "labelled": Opt("Labelled JSON Lines: {text, label: keep|drop, lang?, source?} per line; repeatable.",
                        flags=("--labelled",), multiple=True, required=True,
                        type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        "model_out": Opt("Model JSON to write (clean's page_model option reads it).", flags=("-o", "--output", "--out"),
                         required=True, type=click.Path(dir_okay=False, path_type=Path)),
        "l2": Opt("L2 penalty on the standardised coefficients.", type=click.FloatRange(min=0, min_open=True),
                  default=kwarg_default(train_from_files, "l2")),
        "threshold": Opt("Least keep-probability kept; stored in the model.", type=click.FloatRange(0, 1),
                         default=kwarg_default(train_from_files, "threshold")),
        "features": Opt("Comma-separated names from corpus.page_model.FEATURES (default: DEFAULT_FEATURES, "
                        "one measure per kind of evidence).", default=None),
    }),
    Command("train-text-model", _train_text_model, {
        "labelled": Opt("Labelled JSON Lines: {text, label: keep|drop, lang?, source?} per line; repeatable. Each "
                        "record is cleaned as `read --source jsonl` + `clean` would leave it, and the model learns "
                        "from that text (what the text_model filter reads).",
                        flags=("--labelled",), multiple=True, required=True,
                        type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        "model_out": Opt("Model file to write (.npz: weights, hashing scheme, threshold, provenance; no text). "
                         "A filter config reads it: `- text_model: {model: FILE}`.", flags=("-o", "--output", "--out"),
                         required=True, type=click.Path(dir_okay=False, path_type=Path)),
        "method": Opt("logistic: L2 logistic regression (L-BFGS); naive_bayes: log-count ratios with a Platt scale.",
                      choices=METHODS, default=kwarg_default(train_text_from_files, "method")),
        "l2": Opt("logistic: L2 penalty (rows are unit-norm, the loss a weighted mean).",
                  type=click.FloatRange(min=0, min_open=True), default=kwarg_default(train_text_from_files, "l2")),
        "threshold": Opt("Least P(keep) kept; stored in the model (the filter's min_keep_prob: model).",
                         type=click.FloatRange(0, 1), default=kwarg_default(train_text_from_files, "threshold")),
        "bits": Opt("Hash buckets: 2**BITS.", type=click.IntRange(8, 26), default=18),
        "symbols": Opt("Count punctuation and symbols as tokens too (--no-symbols: letters, Han and digits only).",
                       flags=("--symbols",), type=bool, default=True),
        "cv": Opt("Record leave-one-file-out and leave-one-source-out figures in the model "
                  "(one more fit per file and per source).", flags=("--cv",), type=bool, default=True),
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
