"""The SFT part of ``knowforge demo``: select, then tokenise, the instruction samples in ``data_samples/instruct/``.

Alpaca samples (our own zh and en records) go through the KnowLM Alpaca template, the FastChat ShareGPT
sample through the chat template of the shipped LLaMA-style tokenizer (``data_samples/tokenizer/llama-hf``).
Offline and fast; mixing and splitting are not part of the demo (they need sets of real size).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from corpus.resources import shipped
from instruct.sft.io import dataset_info_entry, write_dataset_info
from instruct.sft.select import SelectSettings, select_file
from instruct.sft.tokenize import TokenizeSettings, tokenize_file

DATA = shipped("data_samples")
SAMPLES = DATA / "instruct"
TOKENIZER = DATA / "tokenizer" / "llama-hf"

# (sample file, record format, template)
_JOBS = (
    ("alpaca_zh.sample30.json", "alpaca", "alpaca"),
    ("alpaca_en.sample30.json", "alpaca", "alpaca"),
    ("sharegpt_dummy.sample20.json", "sharegpt", "chat"),
)


def run_sft_demo(
    output_dir: Path, echo: Callable[[str], None], *, samples: Path = SAMPLES, tokenizer: Path = TOKENIZER
) -> dict[str, Any]:
    """Write ``selected/<name>/`` (kept, rejected, scores, stats, plus a LLaMA-Factory ``dataset_info.json``
    in ``selected/``) and ``tokenized/<name>/`` (a ``datasets`` dataset) under ``output_dir``; return counts."""
    output_dir = Path(output_dir)
    report: dict[str, Any] = {}
    for file_name, fmt, template in _JOBS:
        name = file_name.split(".")[0]
        selected_dir = output_dir / "selected" / name
        stats = select_file(samples / file_name, selected_dir, SelectSettings())
        write_dataset_info(output_dir / "selected", name,
                           dataset_info_entry(f"{name}/{file_name}", fmt))
        manifest = tokenize_file(selected_dir / file_name, output_dir / "tokenized" / name, tokenizer_path=tokenizer,
                                 settings=TokenizeSettings(template=template, max_source_len=512, max_target_len=512))
        counts = manifest["counts"]
        report[name] = {"records": stats["records"], "kept": stats["kept"], "rejected": stats["by_reason"],
                        "tokenized": counts["written"], "tokens": counts.get("tokens", 0),
                        "trained_tokens": counts.get("trained_tokens", 0), "template": template}
        reasons = ", ".join(f"{k} {v}" for k, v in stats["by_reason"].items()) or "none"
        echo(f"sft {name}: {stats['records']} records, kept {stats['kept']} (dropped: {reasons}); "
             f"tokenized {counts['written']} with '{template}', {counts.get('tokens', 0)} tokens, "
             f"{counts.get('trained_tokens', 0)} trained")
    return report
