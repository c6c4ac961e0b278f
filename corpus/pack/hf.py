"""Packed samples as Parquet for Hugging Face ``datasets``: one row per sample.

Columns: ``input_ids`` (list<int32>, BOS/EOS included as configured) and ``document`` (int64, the
running number of the source document within the file, so samples of one document can be regrouped).
Load with ``datasets.load_dataset("parquet", data_files=".../merged.parquet")``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA = pa.schema([("input_ids", pa.list_(pa.int32())), ("document", pa.int64())])
ROWS_PER_GROUP = 8192  # samples buffered before a row group is written (~32 MB at 1024 tokens)


class ParquetSampleWriter:
    """Stream samples into a Parquet file in row groups (memory: one row group)."""

    def __init__(self, path: str | Path) -> None:
        self._writer = pq.ParquetWriter(str(path), SCHEMA, compression="zstd")
        self._rows: list[np.ndarray] = []
        self._docs: list[int] = []
        self._document = 0
        self._open_doc = False

    def add_sequence(self, tokens: np.ndarray) -> None:
        self._rows.append(np.asarray(tokens, dtype=np.int32))
        self._docs.append(self._document)
        self._open_doc = True
        if len(self._rows) >= ROWS_PER_GROUP:
            self._flush()

    def add_documents(self, tokens: np.ndarray, lengths: np.ndarray) -> None:
        """Append several one-sample documents at once: ``tokens`` back to back, ``lengths`` each."""
        self.end_document()
        for sample in np.split(np.asarray(tokens), np.cumsum(lengths)[:-1]):
            self.add_sequence(sample)
            self.end_document()

    def end_document(self) -> None:
        if self._open_doc:
            self._document += 1
            self._open_doc = False

    def _flush(self) -> None:
        if not self._rows:
            return
        lengths = np.fromiter((r.size for r in self._rows), dtype=np.int32, count=len(self._rows))
        offsets = np.zeros(len(self._rows) + 1, dtype=np.int32)
        np.cumsum(lengths, out=offsets[1:])
        ids = pa.ListArray.from_arrays(pa.array(offsets), pa.array(np.concatenate(self._rows)))
        table = pa.Table.from_arrays([ids, pa.array(self._docs, type=pa.int64())], schema=SCHEMA)
        self._writer.write_table(table)
        self._rows, self._docs = [], []

    def close(self) -> None:
        self._flush()
        self._writer.close()

    def __enter__(self) -> ParquetSampleWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._writer.close()


def merge(paths: list[str | Path], out: str | Path) -> None:
    """Concatenate Parquet sample files row group by row group; ``document`` numbers are shifted."""
    shift = 0
    with pq.ParquetWriter(str(out), SCHEMA, compression="zstd") as writer:
        for path in paths:
            f = pq.ParquetFile(str(path))
            top = -1
            for g in range(f.num_row_groups):
                table = f.read_row_group(g)
                docs = np.asarray(table.column("document")) + shift
                top = max(top, int(docs.max())) if len(docs) else top
                writer.write_table(table.set_column(1, "document", pa.array(docs, type=pa.int64())))
            shift = top + 1 if top >= 0 else shift


def read_samples(path: str | Path) -> list[np.ndarray]:
    """Every sample's ``input_ids`` (small files: tests and ``inspect``)."""
    column = pq.read_table(str(path), columns=["input_ids"]).column("input_ids")
    return [np.asarray(v, dtype=np.int64) for v in column.to_pylist()]
