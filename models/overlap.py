"""Refuse overlapping bookings before the database must, translate the
database's refusal when it comes first, queue the writers of one host's or
room's schedule, and keep a refused statement (guest data) out of the log."""

import contextvars
import logging
from contextlib import contextmanager

from psycopg2 import IntegrityError

from odoo import fields
from odoo.exceptions import ValidationError


@contextmanager
def translate_refusals(cr, messages):
    """Run the block in a savepoint and turn a constraint violation named in
    ``messages`` (constraint name -> callable returning the text) into a
    ``ValidationError``.

    The exclusion and check constraints are the last line of defence: they hold
    when two workers write at the same instant, when the ORM check saw an older
    snapshot, and when a script writes with plain SQL. The savepoint keeps the
    rest of the transaction usable after the refusal.
    """
    try:
        with cr.savepoint():
            yield
    except IntegrityError as exc:
        message = messages.get(exc.diag.constraint_name)
        if message is None:
            raise
        raise ValidationError(message()) from None


_SQL_QUIET = contextvars.ContextVar("meeting_rooms_sql_quiet", default=False)


class _QuietSqlFilter(logging.Filter):
    """Drops ``odoo.sql_db`` records while ``quiet_sql_log()`` is active in the
    same thread (or task)."""

    meeting_rooms_quiet_sql = True

    def filter(self, record):
        return not _SQL_QUIET.get()


def _install_quiet_sql_filter():
    sql_logger = logging.getLogger("odoo.sql_db")
    if not any(
        getattr(known, "meeting_rooms_quiet_sql", False) for known in sql_logger.filters
    ):
        sql_logger.addFilter(_QuietSqlFilter())


_install_quiet_sql_filter()


@contextmanager
def quiet_sql_log():
    """Keep ``odoo.sql_db`` from logging, in this thread only, the statement a
    refused booking ends with: it holds the guest's name and addresses.

    Odoo's ``mute_logger`` swaps the logger's handlers for the whole process;
    two requests of a threaded server that overlap restore each other's
    swap, which logs the statement or leaves the logger muted for good.
    """
    token = _SQL_QUIET.set(True)
    try:
        yield
    finally:
        _SQL_QUIET.reset(token)


# The two keys of pg_advisory_xact_lock(int, int): a space per kind of
# schedule ("MR" and a number), then the host's or the room's id.
HOST_LOCK_SPACE = 0x4D520001
ROOM_LOCK_SPACE = 0x4D520002


def lock_schedules(cr, host_ids=(), room_ids=()):
    """Wait until no other transaction is writing the schedule of these hosts
    or rooms, and hold them until this transaction ends.

    Without it, two transactions inserting overlapping meetings each find the
    other's uncommitted row while checking the exclusion constraint and wait
    for each other: a deadlock, which Odoo answers by replaying the requests
    and, past five tries, with an error page. Queued here, the second one meets
    the first one's committed row instead: a plain refusal, which
    ``translate_refusals`` words. Keys are taken in one order (hosts, then
    rooms, by id), so these locks cannot deadlock among themselves.
    """
    keys = sorted(
        {(HOST_LOCK_SPACE, host_id) for host_id in host_ids if host_id}
        | {(ROOM_LOCK_SPACE, room_id) for room_id in room_ids if room_id}
    )
    if not keys:
        return
    cr.execute(
        """
        SELECT pg_advisory_xact_lock(key.space, key.id)
          FROM unnest(%s::int[], %s::int[]) WITH ORDINALITY AS key(space, id, n)
         ORDER BY key.n
        """,
        ([space for space, _id in keys], [key_id for _space, key_id in keys]),
    )


def ensure_btree_gist(cr):
    """The exclusion constraints compare integer ids with ``=`` inside a GiST
    index, which needs ``btree_gist`` (a trusted extension since PostgreSQL 13,
    so the database owner may create it)."""
    cr.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")


def planned_value(record, vals, name, default=None):
    """The value field ``name`` will have once ``vals`` is written on
    ``record`` (an empty record when creating): ids for relations, datetimes
    for dates."""
    if name in vals:
        value = vals[name]
    elif record:
        value = record[name]
        if hasattr(value, "_name"):
            value = value.id
    else:
        value = default
    if isinstance(value, str) and name.endswith("_date"):
        value = fields.Datetime.to_datetime(value)
    return value


def overlap_domain(key_field, key_id, start, end, exclude_ids=()):
    """Domain of the non-cancelled records of ``key_id`` overlapping
    ``[start, end)``, other than ``exclude_ids``."""
    domain = [
        (key_field, "=", key_id),
        ("state", "!=", "cancel"),
        ("start_date", "<", end),
        ("end_date", ">", start),
    ]
    if exclude_ids:
        domain.append(("id", "not in", list(exclude_ids)))
    return domain
