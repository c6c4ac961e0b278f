"""What an LLM run costs: token and request counters per run, and model prices (US$ per million tokens,
``configs/llm_prices.yaml``), with the Batch API discount. Prices are estimates from the price table;
what the provider bills is the authority.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from corpus.resources import shipped

DEFAULT_PRICES = shipped("configs/llm_prices.yaml")


@dataclass(frozen=True, kw_only=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float


@dataclass(frozen=True, kw_only=True)
class PriceTable:
    """Model prices; a model matches its longest listed prefix (``gpt-4o-2024-08-06`` -> ``gpt-4o``)."""

    models: Mapping[str, Price]
    batch_discount: float = 0.5

    @classmethod
    def load(cls, path: Path = DEFAULT_PRICES) -> PriceTable:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        models = {name: Price(input=float(p["input"]), output=float(p["output"])) for name, p in data["models"].items()}
        return cls(models=models, batch_discount=float(data.get("batch_discount", 0.5)))

    def lookup(self, model: str) -> Price | None:
        matches = [name for name in self.models if model == name or model.startswith(name + "-")]
        return self.models[max(matches, key=len)] if matches else None


@dataclass(kw_only=True)
class Accounting:
    """Counters for one run. ``requests`` counts HTTP attempts sent; ``cache_hits`` calls answered from
    the cache or by an identical request already in flight; tokens count paid responses only."""

    requests: int = 0
    cache_hits: int = 0
    retries: int = 0
    failures: int = 0
    deferred: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    batch_prompt_tokens: int = 0
    batch_completion_tokens: int = 0
    retry_kinds: Counter[str] = field(default_factory=Counter)
    failure_reasons: Counter[str] = field(default_factory=Counter)

    def add_usage(self, usage: Mapping[str, Any] | None, *, batch: bool = False) -> None:
        usage = usage or {}
        prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        if batch:
            self.batch_prompt_tokens += prompt
            self.batch_completion_tokens += completion
        else:
            self.prompt_tokens += prompt
            self.completion_tokens += completion

    def cost(self, model: str, prices: PriceTable | None) -> float | None:
        """Estimated USD for this run's paid tokens, or None if the model has no listed price."""
        price = prices.lookup(model) if prices else None
        if price is None:
            return None
        online = self.prompt_tokens * price.input + self.completion_tokens * price.output
        batch = self.batch_prompt_tokens * price.input + self.batch_completion_tokens * price.output
        return (online + batch * (1 - prices.batch_discount)) / 1e6

    def summary(self, model: str, prices: PriceTable | None) -> str:
        """A short multi-line report for the terminal."""
        cost = self.cost(model, prices)
        lines = [
            f"requests sent      {self.requests}",
            f"cache hits         {self.cache_hits}",
            f"retries            {self.retries}"
            + (f"  ({', '.join(f'{k} {v}' for k, v in sorted(self.retry_kinds.items()))})" if self.retry_kinds else ""),
            f"failed requests    {self.failures}"
            + (f"  ({', '.join(f'{k} {v}' for k, v in sorted(self.failure_reasons.items()))})" if self.failures else ""),
            f"prompt tokens      {self.prompt_tokens + self.batch_prompt_tokens}",
            f"completion tokens  {self.completion_tokens + self.batch_completion_tokens}",
            f"estimated cost     {'n/a (model not in the price table)' if cost is None else f'${cost:.4f}'}",
        ]
        if self.deferred:
            lines.append(f"deferred to batch  {self.deferred}")
        return "\n".join(lines)

