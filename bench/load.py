"""A small HTTP load generator: a bounded number of GET requests from a few
threads, on loopback only, with latency percentiles and throughput.

Pages are compared in alternating blocks (page A, page B, page A, ...), so
that a neighbour's load on a shared machine weighs on both alike.
"""

import statistics
import threading
import time
from urllib.parse import urlsplit

import requests

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def percentile(values, pct):
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


class Page:
    """A URL under test and everything measured on it so far."""

    def __init__(self, url, marker=None):
        if urlsplit(url).hostname not in LOOPBACK:
            raise ValueError("the load generator only targets loopback")
        self.url = url
        self.marker = marker
        self.latencies = []
        self.failures = []
        self.seconds = 0.0
        self.size = 0

    def ok(self, response):
        """Status 200 and the marker in the body: an error page is never
        timed as a success."""
        return response.status_code == 200 and (
            self.marker is None or self.marker in response.content
        )

    def summary(self, concurrency):
        latencies = self.latencies
        return {
            "concurrency": concurrency,
            "requests": len(latencies),
            "failed": len(self.failures),
            "failures": sorted({str(status) for status in self.failures}),
            "seconds": self.seconds,
            "median_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * percentile(latencies, 95),
            "max_ms": 1000 * max(latencies),
            "rps": len(latencies) / self.seconds,
            "bytes": self.size,
        }


def run_block(page, concurrency, total, max_seconds, warmup):
    """GET ``page`` ``total`` times from ``concurrency`` threads (one
    session each), or until ``max_seconds`` have passed, after ``warmup``
    requests per thread; adds the figures to ``page``."""
    lock = threading.Lock()
    remaining = [total]
    barrier = threading.Barrier(concurrency + 1)

    def worker():
        session = requests.Session()
        for _i in range(warmup):
            session.get(page.url, timeout=60)
        barrier.wait()
        deadline = time.monotonic() + max_seconds
        while True:
            with lock:
                if remaining[0] <= 0 or time.monotonic() > deadline:
                    return
                remaining[0] -= 1
            started = time.perf_counter()
            try:
                response = session.get(page.url, timeout=60)
                good, status = page.ok(response), response.status_code
                size = len(response.content)
            except requests.RequestException as error:
                good, status, size = False, type(error).__name__, 0
            elapsed = time.perf_counter() - started
            with lock:
                page.latencies.append(elapsed)
                page.size = max(page.size, size)
                if not good:
                    page.failures.append(status)

    threads = [threading.Thread(target=worker) for _i in range(concurrency)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.monotonic()
    for thread in threads:
        thread.join()
    page.seconds += time.monotonic() - started


def compare(pages, concurrency, total, blocks=4, max_seconds=90, warmup=3):
    """Measure every page ``total`` times at ``concurrency``, in ``blocks``
    alternating blocks; returns each page's summary, in the order given."""
    per_block = max(1, total // blocks)
    for _block in range(blocks):
        for page in pages:
            run_block(page, concurrency, per_block, max_seconds / blocks, warmup)
    return [page.summary(concurrency) for page in pages]
