"""The one explicit table of filter names usable in a filter YAML, and its checked builder.

Adding a filter is its own module, one line in ``FILTERS`` (and its import), and its test. Options are
checked by the shared builder (``corpus/builder.py``), so a filter YAML fails like a pipeline YAML does:
one ``ConfigError`` line naming the filter and the key.
"""

from __future__ import annotations

from typing import Any

from corpus.builder import build
from corpus.filters.base import Filter
from corpus.filters.c4 import C4Filter
from corpus.filters.code import CodeFilter
from corpus.filters.fasttext_classifier import FastTextClassifierFilter
from corpus.filters.gopher import GopherQualityFilter, GopherRepetitionFilter
from corpus.filters.harmful import HarmfulFilter
from corpus.filters.langid import LangIdFilter
from corpus.filters.promo import PromoFilter
from corpus.filters.quality_zh import ZhQualityFilter
from corpus.filters.readings import InjectedReadingsFilter
from corpus.filters.seo import SeoSpamFilter
from corpus.filters.text_model import TextModelFilter
from corpus.filters.trading import TradingCallsFilter

# Each filter's key is its own ``name``, the key its scores are stored under in meta["scores"].
FILTERS: dict[str, type[Filter]] = {
    cls.name: cls
    for cls in (
        ZhQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
        C4Filter,
        CodeFilter,
        LangIdFilter,
        HarmfulFilter,
        PromoFilter,
        InjectedReadingsFilter,
        TradingCallsFilter,
        SeoSpamFilter,
        TextModelFilter,
        FastTextClassifierFilter,
    )
}


def build_filter(name: str, options: dict[str, Any] | None = None) -> Filter:
    """Construct filter ``name`` from YAML options, rejecting unknown keys with one clear line."""
    return build("filter", FILTERS, name, dict(options or {}))
