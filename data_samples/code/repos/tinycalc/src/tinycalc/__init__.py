"""A tiny calculator used as a sample repository."""

from tinycalc.core import evaluate

__all__ = ["evaluate"]
