"""Bulk SQL seeding of the benchmark database.

Everything here is plain SQL through psycopg2 (``INSERT ... SELECT
generate_series``), so a million meetings take minutes, not hours. The hosts
and rooms themselves are created once through the ORM (see ``shell_setup.py``)
and listed in two helper tables, ``bench_host`` and ``bench_room``, that the
statements below join.

The layout is deterministic, so a database grows from one size to the next by
adding rows, and it respects the addon's exclusion constraints by construction:

* Two years of working hours around today (Monday to Friday, 08:00 to 17:00
  UTC) form a grid of one-hour cells. Meeting ``i`` belongs to host
  ``i % HOSTS`` and is that host's ``k = i // HOSTS``-th meeting; it starts at
  the top of cell ``(k * CELL_STRIDE + host * HOST_OFFSET) % CELLS`` and lasts
  30, 45 or 60 minutes. ``CELL_STRIDE`` is prime to ``CELLS``, so one host's
  meetings never share a cell: they never overlap.
* About 60% of the meetings book a room. Within one cell, the bookings take
  ``slot`` numbers 0, 1, 2... in order of creation (counting the bookings
  already there), and slot ``s`` of cell ``c`` is room
  ``(s * 7 + c * 13) % ROOMS``: a one-to-one map for a given cell, so two
  bookings of a cell never share a room. A cell never holds more than
  ``ROOMS`` bookings; a meeting that would need one more gets no room.
* States are drawn from a hash of ``i``: 70% confirmed, 15% draft, 15%
  cancelled. The host attends each meeting, with 0 to 3 colleagues.
"""

import time

HOSTS = 1000
ROOMS = 200
WEEKS = 104
HOURS_PER_DAY = 9
FIRST_HOUR_UTC = 8
CELLS_PER_WEEK = 5 * HOURS_PER_DAY
CELLS = WEEKS * CELLS_PER_WEEK
# 2891 = 7 * 7 * 59 shares no factor with CELLS = 4680 = 2^3 * 3^2 * 5 * 13,
# and it is close to CELLS / golden ratio, so a host's meetings spread evenly
# over the two years whatever their number.
CELL_STRIDE = 2891
HOST_OFFSET = 1009
MAX_MEETINGS = HOSTS * CELLS
CHUNK = 100_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS bench_host (idx integer PRIMARY KEY, user_id integer);
CREATE TABLE IF NOT EXISTS bench_room (idx integer PRIMARY KEY, room_id integer);
CREATE TABLE IF NOT EXISTS bench_meta (key varchar PRIMARY KEY, value varchar);
"""

# The Monday 52 weeks before this week's: two years of cells around today.
BASE_MONDAY = """
INSERT INTO bench_meta (key, value)
SELECT 'base_monday',
       (date_trunc('week', now() AT TIME ZONE 'UTC') - interval '52 weeks')::date
ON CONFLICT (key) DO NOTHING
"""

MEETINGS = """
INSERT INTO meeting_event (
    subject, host_user_id, company_id, state, start_date, end_date, version,
    ics_uid, create_uid, write_uid, create_date, write_date)
SELECT 'Bench meeting ' || g.i,
       host.user_id,
       1,
       CASE WHEN draw.state < 70 THEN 'confirm'
            WHEN draw.state < 85 THEN 'draft'
            ELSE 'cancel' END,
       cell.start,
       cell.start + make_interval(mins => 30 + 15 * (abs(hashint4(g.i + 17)) %% 3)),
       0,
       'bench-' || g.i || '@meeting-rooms',
       1, 1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
  FROM generate_series(%(lo)s, %(hi)s - 1) AS g(i)
  JOIN bench_host AS host ON host.idx = g.i %% %(hosts)s
 CROSS JOIN LATERAL (
       SELECT ((g.i / %(hosts)s)::bigint * %(stride)s
               + (g.i %% %(hosts)s) * %(offset)s) %% %(cells)s AS n
       ) AS pos
 CROSS JOIN LATERAL (
       SELECT %(base)s::date
              + make_interval(
                    days => (pos.n / %(per_week)s)::integer * 7
                            + ((pos.n %% %(per_week)s) / %(per_day)s)::integer,
                    hours => %(first_hour)s + (pos.n %% %(per_day)s)::integer
                ) AS start
       ) AS cell
 CROSS JOIN LATERAL (SELECT abs(hashint4(g.i)) %% 100 AS state) AS draw
 ORDER BY g.i
"""

# The host, then 0 to 3 colleagues chosen away from the host.
ATTENDEES = """
INSERT INTO meeting_event_attendee_rel (meeting_event_id, user_id)
SELECT event.id, event.host_user_id
  FROM meeting_event AS event
 WHERE event.id > %(after)s
UNION ALL
SELECT event.id, colleague.user_id
  FROM meeting_event AS event
  JOIN bench_host AS host ON host.user_id = event.host_user_id
 CROSS JOIN LATERAL generate_series(1, abs(hashint4(event.id)) %% 4) AS j(n)
  JOIN bench_host AS colleague
    ON colleague.idx = (host.idx + j.n * 97) %% %(hosts)s
 WHERE event.id > %(after)s
"""

# Room bookings of the new meetings; see the module docstring for the rooms.
BOOKINGS = """
WITH wanted AS (
    SELECT event.id, event.start_date, event.end_date, event.state,
           row_number() OVER (PARTITION BY event.start_date ORDER BY event.id)
               AS rank
      FROM meeting_event AS event
     WHERE event.id > %(after)s
       AND abs(hashint4(event.id + 7919)) %% 100 < 60
),
taken AS (
    SELECT booking.start_date, count(*) AS used
      FROM meeting_rooms AS booking
     WHERE booking.start_date IN (SELECT DISTINCT start_date FROM wanted)
     GROUP BY booking.start_date
),
placed AS (
    SELECT wanted.*,
           COALESCE(taken.used, 0) + wanted.rank - 1 AS slot,
           (extract(epoch FROM wanted.start_date) / 3600)::bigint AS cell
      FROM wanted
      LEFT JOIN taken ON taken.start_date = wanted.start_date
),
booked AS (
    INSERT INTO meeting_rooms (
        meeting_event_id, room_location_id, company_id, state, start_date,
        end_date, duration, create_uid, write_uid, create_date, write_date)
    SELECT placed.id, room.room_id, 1, placed.state, placed.start_date,
           placed.end_date,
           extract(epoch FROM placed.end_date - placed.start_date) / 3600.0,
           1, 1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
      FROM placed
      JOIN bench_room AS room
        ON room.idx = (placed.slot * 7 + placed.cell * 13) %% %(rooms)s
     WHERE placed.slot < %(rooms)s
    RETURNING meeting_event_id, room_location_id
)
INSERT INTO meeting_event_room_location_rel (meeting_event_id, room_location_id)
SELECT meeting_event_id, room_location_id FROM booked
"""

# Activities whose deadline passed, on meetings and room bookings, assigned to
# hosts drawn at random (they live in several timezones), as activities pile up
# in a company over time: a batch of 1000 consecutive ids has about 630
# different assignees. Plus rows the cleanup must keep: future deadlines on
# meetings and overdue ones on partners.
STALE_ACTIVITIES = """
INSERT INTO mail_activity (
    res_model_id, res_model, res_id, activity_type_id, user_id, date_deadline,
    summary, automated, active, create_uid, write_uid, create_date, write_date)
SELECT model.id, model.model,
       CASE WHEN g.i %% 2 = 0
            THEN %(first_event)s + (g.i::bigint * 7919) %% %(events)s
            ELSE %(first_booking)s + (g.i::bigint * 7919) %% %(bookings)s END,
       %(todo)s, host.user_id,
       current_date - 1 - (g.i %% 700),
       'Bench stale activity', false, true, 1, 1,
       now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
  FROM generate_series(%(lo)s, %(hi)s - 1) AS g(i)
  JOIN ir_model AS model
    ON model.model = CASE WHEN g.i %% 2 = 0 THEN 'meeting.event'
                          ELSE 'meeting.rooms' END
  JOIN bench_host AS host ON host.idx = abs(hashint4(g.i)) %% %(hosts)s
"""

KEPT_ACTIVITIES = """
INSERT INTO mail_activity (
    res_model_id, res_model, res_id, activity_type_id, user_id, date_deadline,
    summary, automated, active, create_uid, write_uid, create_date, write_date)
SELECT model.id, model.model,
       CASE WHEN model.model = 'meeting.event'
            THEN %(first_event)s + g.i %% %(events)s
            ELSE %(partner)s END,
       %(todo)s, host.user_id,
       CASE WHEN model.model = 'meeting.event' THEN current_date + 30
            ELSE current_date - 30 END,
       'Bench kept activity', false, true, 1, 1,
       now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
  FROM generate_series(0, %(count)s - 1) AS g(i)
  JOIN ir_model AS model
    ON model.model = CASE WHEN g.i %% 2 = 0 THEN 'meeting.event'
                          ELSE 'res.partner' END
  JOIN bench_host AS host ON host.idx = g.i %% %(hosts)s
"""

TABLES = (
    "meeting_event",
    "meeting_event_attendee_rel",
    "meeting_rooms",
    "meeting_event_room_location_rel",
)


def prepare(conn):
    with conn.cursor() as cr:
        cr.execute(SCHEMA)
        cr.execute(BASE_MONDAY)
    conn.commit()


def _read(conn, query, params=None):
    """Rows of a read-only query, its transaction ended at once: an idle
    transaction left open would hold back vacuum during the cleanup."""
    with conn.cursor() as cr:
        cr.execute(query, params)
        rows = cr.fetchall()
    conn.commit()
    return rows


def meeting_count(conn):
    return _read(
        conn, "SELECT count(*) FROM meeting_event WHERE ics_uid LIKE 'bench-%'"
    )[0][0]


def grow_meetings(conn, target, log=print):
    """Add meetings (with attendees and room bookings) up to ``target``.

    :returns: seconds spent, vacuum and analyze included
    """
    if target > MAX_MEETINGS:
        raise ValueError(f"at most {MAX_MEETINGS} meetings fit the layout")
    started = time.monotonic()
    with conn.cursor() as cr:
        cr.execute("SELECT value FROM bench_meta WHERE key = 'base_monday'")
        base = cr.fetchone()[0]
    done = meeting_count(conn)
    while done < target:
        upper = min(target, done + CHUNK)
        with conn.cursor() as cr:
            cr.execute("SELECT COALESCE(max(id), 0) FROM meeting_event")
            after = cr.fetchone()[0]
            cr.execute(
                MEETINGS,
                {
                    "lo": done,
                    "hi": upper,
                    "hosts": HOSTS,
                    "stride": CELL_STRIDE,
                    "offset": HOST_OFFSET,
                    "cells": CELLS,
                    "base": base,
                    "per_week": CELLS_PER_WEEK,
                    "per_day": HOURS_PER_DAY,
                    "first_hour": FIRST_HOUR_UTC,
                },
            )
            cr.execute(ATTENDEES, {"after": after, "hosts": HOSTS})
            cr.execute(BOOKINGS, {"after": after, "rooms": ROOMS})
        conn.commit()
        done = upper
        log(f"  meetings: {done:,} ({time.monotonic() - started:.0f}s)")
    vacuum_analyze(conn, TABLES)
    return time.monotonic() - started


def vacuum_analyze(conn, tables):
    """What autovacuum would have done on a live database: fresh statistics
    and a visibility map, so the planner sees the tables as they will be."""
    conn.commit()
    old = conn.autocommit
    conn.autocommit = True
    try:
        with conn.cursor() as cr:
            for table in tables:
                cr.execute(f"VACUUM ANALYZE {table}")
    finally:
        conn.autocommit = old


def table_counts(conn):
    counts = {
        table: _read(conn, f"SELECT count(*) FROM {table}")[0][0] for table in TABLES
    }
    counts["meeting_event_by_state"] = dict(
        _read(conn, "SELECT state, count(*) FROM meeting_event GROUP BY state")
    )
    return counts


def seed_activities(conn, stale, kept, log=print):
    """``stale`` overdue activities on meetings and room bookings, and
    ``kept`` ones the cleanup must leave alone.

    :returns: seconds spent
    """
    started = time.monotonic()
    with conn.cursor() as cr:
        cr.execute(
            "SELECT min(id), count(*) FROM meeting_event WHERE ics_uid LIKE 'bench-%'"
        )
        first_event, events = cr.fetchone()
        cr.execute("SELECT min(id), count(*) FROM meeting_rooms")
        first_booking, bookings = cr.fetchone()
        cr.execute(
            "SELECT res_id FROM ir_model_data "
            "WHERE module = 'mail' AND name = 'mail_activity_data_todo'"
        )
        todo = cr.fetchone()[0]
        cr.execute("SELECT partner_id FROM res_company WHERE id = 1")
        partner = cr.fetchone()[0]
    # Room bookings ids are contiguous here: they were only ever inserted.
    values = {
        "first_event": first_event,
        "events": events,
        "first_booking": first_booking,
        "bookings": bookings,
        "todo": todo,
        "partner": partner,
        "hosts": HOSTS,
    }
    done = 0
    while done < stale:
        upper = min(stale, done + 4 * CHUNK)
        with conn.cursor() as cr:
            cr.execute(STALE_ACTIVITIES, dict(values, lo=done, hi=upper))
        conn.commit()
        done = upper
        log(f"  stale activities: {done:,} ({time.monotonic() - started:.0f}s)")
    with conn.cursor() as cr:
        cr.execute(KEPT_ACTIVITIES, dict(values, count=kept))
    conn.commit()
    vacuum_analyze(conn, ["mail_activity"])
    return time.monotonic() - started


def distinct_assignees_per_batch(conn, batch):
    """Average number of different users among ``batch`` consecutive stale
    activities: each one gets a bus notification when they are removed."""
    value = _read(
        conn,
        """
        SELECT avg(users)
          FROM (SELECT count(DISTINCT user_id) AS users
                  FROM mail_activity
                 WHERE summary = 'Bench stale activity'
                 GROUP BY id / %s) AS per_batch
        """,
        [batch],
    )[0][0]
    return float(value) if value is not None else None
