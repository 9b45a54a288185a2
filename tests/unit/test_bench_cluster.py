"""`election bench cluster` without namespaces: the bounds, flags, root check, the sweep's
name pattern and the shard slicing of a packed vote (the namespace run is tests/e2e)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bench.cluster import project_bound_bits, ring_bound_bits, segment_ranges, table
from bench.cluster_node import Shard, shard_vote
from bench.netns import RATES, address, owned, require_root
from election.errors import ConfigError
from election.votes import pack_ternary, unpack_ternary
from election.votes.shards import shard_ranges
from election_cli import main as cli


def test_project_bound_is_every_vote_in_then_every_update_out_of_the_master_link() -> None:
    d = 11_173_962
    bits = project_bound_bits(15, [Shard("10.200.0.1", 1, 0, d)])
    assert bits == 2 * 15 * 1_396_746 * 8  # ceil(d/8) bytes per vote and per update
    assert bits / RATES["1gbit"] == pytest.approx(0.3352, abs=1e-4)  # s at 1 Gbit/s


def test_ring_bound_levels_off_at_twice_the_tensor() -> None:
    d = 1000
    assert ring_bound_bits(2, d, 4) == d * 4 * 8  # 2 (n-1)/n = 1 for n = 2
    assert ring_bound_bits(1000, d, 4) == pytest.approx(2 * d * 4 * 8, rel=1e-3)
    assert ring_bound_bits(5, d, 2) == 2 * 4 / 5 * d * 2 * 8


def test_shard_vote_is_the_packed_slice_of_the_coordinates() -> None:
    rng = np.random.default_rng(3)
    signs = rng.choice(np.array([-1, 1], dtype=np.int8), size=1003)  # (1003,) int8
    vote = pack_ternary(signs)
    for lo, hi in [(0, 1003), (0, 512), (512, 1003), (8, 16)]:
        part = shard_vote(vote, lo, hi)
        assert part.length == hi - lo
        assert np.array_equal(unpack_ternary(part), signs[lo:hi])
    with pytest.raises(ValueError, match="byte-aligned"):
        shard_vote(vote, 3, 16)


def test_with_shards_the_bound_is_the_largest_shards_link() -> None:
    d = 11_173_962
    shards = [Shard("10.200.0.1", 1, lo, hi) for lo, hi in shard_ranges(d, 3)]
    largest = max(hi - lo for lo, hi in shard_ranges(d, 3))  # 3,724,672 coordinates
    assert project_bound_bits(15, shards) == 2 * 15 * (largest // 8) * 8
    ratio = project_bound_bits(15, shards) / project_bound_bits(15, [Shard("h", 1, 0, d)])
    assert ratio == pytest.approx(1 / 3, rel=1e-4)  # k links share what one link carried


def test_pipelined_segments_cover_each_shard_in_order_and_overlap_the_two_directions() -> None:
    d, k, s = 11_173_962, 3, 4
    pieces = segment_ranges(d, k, s)
    assert len(pieces) == k * s and pieces[0][0] == 0 and pieces[-1][1] == d
    assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))  # contiguous
    for shard, (lo, hi) in enumerate(shard_ranges(d, k)):  # each shard's S pieces are its own
        group = pieces[shard * s : (shard + 1) * s]
        assert group[0][0] == lo and group[-1][1] == hi and all(a % 64 == 0 for a, _ in group)
    one = [Shard("h", 1, 0, d)]
    segs = [Shard("h", 1, lo, hi) for lo, hi in segment_ranges(d, 1, s)]
    largest = max((hi - lo + 7) // 8 for lo, hi in segment_ranges(d, 1, s))
    assert project_bound_bits(15, segs, s) == 15 * (1_396_746 + largest) * 8
    ratio = project_bound_bits(15, segs, s) / project_bound_bits(15, one)
    assert ratio == pytest.approx((1 + 1 / s) / 2, rel=1e-3)  # 0.625: the halving, less a piece
    assert project_bound_bits(15, segs[:1], 1) == 2 * 15 * largest * 8  # S = 1: in, then out


def test_the_table_names_the_shard_count_of_each_point() -> None:
    system = {"round_ms": 1.5, "bound_ms": 1.0, "fraction_of_bound": 0.667,
              "master_cpu_ms_per_worker": 0.5, "machine_cpu_busy": 1}  # fmt: skip
    point = {"n": 15, "master_shards": 3, "rate": "1gbit", "link_probe_gbit_s": 0.9,
             "project": system}  # fmt: skip
    lines = table([point]).splitlines()
    assert lines[0].startswith("| n | shards | link |")
    assert lines[2].startswith("| 15 | 3 | 1gbit | 0.9 | 1.5 |")
    assert lines[0].count("|") == lines[2].count("|")
    pipelined = table([point | {"master_shards": 1, "segments": 4}]).splitlines()[2]
    assert pipelined.startswith("| 15 | 1 x 4 seg | 1gbit |")


def test_shard_round_trips_through_its_flag() -> None:
    shard = Shard("10.200.0.1", 50051, 0, 96)
    assert Shard.parse(str(shard)) == shard


def test_the_sweep_touches_only_its_own_prefix() -> None:
    assert owned("ecb", "ecb-br") and owned("ecb", "ecb-n12")
    assert not owned("ecb", "ecbx-n1")  # another prefix that starts the same
    assert not owned("ecb", "ecb-n1x") and not owned("ecb", "other-ecb-n1")


def test_addresses_are_private_and_distinct() -> None:
    addrs = [address(i) for i in range(1000)]
    assert len(set(addrs)) == 1000
    assert all(a.startswith("10.200.") for a in addrs)  # 10.0.0.0/8 (RFC 1918)


def test_non_root_gets_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(ConfigError, match="needs root"):
        require_root("election bench cluster")


@pytest.mark.parametrize(
    "bad, message",
    [
        (["--rate", "5gbit"], "unknown rate '5gbit'"),
        (["--n", "1"], "at least 2 workers"),
        (["--n", "a,b"], "worker counts"),
        (["--prefix", "Bad-Prefix"], "lower-case"),
        (["--d", "4"], "--d must be"),
        (["--master-shards", "0"], "master_shards=0 must be an integer >= 1"),
        (["--d", "100", "--master-shards", "3"], "master_shards=3 is too many for d=100"),
        (["--segments", "0"], "--segments 0: use 1 to"),
        (["--d", "100", "--segments", "3"], "--segments 3: use 1 to 2"),
        (["--segments", "x"], "use counts like 1,4"),
    ],
)
def test_bad_flags_are_one_line_errors(
    bad: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["bench", "cluster", *bad]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("election: error:") and message in err
    assert len(err.splitlines()) == 1
