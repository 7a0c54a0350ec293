"""Block-seeded generation: rows [i*B, (i+1)*B) are a pure function of (model, seed,
conditions, i), whichever run makes them, and fresh ids stay unique across blocks."""

from __future__ import annotations

import pandas as pd
import pytest

from synthgen.core.blocks import TABLE_BLOCK_ROWS, block_length, plan_shards
from synthgen.errors import UsageError
from synthgen.tabular.synthesizer import TabularSynthesizer
from tests.tabular.test_tabular_models import _constrained_table

B = TABLE_BLOCK_ROWS


@pytest.fixture(scope="module")
def orders():
    frame, schema = _constrained_table()
    return TabularSynthesizer("vae", epochs=2, batch_size=100, progress=False).fit(frame, schema)


def test_a_block_made_alone_equals_the_same_block_of_a_full_run(orders):
    n = B + 300  # two blocks, the second short; rejection (inequality, combinations) in both
    full = orders.sample(n, {"level": "mid"}, seed=11)
    assert len(full) == n and (full["level"] == "mid").all()
    alone = pd.concat(
        list(orders.iter_sample(n, {"level": "mid"}, seed=11, blocks=(1, 2))), ignore_index=True
    )
    pd.testing.assert_frame_equal(alone, full.iloc[B:].reset_index(drop=True))
    # a short run is the start of a longer one; small chunks change nothing
    short = pd.concat(list(orders.iter_sample(500, {"level": "mid"}, seed=11, chunk_rows=128)))
    pd.testing.assert_frame_equal(short.reset_index(drop=True), full.iloc[:500])
    # fresh ids come from the global row index: unique across blocks
    assert full["order_id"].is_unique and full["email"].is_unique
    other = orders.sample(300, {"level": "mid"}, seed=12)
    assert not other[["start", "end", "amount"]].equals(full.iloc[:300][["start", "end", "amount"]])
    # blocks drawn three at a time, in threads: the same rows, in order
    threaded = orders.iter_sample(n, {"level": "mid"}, seed=11, threads=3, chunk_rows=40_000)
    pd.testing.assert_frame_equal(pd.concat(list(threaded), ignore_index=True), full)


def test_threaded_blocks_stop_cleanly_when_the_consumer_stops(orders):
    import threading

    chunks = orders.iter_sample(4 * B, seed=1, threads=2, chunk_rows=B)
    first = next(chunks)
    assert len(first) == B
    chunks.close()  # the drawing threads are waited for and the rest dropped
    assert not [t for t in threading.enumerate() if t.name.startswith("synthgen-draw")]


def test_shard_plans_cover_whole_blocks():
    shards = plan_shards(5 * B + 7, 4, B)
    assert [s.start for s in shards] == [0, B, 3 * B, 4 * B]
    assert shards[-1].stop == 5 * B + 7 and sum(s.rows for s in shards) == 5 * B + 7
    assert block_length(5 * B + 7, B, 5) == 7
    for bad in (0, 7):
        with pytest.raises(UsageError, match="shards"):
            plan_shards(5 * B + 7, bad, B)
