"""The sink-positions port's contract (``services.runtime.sink_positions``)."""

from __future__ import annotations

import pytest

from services.runtime.sink_positions import SinkPositions


class SinkPositionsContract:
    @pytest.fixture
    def positions(self) -> SinkPositions:
        raise NotImplementedError

    async def test_positions_per_group_topic_partition_never_backwards(
        self, positions: SinkPositions
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
