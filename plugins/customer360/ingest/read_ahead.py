"""Read landing files in a background thread, ahead of the thread that writes them to the warehouse."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import TypeVar

_T = TypeVar("_T")


def read_ahead(items: Iterator[_T], limit: int, weight: Callable[[_T], int] = lambda _: 1) -> Iterator[_T]:
    """Iterate ``items`` from a background thread, at most ``limit`` (summed ``weight``) ahead.

    Errors in ``items`` are re-raised in the consuming thread.

    Reading (Python csv, decoding) holds the GIL while DuckDB releases it, so on two cores the next files
    are read while the current group is written; with ``limit`` near the writer's group size the reader
    is never idle while a group is written. An item heavier than ``limit`` still passes, alone. Close the
    generator (``contextlib.closing``) to stop early: ``items`` is then closed in the background thread.
    """
    if limit <= 0:
        yield from items
        return
    queued: deque[tuple[bool, object, int]] = deque()
    load = 0
    changed = threading.Condition()
    stop = threading.Event()

    def put(finished: bool, value: object, heft: int) -> bool:
        nonlocal load
        with changed:
            while queued and load + heft > limit and not stop.is_set():
                changed.wait(0.1)
            if stop.is_set():
                return False
            queued.append((finished, value, heft))
            load += heft
            changed.notify_all()
            return True

    def produce() -> None:
        try:
            for item in items:
                if not put(False, item, max(0, weight(item))):
                    return
            put(True, None, 0)
        except BaseException as exc:  # handed to the consumer, raised there
            put(True, exc, 0)
        finally:
            close = getattr(items, "close", None)
            if close is not None:  # a generator stopped early releases its files here, in this thread
                close()

    thread = threading.Thread(target=produce, name="customer360-ingest-reader", daemon=True)
    thread.start()
    try:
        while True:
            with changed:
                while not queued:
                    changed.wait()
                finished, value, heft = queued.popleft()
                load -= heft
                changed.notify_all()
            if finished:
                if isinstance(value, BaseException):
                    raise value
                return
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        with changed:
            changed.notify_all()
        thread.join()
