"""KnowLM's reading and merging logic, transcribed for tests from zjunlp/KnowLM @ 0f00ad8 (not shipped).

``KnowLMDataset``: ``MyDataset`` of ``pretrain/preprocess.py`` (``_load_index``, ``_load_bin``,
``_load_dis``, ``__getitem__`` with its contiguity assert) plus the ``_check`` of
``pretrain/preview/dataloader.py``. ``knowlm_merge``: ``merge(args)`` of ``pretrain/preprocess.py``
(``eval``'d arguments passed as lists). ``knowlm_write_statistic``: the ``.tmp`` loop of ``write(args)``.
``sampler_indices``: ``sampler_builder``'s asserts and ``MyDistributedSampler`` for ``drop_mode=0``, one
replica. Kept close to the original statement by statement, so a difference from KnowLM shows here.
"""

from __future__ import annotations

import math
import os
import shutil

import numpy as np
import torch


class KnowLMDataset:
    def __init__(self, data_prefix, seq_length, pad_id):
        self.idx_file_path = f"{data_prefix}.idx"
        self.bin_file_path = f"{data_prefix}.bin"
        self.dis_file_path = f"{data_prefix}.dis"
        self.seq_length = seq_length
        self.pad_id = pad_id
        self.index_start_pos = None
        self.index_length = None
        self._load_index()
        self._load_bin()
        self._load_dis()
        self._check()

    def _check(self):  # preview/dataloader.py
        assert self.index_length[-1] + self.index_start_pos[-1] == len(self.bin_buffer), "数据错误校验错误！"

    def _load_index(self):
        file_size = os.stat(self.idx_file_path).st_size
        assert file_size % 10 == 0
        self.total_sample = file_size // 10
        with open(self.idx_file_path, "rb") as f:
            self.index_start_pos = np.frombuffer(f.read(self.total_sample * 8), dtype=np.uint64).tolist()
            self.index_length = np.frombuffer(f.read(self.total_sample * 2), dtype=np.uint16).tolist()

    def _load_bin(self):
        self.bin_buffer = np.memmap(self.bin_file_path, dtype=np.uint16, mode="r")

    def _load_dis(self):
        self.distributed = torch.load(self.dis_file_path)
        if len(self.distributed) != 0:
            assert sum(self.distributed) == self.total_sample

    def __len__(self):
        return self.total_sample

    def __getitem__(self, idx):
        start_idx = self.index_start_pos[idx]
        length = self.index_length[idx]
        if idx + 1 < self.total_sample:
            assert start_idx + length == self.index_start_pos[idx + 1], \
                f"{start_idx + length}!={self.index_start_pos[idx + 1]}, idx={idx}"
        if length > self.seq_length:
            length = self.seq_length
        return self.bin_buffer[start_idx:start_idx + length].tolist()


def knowlm_write_statistic(samples):
    """The ``statistic`` of ``write(args)`` over the samples it keeps (len > 20), saved as ``.tmp``."""
    statistic = [0, 0, 0, 0]
    for target in samples:
        if len(target) == 0 or len(target) <= 20:
            continue
        if target[0] == 1 and target[-1] == 2:
            statistic[3] += 1
        elif target[0] == 1 and target[-1] != 2:
            statistic[0] += 1
        elif target[0] != -1 and target[-1] == 2:
            statistic[1] += 1
        else:
            statistic[2] += 1
    return statistic


def _concat_index(prefixes, index_start_pos, index_length):
    for file_prefix in prefixes:
        file_size = os.stat(file_prefix + ".idx").st_size
        assert file_size % 10 == 0
        total_sample = file_size // 10
        with open(file_prefix + ".idx", "rb") as f:
            _index_start_pos = np.frombuffer(f.read(total_sample * 8), dtype=np.uint64)
            _index_length = np.frombuffer(f.read(total_sample * 2), dtype=np.uint16).tolist()
        if len(index_start_pos) > 0:
            index_start_pos.extend((_index_start_pos + index_start_pos[-1] + index_length[-1]).tolist())
        else:
            index_start_pos.extend(_index_start_pos)
        index_length.extend(_index_length)


def knowlm_merge(merge_path_prefix, merge_path_type, new_path_prefix):
    if merge_path_type is not None:
        classifier_prefix = {}
        for idx, types in enumerate(merge_path_type):
            if types not in classifier_prefix:
                classifier_prefix[types] = [merge_path_prefix[idx]]
            else:
                classifier_prefix[types].append(merge_path_prefix[idx])
        new_file_bin = open(new_path_prefix + ".bin", "wb")
        for _types, file_prefixes in classifier_prefix.items():
            for file_prefix in file_prefixes:
                with open(file_prefix + ".bin", "rb") as f:
                    shutil.copyfileobj(f, new_file_bin)
        new_file_bin.close()
        new_file_idx = open(new_path_prefix + ".idx", "wb")
        index_start_pos, index_length = [], []
        for _types, file_prefixes in classifier_prefix.items():
            _concat_index(file_prefixes, index_start_pos, index_length)
        new_file_idx.write(np.array(index_start_pos, dtype=np.uint64).tobytes(order="C"))
        new_file_idx.write(np.array(index_length, dtype=np.uint16).tobytes(order="C"))
        new_file_idx.close()
        _cur_size = 0
        new_dist = []
        for _types, file_prefixes in classifier_prefix.items():
            for file_prefix in file_prefixes:
                data = torch.load(file_prefix + ".dis")
                assert len(data) == 1
                _cur_size += data[0]
            new_dist.append(_cur_size)
            _cur_size = 0
        torch.save(new_dist, new_path_prefix + ".dis")
        assert sum(new_dist) == len(index_start_pos)
    else:
        new_file_bin = open(new_path_prefix + ".bin", "wb")
        for file in merge_path_prefix:
            with open(file + ".bin", "rb") as f:
                shutil.copyfileobj(f, new_file_bin)
        new_file_bin.close()
        new_file_idx = open(new_path_prefix + ".idx", "wb")
        index_start_pos, index_length = [], []
        _concat_index(merge_path_prefix, index_start_pos, index_length)
        new_file_idx.write(np.array(index_start_pos, dtype=np.uint64).tobytes(order="C"))
        new_file_idx.write(np.array(index_length, dtype=np.uint16).tobytes(order="C"))
        new_file_idx.close()
        assert len(index_start_pos) == len(index_length)
        torch.save([len(index_start_pos)], new_path_prefix + ".dis")
        total = 0
        for file in merge_path_prefix:
            data = torch.load(file + ".dis")
            assert len(data) == 1
            total += data[0]
        assert total == len(index_start_pos)


def sampler_indices(dataset, sampled_distribute, seed=2023):
    """The indices ``MyDistributedSampler(drop_mode=0)`` yields on one replica, after ``sampler_builder``'s
    asserts: per global batch, ``sampled_distribute[j]`` samples of type j (offset by the types before)."""
    size_distribute = dataset.distributed
    assert len(sampled_distribute) == len(dataset.distributed)
    offset = [0]
    if len(size_distribute) > 1:
        for i in size_distribute[0:-1]:
            offset.append(offset[-1] + i)
    g = torch.Generator()
    g.manual_seed(seed)
    _indices = [torch.randperm(size, generator=g).tolist() for size in size_distribute]
    _n_batch = [math.floor(size_distribute[i] / sampled_distribute[i]) for i in range(len(size_distribute))]
    for i in range(len(_indices)):
        del_num = size_distribute[i] % sampled_distribute[i]
        if del_num != 0:
            _indices[i] = _indices[i][:-del_num]
    n_batch = _min_n_batch = min(_n_batch)
    for i in range(len(_indices)):
        del_n_batch = _n_batch[i] - _min_n_batch
        if del_n_batch != 0:
            del_num = del_n_batch * sampled_distribute[i]
            _indices[i] = _indices[i][:-del_num]
    indices = []
    for i in range(n_batch):
        for j in range(len(size_distribute)):
            elements = torch.as_tensor(_indices[j][i * sampled_distribute[j]:(i + 1) * sampled_distribute[j]])
            elements = (elements + offset[j]).tolist()
            if type(elements) is int:
                elements = [elements]
            indices.extend(elements)
    return indices
