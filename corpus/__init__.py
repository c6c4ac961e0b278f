"""Pretraining corpus: document records and shards, the stage runner, readers, cleaning,
filters, dedup, sentence splitting, tokenizers, packing and Megatron indexed datasets."""

__version__ = "0.1.0"
