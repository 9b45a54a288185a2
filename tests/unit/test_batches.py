import torch

from election.training.batches import (
    epoch_permutation,
    mix_seed,
    partition_indices,
    step_indices,
    steps_per_epoch,
)


def test_every_node_derives_the_same_batch_from_seed_and_step():
    a = step_indices(7, 13, 60, 1437)
    b = step_indices(7, 13, 60, 1437)
    assert torch.equal(a, b) and a.shape == (60,)


def test_batches_of_one_epoch_cover_distinct_samples():
    per = steps_per_epoch(1437, 60)
    seen = torch.cat([step_indices(1, s, 60, 1437) for s in range(per)])
    assert seen.unique().numel() == per * 60


def test_epochs_use_different_orders_and_seeds_differ():
    assert not torch.equal(epoch_permutation(0, 0, 500), epoch_permutation(0, 1, 500))
    assert not torch.equal(epoch_permutation(0, 0, 500), epoch_permutation(1, 0, 500))


def test_partitions_are_the_equal_slices_of_the_batch_in_order():
    batch = torch.arange(60)
    parts = [partition_indices(batch, 5, i) for i in range(5)]
    assert torch.equal(torch.cat(parts), batch)
    assert all(p.numel() == 12 for p in parts)


def test_tiny_datasets_wrap_around():
    assert step_indices(0, 0, 10, 4).shape == (10,)


def test_mix_seed_separates_streams():
    assert len({mix_seed(0, 1), mix_seed(1, 0), mix_seed(0, 0, 1), mix_seed(0, 1, 0)}) == 4
