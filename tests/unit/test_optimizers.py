import torch

from election.training.optimizers import (
    MasterMomentum,
    PartitionMomentum,
    PlainSignStep,
    StepSchedule,
)


def test_step_schedule_decays_at_each_milestone():
    s = StepSchedule(lr=1.0, milestones=(40, 80), gamma=0.1)
    assert [s.lr_at(e) for e in (0, 39, 40, 79, 80, 200)] == [1.0, 1.0, 0.1, 0.1, 0.1**2, 0.1**2]


def test_master_momentum_matches_the_papers_formula_step_by_step():
    p = torch.tensor([1.0, -2.0, 0.5])
    ref_p, ref_v = p.clone(), torch.zeros(3)
    opt = MasterMomentum(schedule=StepSchedule(lr=0.1), momentum=0.9, weight_decay=0.01)
    for s in ([1, -1, 0], [1, 1, -1], [-1, 0, 1]):
        sign = torch.tensor(s, dtype=torch.int8)
        ref_v = 0.9 * ref_v + (sign.float() + 0.01 * ref_p)
        ref_p = ref_p - 0.1 * ref_v
        opt.step(p, sign, epoch=0)
    assert torch.allclose(p, ref_p)


def test_plain_sign_step_moves_by_lr_times_the_sign():
    p = torch.zeros(3)
    PlainSignStep(schedule=StepSchedule(lr=0.5), momentum=0.0, weight_decay=0.0).step(
        p, torch.tensor([1, -1, 0], dtype=torch.int8), epoch=0
    )
    assert p.tolist() == [-0.5, 0.5, 0.0]


def test_partition_momentum_keeps_one_damped_buffer_per_partition():
    m = PartitionMomentum(momentum=0.9)
    g = torch.tensor([1.0, -1.0])
    first = m(3, g).clone()
    second = m(3, g).clone()
    assert torch.allclose(first, 0.1 * g)
    assert torch.allclose(second, 0.9 * 0.1 * g + 0.1 * g)
    assert torch.allclose(m(4, g), 0.1 * g)  # another partition starts fresh


def test_optimizer_state_round_trips():
    opt = MasterMomentum(schedule=StepSchedule(lr=0.1), momentum=0.9, weight_decay=0.0)
    p = torch.zeros(2)
    opt.step(p, torch.tensor([1, 1], dtype=torch.int8), epoch=0)
    other = MasterMomentum(schedule=StepSchedule(lr=0.1), momentum=0.9, weight_decay=0.0)
    other.load_state_dict(opt.state_dict())
    assert torch.equal(other.velocity, opt.velocity)
