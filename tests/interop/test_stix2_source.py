"""stix2's TAXIICollectionSource over taxii2-client, for real, against the worker serving the demo feed: a query
that matches nothing must end cleanly over TAXII 2.0 (a Range request with no matching objects is a 416 with
`Content-Range: items */0`, which the source reads as the end of its pages) and over 2.1."""

import signal

import pytest
from stix2 import Filter, TAXIICollectionSource
from taxii2client import v20, v21


@pytest.fixture
def deadline():
    """A pager that never ends fails the test instead of hanging it."""

    def expired(*_):
        raise TimeoutError("the client is still paging after 30 s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("version", ["2.0", "2.1"])
def test_a_query_that_matches_nothing_ends_cleanly(worker, status, deadline, version):
    server = v20.Server(f"{worker}/taxii/") if version == "2.0" else v21.Server(f"{worker}/taxii2/")
    for collection in server.default.collections:
        source = TAXIICollectionSource(collection)
        assert source.query([Filter("added_after", "=", "2999-01-01T00:00:00Z")]) == [], collection.title
        nothing = Filter("id", "=", "indicator--00000000-0000-4000-8000-000000000000")
        assert source.query([nothing]) == [], collection.title


def test_a_query_that_matches_reads_every_page_over_20(worker, status, deadline):
    server = v20.Server(f"{worker}/taxii/")
    expected = {c["id"]: c["count"] for c in status["collections"]}
    collection = next(c for c in server.default.collections if expected[c.id] > 0)
    source = TAXIICollectionSource(collection, items_per_page=50)
    objects = source.query([Filter("added_after", "=", "2000-01-01T00:00:00Z")])
    assert len({o["id"] for o in objects}) == len(objects) == expected[collection.id]
