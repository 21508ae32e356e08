import hashlib

import pandas as pd
import pytest

from emorec.data.splits import PARTITIONS, make_split, split_hash
from emorec.errors import DataError

SESSIONS = [f"S{i:03d}" for i in range(64)]


def test_no_session_in_two_partitions_and_none_left_out():
    split = make_split(SESSIONS, seed=3)
    seen = [set(split.sessions(p)) for p in PARTITIONS]
    assert all(seen), "no empty partition"
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
    assert set().union(*seen) == set(SESSIONS)
    assert split.sizes() == {"train": 44, "dev": 10, "test": 10}


def test_split_is_deterministic_and_seeded():
    assert make_split(SESSIONS, seed=3).table.equals(make_split(SESSIONS[::-1], seed=3).table)
    assert not make_split(SESSIONS, seed=3).table.equals(make_split(SESSIONS, seed=4).table)


def test_split_hash_is_stable_and_order_free():
    table = pd.DataFrame({"session": ["b", "a", "c"], "partition": ["dev", "train", "test"]})
    expected = hashlib.sha256(b"a,train\nb,dev\nc,test\n").hexdigest()[:16]
    assert split_hash(table) == expected
    assert split_hash(table.iloc[::-1]) == expected
    moved = table.assign(partition=["test", "train", "dev"])
    assert split_hash(moved) != expected


def test_too_few_sessions_to_split():
    with pytest.raises(DataError, match="at least 3 sessions"):
        make_split(["a", "b"])


def test_tiny_sets_still_get_every_partition():
    split = make_split(["a", "b", "c"], seed=0)
    assert split.sizes() == {"train": 1, "dev": 1, "test": 1}
