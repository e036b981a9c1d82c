"""Cleaning an import's rows in worker processes, ahead of the writer: chunks in file order,
at most two per worker in flight."""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from queue import Empty
from typing import Any

from ringround.people.normalize import (
    WORKER_DONE,
    WORKER_FAILED,
    NormalizeConfig,
    chunks,
    init_worker,
    normalize_chunk,
    read_and_clean,
)
from ringround.people.reader import TableSource

POOL_THRESHOLD = 20_000  # below this many rows, starting worker processes costs more


def cleaned_chunks(table: TableSource, config: NormalizeConfig, workers: int,
                    chunk_rows: int) -> Iterator[tuple[list, list]]:
    """(raw chunk, cleaned chunk) pairs in file order; `workers` processes clean chunks
    ahead of the writer, with at most two chunks per worker in flight (memory stays flat
    whatever the file size). A raw chunk has one item per row (not always its cells)."""
    if workers <= 1:
        init_worker(config)
        for chunk in chunks(table.rows(), chunk_rows):
            yield chunk, normalize_chunk(chunk)
        return
    if table.kind == "csv":
        yield from csv_read_by_workers(table, config, workers, chunk_rows)
        return
    yield from _pooled_chunks(chunks(table.rows(), chunk_rows), config, workers)


class ImportWorkerError(RuntimeError):
    """A worker process failed (its traceback is the message) or died."""


def csv_read_by_workers(table: TableSource, config: NormalizeConfig, workers: int,
                         chunk_rows: int) -> Iterator[tuple[list, list]]:
    """`_cleaned_chunks` for a CSV file: each worker reads the file itself and cleans its
    share of the chunks (chunk i goes to worker i % workers), so the importing process
    (the critical path) neither parses the CSV nor pickles its rows to the workers, which
    costs less than a second read of the file in each worker (5 s of 60 in 1M rows). The
    workers send back only the cleaned rows."""
    context = multiprocessing.get_context("spawn")
    queues = [context.Queue(maxsize=2) for _ in range(workers)]
    processes = [context.Process(target=read_and_clean, daemon=True, name=f"import-{w}",
                                 args=(table, config, chunk_rows, w, workers, queues[w]))
                 for w in range(workers)]
    for process in processes:
        process.start()
    finished = False
    try:
        for index in itertools.count():
            message = _next_message(queues[index % workers], processes[index % workers])
            if message == WORKER_DONE:  # no chunk `index`, so no later one either
                break
            yield message
        for other in range(workers):  # the others have nothing but their end to send
            if other != index % workers:
                _next_message(queues[other], processes[other])
        finished = True
    finally:
        for process in processes:
            if not finished:
                process.terminate()
            process.join()


def _next_message(queue, process) -> Any:
    """The next message of a worker; raises `ImportWorkerError` if it failed or died."""
    while True:
        try:
            message = queue.get(timeout=1.0)
        except Empty:
            if process.exitcode is not None and queue.empty():
                raise ImportWorkerError(
                    f"import worker {process.name} died (exit code {process.exitcode})"
                ) from None
            continue
        if isinstance(message, tuple) and message and message[0] == WORKER_FAILED:
            raise ImportWorkerError(f"import worker {process.name} failed:\n{message[1]}")
        return message


def _pooled_chunks(pending: Iterator[list], config: NormalizeConfig, workers: int
                   ) -> Iterator[tuple[list, list]]:
    """`_cleaned_chunks` through a pool (XLSX: reading it is slow, so once is best)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=init_worker, initargs=(config,)) as pool:
        in_flight: deque = deque()
        for chunk in pending:
            in_flight.append((chunk, pool.apply_async(normalize_chunk, (chunk,))))
            if len(in_flight) >= workers * 2:
                raw, result = in_flight.popleft()
                yield raw, result.get()
        while in_flight:
            raw, result = in_flight.popleft()
            yield raw, result.get()


def default_workers(estimated_rows: int) -> int:
    if estimated_rows < POOL_THRESHOLD:
        return 1
    return max(os.cpu_count() or 1, 1)
