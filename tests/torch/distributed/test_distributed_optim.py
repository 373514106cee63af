"""adamkit's optimizers under real torch.distributed (gloo, 2 spawned processes, CPU).

Each test spawns one process group and runs all its configurations in it (start-up dominates):
DDP, FSDP2 (``fully_shard``, DTensor params, even and uneven shards), ZeroRedundancyOptimizer
(both bucket modes) and torch.distributed.checkpoint, with fp32, bf16 and 8-bit states, against
single-process training on the same global batches (see ``cases``).
"""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
from tests.torch.distributed import cases
from tests.torch.distributed.harness import spawn

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch built without distributed")

PRECISIONS = ("fp32", "bf16", "8bit")
LR = 1e-2  # cases.optimizer's


def max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def assert_equal(a: dict, b: dict, label: str) -> None:
    for k in a:
        assert torch.equal(a[k], b[k]), f"{label}: {k} differs by {float((a[k] - b[k]).abs().max())}"


def test_ddp_equals_single_process_every_precision_and_path():
    configs = {f"{p}-{path}": {"state_precision": p, "fused": path == "engine"}
               for p in PRECISIONS for path in ("rule", "engine")}
    ranks = spawn(cases.ddp, configs)
    for name, result in ranks[0].items():
        kind = "fused engine" if name.endswith("engine") else "rule path (fused=False)"
        assert result["paths"] == [kind], name
        for rank in ranks:  # both replicas end equal to each other and to the single process
            if name.endswith("rule"):  # the per-tensor path: to the bit
                assert_equal(rank[name]["dist"], result["ref"], name)
            else:
                torch.testing.assert_close(rank[name]["dist"], result["ref"], msg=name)


def test_fsdp2_even_and_uneven_shards_equal_single_process():
    # Linear(64, 97) is sharded 49 + 48 rows (uneven), Linear(97, 96) 48 + 48 (even)
    configs = {f"{p}-{path}": {"state_precision": p, "fused": path == "engine"}
               for p in PRECISIONS for path in ("rule", "engine")}
    ranks = spawn(cases.fsdp, configs)
    for name, result in ranks[0].items():
        # DTensor params take the rule path on each rank's local shard, whatever `fused` says
        assert result["paths"] == (["rule path (a DTensor param)"] if name.endswith("engine")
                                   else ["rule path (fused=False)"]), name
        got = result["dist"]
        assert got.keys() == result["ref"].keys()
        if name.startswith("8bit"):
            # 8-bit blocks follow the local shard: rank 0's 49 x 64 values end inside a block,
            # where the single process's block spans both shards, so the two quantize that
            # block differently; the distance is of the 8-bit states' own size (a second-moment
            # code step is 1/8 of v), under half a step
            fp32 = ranks[0]["fp32-rule"]["ref"]
            assert max_diff(got, result["ref"]) < 2 * max_diff(result["ref"], fp32) + 1e-6, name
            assert max_diff(got, result["ref"]) < LR * 0.5, name
        else:  # elementwise on shards: the single process's bits (its rule path's)
            assert_equal(got, result["ref"], name)
        assert_equal(ranks[1][name]["dist"], got, f"{name}: rank 1")
    for rank in ranks:
        # Linear(64, 97).weight: 6,208 values in shards of 3,136 and 3,072, each below
        # MIN_8BIT_NUMEL = 4096: 8-bit all the same, since eligibility is the global size's
        assert rank["8bit-rule"]["local_state_numel"]["exp_avg_absmax"] == 13  # ceil(3136 / 256)


def test_fsdp2_8bit_blocks_follow_the_local_shard_eligibility_on_the_global_size():
    ranks = spawn(cases.fsdp, {"8bit": {"state_precision": "8bit"}, "fp32": {}}, cases.ALIGNED_SIZES)
    for rank in ranks:
        numel = rank["8bit"]["local_state_numel"]
        # Linear(256, 97): shards of 49 x 256 and 48 x 256 values, each quantized in its own
        # 256-value blocks, codes padded to the larger shard's 49 blocks on every rank
        assert numel == {"exp_avg": 49 * 256, "exp_avg_sq": 49 * 256,
                         "exp_avg_absmax": 49, "exp_avg_sq_absmax": 49}
    # here each shard boundary is a block boundary: the very blocks of the single process
    torch.testing.assert_close(ranks[0]["8bit"]["dist"], ranks[0]["8bit"]["ref"])
    assert_equal(ranks[0]["fp32"]["dist"], ranks[0]["fp32"]["ref"], "fp32")


ZERO_CONFIGS = {f"{p}-{path}-{'bucket' if bv else 'params'}":
                {"state_precision": p, "fused": path == "engine", "parameters_as_bucket_view": bv}
                for p in PRECISIONS for path in ("rule", "engine") for bv in (False, True)
                if not (path == "engine" and bv)}


def test_zero_redundancy_optimizer_both_bucket_modes_equal_single_process():
    ranks = spawn(cases.zero, ZERO_CONFIGS)
    for name, result in ranks[0].items():
        for rank in ranks:
            if "-rule-" in name:
                assert_equal(rank[name]["dist"], result["ref"], name)
            else:
                torch.testing.assert_close(rank[name]["dist"], result["ref"], msg=name)


def test_zero_bucket_view_with_the_engine_equals_single_process():
    configs = {f"{p}-engine-bucket": {"state_precision": p, "fused": True,
                                      "parameters_as_bucket_view": True} for p in PRECISIONS}
    ranks = spawn(cases.zero, configs)
    for name, result in ranks[0].items():
        for rank in ranks:
            torch.testing.assert_close(rank[name]["dist"], result["ref"], msg=name)


def test_distributed_checkpoint_saves_and_restores_every_precision(tmp_path):
    ranks = spawn(cases.dcp, {p: {"state_precision": p} for p in PRECISIONS}, str(tmp_path))
    for rank in ranks:
        for name, result in rank.items():
            # get_optimizer_state_dict on a fresh optimizer steps it at lr=0 on zero gradients
            assert result["init_finite"], f"{name}: NaN/Inf in the state DCP initialised"
            assert result["init_unchanged"], f"{name}: DCP's lr=0 initialisation moved a param"
            assert_equal(result["restored_state"], result["original_state"], name)
            assert_equal(result["restored"], result["original"], name)  # training continues
    state = ranks[0]["8bit"]["original_state"]
    assert state["exp_avg"].dtype == torch.int8 and "exp_avg_absmax" in state
    assert ranks[0]["bf16"]["original_state"]["exp_avg"].dtype == torch.bfloat16
