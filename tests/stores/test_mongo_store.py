"""MongoStore beyond the contract, on a real MongoDB-wire server: a batch is all or nothing
under injected failures (fail points), stalled ingests and retries through other servers
count once, many servers on one hot row stay exact, and every write carries its shard key."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from server.edge.traffic import TrafficLimits, TrafficScreen
from server.errors import StoreUnavailable
from server.model import Event, Surface
from server.stores import IngestResult, MongoStore
from server.stores.mongo import ingest as mongo_ingest
from server.stores.mongo import pipelines as mp
from server.stores.mongo.store import SLOTS_PER_WRITER

from ..conftest import WireServer
from .store_events import T0, click, rows, served, view, viewable
from .store_streams import GIGS, random_stream, reference_count

# An app name per role, so a fail point hits one "server" and not the others.
FLAKY = "gm-flaky"


def batch() -> list[Event]:
    return [
        served("i-1", position=3),
        viewable("i-1", position=7),
        click("i-1", surface=Surface.SEARCH),
        click("i-1", surface=Surface.HOMEPAGE),
        served("i-2", surface=Surface.CATEGORY, position=1),
        click("i-3", surface=Surface.SEARCH),
        view("p-1"),
        view("p-1"),
        view(None, surface=Surface.HOMEPAGE),
    ]


EXPECTED = {
    ("g-1", T0, Surface.SEARCH): (2, 2, 2, 0, 3, 1),
    ("g-1", T0, Surface.HOMEPAGE): (0, 0, 0, 1, 0, 0),
    ("g-1", T0, Surface.CATEGORY): (1, 0, 0, 0, 1, 1),
    ("g-1", T0, Surface.OTHER): (0, 0, 0, 1, 0, 0),
}


@pytest.fixture
def fail_points(wire_server: WireServer) -> Iterator[WireServer]:
    """The wire server, with its fail point switched off again after the test."""
    yield wire_server
    wire_server.fail_point("off")


@pytest.fixture
async def open_stores(mongo_database_url: str) -> AsyncIterator[Any]:
    """Opens stores on the test's database, as separate "servers" with their own app names."""
    opened: list[MongoStore] = []

    async def open_one(app: str = "gm-test", **options: str) -> MongoStore:
        extra = "".join(f"&{k}={v}" for k, v in {"appName": app, **options}.items())
        store = MongoStore(mongo_database_url + extra)
        await store.open()
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        await store.close()


async def raw_count(store: MongoStore, kind: str) -> int:
    """How many raw records of a kind (`events`, `impressions`, ...) the store keeps."""
    kinds = {"events": mp.EVENT, "impressions": mp.IMPRESSION, "page_views": mp.PAGE_VIEW}
    count: int = await store._live().gig_state.count_documents({"k": kinds[kind]})
    return count


@pytest.mark.parametrize(
    ("command", "failure"),
    [
        ("bulkWrite", {"errorCode": 2}),
        ("bulkWrite", {"closeConnection": True}),
        ("bulkWrite", {"errorCode": 112, "errorLabels": ["TransientTransactionError"]}),
        ("find", {"errorCode": 2}),
        ("find", {"closeConnection": True}),
        ("commitTransaction", {"errorCode": 2}),
        ("commitTransaction", {"closeConnection": True}),
        ("commitTransaction", {"writeConcernError": {"code": 64, "errmsg": "wtimeout"}}),
    ],
)
async def test_a_failure_mid_batch_leaves_all_or_nothing_and_the_retry_counts_once(
    fail_points: WireServer, open_stores: Any, command: str, failure: dict[str, Any]
) -> None:
    store = await open_stores(FLAKY)
    events = batch()
    fail_points.fail_point({"times": 1}, failCommands=[command], appName=FLAKY, **failure)
    try:
        first: IngestResult | None = await store.ingest(events)
    except StoreUnavailable:
        first = None
    fail_points.fail_point("off")
    if failure == {"errorCode": 2}:
        assert first is None  # the fail point hit the batch: it was refused
    after_failure = await rows(store)
    stored = await raw_count(store, "events")
    # All or nothing: never a part of the batch.
    assert (after_failure, stored) in (({}, 0), (EXPECTED, len(events)))
    if first is not None:  # the driver's own retry made it: it was counted once
        assert first == IngestResult(len(events), 0)
        assert after_failure == EXPECTED
    retry = await store.ingest(events)  # the client retries, unsure what happened
    assert retry.accepted + retry.duplicates == len(events)
    assert await rows(store) == EXPECTED
    assert await raw_count(store, "events") == len(events)


async def test_a_persistent_write_concern_error_is_not_an_acknowledgement(
    fail_points: WireServer, open_stores: Any
) -> None:
    store = await open_stores(FLAKY, timeoutMS="1500")
    fail_points.fail_point(
        "alwaysOn", failCommands=["commitTransaction"], appName=FLAKY,
        writeConcernError={"code": 64, "errmsg": "waiting for replication timed out"},
    )
    with pytest.raises(StoreUnavailable, match="store this batch"):
        await store.ingest(batch())
    fail_points.fail_point("off")
    retry = await store.ingest(batch()[:1])  # a fresh id: the store takes writes again
    assert retry == IngestResult(1, 0)


async def test_a_stalled_ingest_and_a_late_retry_through_another_server_count_once(
    fail_points: WireServer, open_stores: Any
) -> None:
    """Issue 6, race 1: an ingest stalls mid-batch (between its read and its writes), the
    client gives up and retries through another server more than 10 s later (the old
    recovery's grace), and the stalled write lands only after that retry is done. Counted
    once, not twice (the old store counted (2, 2, 2) here)."""
    stalled = await open_stores(FLAKY, timeoutMS="30000")
    other = await open_stores("gm-other")
    events = batch()
    fail_points.fail_point(
        {"times": 1}, failCommands=["bulkWrite"], appName=FLAKY,
        blockConnection=True, blockTimeMS=13_000,
    )
    first = asyncio.create_task(stalled.ingest(events))
    await asyncio.sleep(10.5)
    outcomes: list[IngestResult | str] = []
    for _ in range(20):  # the client retries until a server acknowledges
        try:
            outcomes.append(await other.ingest(events))
            break
        except StoreUnavailable:
            outcomes.append("503")
            await asyncio.sleep(0.5)
    results = [await first, *[o for o in outcomes if isinstance(o, IngestResult)]]
    assert results[0].accepted == 0  # it stalled: the retry through the other server won
    assert sum(r.accepted for r in results) == len(events)
    assert await rows(stalled) == EXPECTED


async def test_many_servers_ingesting_into_one_hot_row_stay_exact(open_stores: Any) -> None:
    """Issue 6, race 2 generalised: concurrent batches from several servers into the same
    gig, bucket and surface (transactions collide there and retry on other rollup slots),
    with every batch also retried through another server."""
    servers = [await open_stores(f"gm-{n}") for n in range(3)]
    stream = [served(f"i-{n}", position=1 + n % 5) for n in range(120)]
    stream += [viewable(f"i-{n}") for n in range(0, 120, 2)]
    stream += [click(f"i-{n}") for n in range(0, 120, 4)]
    random.Random(6).shuffle(stream)
    batches = [stream[i : i + 6] for i in range(0, len(stream), 6)]

    await asyncio.gather(*(post(servers, i, b) for i, b in enumerate(batches)))
    await asyncio.gather(*(post(servers, i + 1, b) for i, b in enumerate(batches)))  # retries
    assert await rows(servers[0]) == {
        ("g-1", T0, Surface.SEARCH): (120, 60, 30, 0, sum(1 + n % 5 for n in range(120)), 120)
    }


async def post(servers: list[MongoStore], first: int, events: list[Event]) -> IngestResult:
    """A client that retries through the next server until one acknowledges (200, not 503)."""
    for attempt in range(60):
        try:
            return await servers[(first + attempt) % len(servers)].ingest(events)
        except StoreUnavailable:
            await asyncio.sleep(0.05)
    raise AssertionError("a batch was never acknowledged")


@pytest.mark.parametrize("seed", range(2))
async def test_random_streams_from_three_servers_match_the_reference(
    open_stores: Any, seed: int
) -> None:
    servers = [await open_stores(f"gm-{n}") for n in range(3)]
    stream = random_stream(random.Random(seed), 150)
    batches = [stream[i : i + 5] for i in range(0, len(stream), 5)]
    # Each batch goes to one server; some go to two at once (a retry racing the original).
    sends = [post(servers, i, b) for i, b in enumerate(batches)]
    sends += [post(servers, i + 1, b) for i, b in enumerate(batches) if i % 4 == 0]
    results = await asyncio.gather(*sends)
    assert sum(r.accepted for r in results) == len({e.id for e in stream})
    # Which bucket and surface an impression lands in depends on which of its events a
    # server stored first; how many impressions, views and clicks there are does not.
    assert await gig_totals(servers[0]) == gig_totals_of(reference_count(stream).items())


def gig_totals_of(items: Any) -> dict[str, tuple[int, ...]]:
    totals: dict[str, list[int]] = {}
    for (gig, _, _), values in items:
        sums = totals.setdefault(gig, [0] * 5)
        for i, index in enumerate((0, 1, 2, 3, 5)):  # all but position_sum
            sums[i] += values[index]
    return {gig: tuple(v) for gig, v in totals.items() if any(v)}


async def gig_totals(store: MongoStore) -> dict[str, tuple[int, ...]]:
    return gig_totals_of((await rows(store, GIGS)).items())


async def test_store_cannot_take_writes_means_not_ready(
    fail_points: WireServer, open_stores: Any
) -> None:
    store = await open_stores(FLAKY)
    assert await store.ping() is True
    fail_points.fail_point(
        "alwaysOn", failCommands=["update"], appName=FLAKY,
        writeConcernError={"code": 100, "errmsg": "Not enough data-bearing nodes"},
    )
    assert await store.ping() is False  # reads may work; majority writes do not
    fail_points.fail_point("off")
    assert await store.ping() is True


class Commands(monitoring.CommandListener):
    """Records every command a client sends."""

    def __init__(self) -> None:
        self.commands: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands.append(dict(event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_every_single_document_write_carries_its_shard_key(mongo_database_url: str) -> None:
    listener = Commands()

    def recording(url: str) -> Any:
        return AsyncMongoClient(url, event_listeners=[listener], w="majority", journal=True)

    store = MongoStore(mongo_database_url, client_factory=recording)
    await store.open()
    try:
        stream = random_stream(random.Random(3), 80) + batch()
        for start in range(0, len(stream), 9):
            await store.ingest(stream[start : start + 9])
    finally:
        await store.close()
    writes = list(single_document_writes(listener.commands))
    assert {name for name, _ in writes} >= {"gig_state", "rollups", "gigs"}
    for collection, statement in writes:
        assert collection in mp.SHARD_KEYS or collection in UNSHARDED, collection
        assert all(k in statement["q"] for k in mp.SHARD_KEYS.get(collection, ())), statement
        assert statement["u"], "no empty update documents"
        if "$inc" in statement["u"]:
            assert statement["u"]["$inc"], "no empty $inc"


UNSHARDED = ("migrations", "health", "api_keys", "writers")  # the README's unsharded ones


def single_document_writes(commands: list[dict[str, Any]]) -> Iterator[tuple[str, Any]]:
    """(collection, {"q": filter, "u": update}) of every update and replacement sent, in
    `update` commands and in client-level `bulkWrite`s."""
    for command in commands:
        if "updates" in command:  # (a findAndModify has an `update` of its own)
            for statement in command["updates"]:
                yield command["update"], statement
        elif "bulkWrite" in command:
            names = [ns["ns"].split(".", 1)[1] for ns in command["nsInfo"]]
            for op in command["ops"]:
                if "update" in op:
                    yield names[op["update"]], {"q": op["filter"], "u": op["updateMods"]}


async def test_deltas_that_net_to_zero_send_no_update(open_stores: Any) -> None:
    """A viewable before its served in one batch: `other` gains and loses the impression."""
    store = await open_stores()
    await store.ingest([viewable("i-1"), served("i-1", surface=Surface.CATEGORY)])
    assert await rows(store) == {("g-1", T0, Surface.CATEGORY): (1, 1, 0, 0, 0, 0)}


def listing(page: int, gigs: int = 20) -> list[Event]:
    """One listing beacon: a tile of each gig served on a search page, each with its seller."""
    return [
        served(f"i-{page}-{n}", gig=f"g-{n}", seller=f"s-{n}", position=n + 1,
               context="logo design")
        for n in range(gigs)
    ]


async def test_a_listing_beacon_of_known_gigs_costs_a_read_a_write_and_a_commit(
    mongo_database_url: str,
) -> None:
    listener = Commands()

    def recording(url: str) -> Any:
        return AsyncMongoClient(url, event_listeners=[listener], w="majority", journal=True)

    store = MongoStore(mongo_database_url, client_factory=recording)
    await store.open()
    try:
        await store.ingest(listing(0))  # the gigs become known, their contexts kept
        listener.commands.clear()
        assert await store.ingest(listing(1)) == IngestResult(20, 0)
        names = [next(iter(c)) for c in listener.commands]
    finally:
        await store.close()
    assert names == ["find", "bulkWrite", "commitTransaction"]  # the target: <= 6


# A simulated shard map: three shards, each holding one zone of `p` in every collection (the
# README's `sh.updateZoneKeyRange` commands).
ZONES = 3


def shard_of(p: int) -> int:
    low_high = [mp.zone_range(z, ZONES) for z in range(ZONES)]
    (shard,) = [z for z, (low, high) in enumerate(low_high) if low <= p < high]
    return shard


def partition_of(doc: dict[str, Any]) -> int:
    """The partition a document or filter names: its `p`, or its `gig_state` `_id`'s."""
    return int(doc["p"]) if "p" in doc else int(doc["_id"][:4])


def touched_partitions(command: dict[str, Any]) -> Iterator[int]:
    """The partition of every document a command reads, inserts or filters on."""
    if "bulkWrite" in command:
        for op in command["ops"]:
            yield partition_of(op["document"] if "insert" in op else op["filter"])
    if "find" in command:
        for doc_id in command["filter"]["_id"]["$in"]:
            yield partition_of({"_id": doc_id})
    for name, key, field in (("insert", "documents", None), ("update", "updates", "q"),
                             ("delete", "deletes", "q")):
        if name in command:
            for statement in command[key]:
                yield partition_of(statement if field is None else statement[field])


async def test_every_transaction_reads_and_writes_one_shard_of_a_zoned_cluster(
    mongo_database_url: str,
) -> None:
    listener = Commands()

    def recording(url: str) -> Any:
        return AsyncMongoClient(url, event_listeners=[listener], w="majority", journal=True)

    servers = [
        MongoStore(mongo_database_url, client_factory=recording, partition_groups=ZONES)
        for _ in range(2)
    ]
    for server in servers:
        await server.open()
    names = [f"gig-{n}" for n in range(200)]
    gigs = [  # four gigs on each shard
        [g for g in names if shard_of(mp.partition(g)) == z][n]
        for z in range(ZONES) for n in range(4)
    ]
    beacons = [
        [served(f"i-{b}-{n}", gig=gig, seller=f"s-{n}", context="logo")
         for n, gig in enumerate(gigs)]
        + [click(f"i-{b}-{n}", gig=gig) for n, gig in enumerate(gigs) if n % 3 == b % 3]
        for b in range(6)
    ]
    try:
        results = await asyncio.gather(*(post(servers, b, events)
                                          for b, events in enumerate(beacons)))
        results += await asyncio.gather(*(post(servers, b + 1, events)  # every one retried
                                           for b, events in enumerate(beacons)))
        totals = await gig_totals_for(servers[0], gigs)
    finally:
        for server in servers:
            await server.close()
    assert sum(r.accepted for r in results) == sum(len(b) for b in beacons)
    assert totals == {gig: (6, 2, 2) for gig in gigs}
    transactions: dict[tuple[Any, int], set[int]] = {}
    for command in listener.commands:
        if command.get("autocommit") is False:  # inside a transaction
            shards = transactions.setdefault((command["lsid"]["id"], command["txnNumber"]), set())
            shards.update(shard_of(p) for p in touched_partitions(command))
    assert len(transactions) >= 12  # 6 beacons x 3 zones, the retries' reads too
    assert all(len(shards) == 1 for shards in transactions.values()), transactions


async def gig_totals_for(store: MongoStore, gigs: list[str]) -> dict[str, tuple[int, ...]]:
    """(served, viewable, clicks) of each gig."""
    found = await rows(store, tuple(gigs))
    totals: dict[str, list[int]] = {}
    for (gig, _, _), values in found.items():
        sums = totals.setdefault(gig, [0, 0, 0])
        for i in range(3):
            sums[i] += values[i]
    return {gig: tuple(v) for gig, v in totals.items()}


async def test_servers_before_mongodb_8_get_one_bulk_write_per_collection(
    mongo_database_url: str,
) -> None:
    listener = Commands()

    def recording(url: str) -> Any:
        return AsyncMongoClient(url, event_listeners=[listener], w="majority", journal=True)

    store = MongoStore(mongo_database_url, client_factory=recording)
    await store.open()
    try:
        assert store._writer is not None
        store._writer.client_bulk = False  # as `open` decides for a maxWireVersion below 25
        await store.ingest(listing(0))
        listener.commands.clear()
        assert await store.ingest(listing(1)) == IngestResult(20, 0)
        names = [next(iter(c)) for c in listener.commands]
        written = {c[name] for c in listener.commands for name in ("insert", "update") if name in c}
        assert await rows(store, ("g-0",)) == {("g-0", T0, Surface.SEARCH): (2, 0, 0, 0, 2, 2)}
    finally:
        await store.close()
    assert "bulkWrite" not in names and names[0] == "find" and names[-1] == "commitTransaction"
    # split_rollups: the impressions' device rows.
    assert written == {"gig_state", "rollups", "context_rollups", "split_rollups"}
    assert len(names) <= 7  # find, one write per collection, commit


def test_transactions_in_flight_in_one_process_hold_distinct_slots() -> None:
    slots = mongo_ingest.WriterSlots(start=14)
    with slots.hold() as first, slots.hold() as second, slots.hold(retry=True) as third:
        assert (first, second) == (14, 15)
        assert len({first, second, third}) == 3 and 0 <= third < mp.ROLLUP_SLOTS
    with slots.hold() as again:
        assert again == 14  # released: the lowest free past the start again


class Timeline(monitoring.CommandListener):
    """The order in which commands start and are answered."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, str]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.steps.append(("started", event.command_name))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self.steps.append(("answered", event.command_name))

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self.steps.append(("failed", event.command_name))


async def test_a_beacons_over_rate_counters_go_out_at_once(mongo_database_url: str) -> None:
    timeline = Timeline()

    def recording(url: str) -> Any:
        return AsyncMongoClient(url, event_listeners=[timeline], w="majority", journal=True)

    store = MongoStore(mongo_database_url, client_factory=recording)
    await store.open()
    try:
        screen = TrafficScreen(store.counters, TrafficLimits.parse("ip=5/minute,tiles=10/hour"))
        events = [served(f"i-{n}", pv="p-1") for n in range(20)]
        events += [served(f"j-{n}") for n in range(6)]  # no page view: counted by address
        marked = await screen.screen(events, "10.0.0.1", now=T0 / 1000)
        timeline.steps.clear()  # the client has its connections now
        again = await screen.screen(events[:1] + events[-1:], "10.0.0.1", now=T0 / 1000)
    finally:
        await store.close()
    reasons = [e.invalid for e in marked]
    assert reasons == [None] * 10 + ["too_many_tiles"] * 10 + [None] * 5 + ["over_rate"]
    assert [e.invalid for e in again] == ["too_many_tiles", "over_rate"]
    counters = [step for step in timeline.steps if step[1] == "findAndModify"]
    # The address, and the page view (its pv and tiles windows in one document): both sent
    # before the first answer, one round trip.
    assert counters == [("started", "findAndModify")] * 2 + [("answered", "findAndModify")] * 2


async def test_servers_of_one_database_take_different_counter_slots(open_stores: Any) -> None:
    checked = await open_stores("gm-check")  # opened and closed, as `serve` checks a store
    await checked.close()
    first, second = await open_stores("gm-a"), await open_stores("gm-b")
    for n, store in enumerate((first, second)):  # numbered at their first batch, in order
        await store.ingest([served(f"i-{n}")])
    starts = [s._writer.slots.start for s in (first, second)]  # type: ignore[union-attr]
    assert starts[1] - starts[0] == SLOTS_PER_WRITER
