"""Packing: greedy complete-sentence samples written as Megatron indexed datasets, KnowLM's layout or Parquet."""
