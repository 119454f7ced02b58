"""The sink-positions port's contract (``events.stream.positions``)."""

from __future__ import annotations

import pytest

from events.stream.positions import Positions


class SinkPositionsContract:
    @pytest.fixture
    def positions(self) -> Positions:
        raise NotImplementedError

    async def test_positions_per_group_topic_partition_never_backwards(
        self, positions: Positions
    ) -> None:
        assert await positions.stored("g", "t", [0, 1]) == {}
        await positions.record("g", {("t", 0): 10, ("t", 1): 3, ("u", 0): 7})
        await positions.record("g", {("t", 0): 4, ("t", 1): 5})
        await positions.record("h", {("t", 0): 99})
        await positions.record("g", {})
        assert await positions.stored("g", "t", [0, 1, 2]) == {0: 10, 1: 5}
        assert await positions.stored("g", "u", [0]) == {0: 7}
        assert await positions.stored("h", "t", [0, 1]) == {0: 99}
        assert await positions.stored("g", "t", [2]) == {}

    async def test_all_partitions_when_none_named_and_forget_drops_one_topic(
        self, positions: Positions
    ) -> None:
        await positions.record("g", {("t", 0): 10, ("t", 3): 2, ("u", 0): 7})
        assert await positions.stored("g", "t") == {0: 10, 3: 2}
        await positions.forget("g", "t")
        assert await positions.stored("g", "t") == {}
        assert await positions.stored("g", "u") == {0: 7}
