"""Watch a database's transactions from the outside while a job runs: the
longest writing transaction any connection kept open, sampled from
``pg_stat_activity``.

Only transactions that wrote (they have a ``backend_xid``) count: they hold
row locks and are what a long cleanup would block others with. The read-only
transaction in which ``odoo shell`` loads its registry is left out."""

import threading
import time

import psycopg2

SAMPLE = """
SELECT extract(epoch FROM clock_timestamp() - xact_start)
  FROM pg_stat_activity
 WHERE datname = %s
   AND pid != pg_backend_pid()
   AND xact_start IS NOT NULL
   AND backend_xid IS NOT NULL
"""


class TransactionWatch(threading.Thread):
    """Samples every ``interval`` seconds; ``longest`` is the age of the
    oldest transaction seen, ``samples`` how many samples were taken."""

    def __init__(self, dbname, interval=0.05):
        super().__init__(daemon=True)
        self.dbname = dbname
        self.interval = interval
        self.longest = 0.0
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self):
        conn = psycopg2.connect(dbname=self.dbname, application_name="mr_bench_watch")
        conn.autocommit = True
        try:
            with conn.cursor() as cr:
                while not self._stop_event.is_set():
                    cr.execute(SAMPLE, [self.dbname])
                    for (age,) in cr.fetchall():
                        self.longest = max(self.longest, float(age))
                    self.samples += 1
                    time.sleep(self.interval)
        finally:
            conn.close()

    def stop(self):
        self._stop_event.set()
        self.join()
        return {
            "longest_transaction_s": self.longest,
            "samples": self.samples,
            "interval_s": self.interval,
        }
