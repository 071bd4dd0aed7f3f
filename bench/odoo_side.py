"""The part of the benchmark that runs inside ``odoo shell``: the real ORM on
the benchmark database.

``bench/run`` feeds the shell a three-line script that imports this module and
calls one task with ``env`` and a dict of parameters; the task returns a dict,
printed as one ``BENCH_RESULT <json>`` line. Nothing here is part of the addon.
"""

import cProfile
import hashlib
import json
import os
import pstats
import resource
import statistics
import threading
import time
from datetime import timedelta

from odoo import Command, fields, release

from odoo.addons.meeting_rooms.tools import timeslots

LINK_TZ = "Europe/Brussels"
LINK_ROOMS = 3
# The grid builder's steps, as cProfile names them.
GRID_PHASES = {
    "slot generation (timeslots.generate_slots)": ("timeslots.py", "generate_slots"),
    "busy intervals read (_read_busy_intervals)": (
        "meeting_booking_link.py",
        "_read_busy_intervals",
    ),
    "of which the query itself (cursor.execute)": ("sql_db.py", "execute"),
    "marking (timeslots.mark_slots)": ("timeslots.py", "mark_slots"),
}
CONTEXT = {
    "no_reset_password": True,
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "mail_notrack": True,
}


def run_task(env, task, params):
    """Run ``task`` and print its result for ``bench/run``."""
    result = TASKS[task](env(context=dict(env.context, **CONTEXT)), params)
    print("BENCH_RESULT", json.dumps(result, default=str))


# -- setup --------------------------------------------------------------------


def setup(env, params):
    """Create the hosts and the rooms once, through the ORM, and list them in
    the helper tables the bulk SQL joins."""
    started = time.monotonic()
    env.cr.execute("SELECT count(*) FROM bench_host")
    if not env.cr.fetchone()[0]:
        zones = ["Europe/Brussels", "America/New_York", "Asia/Tokyo", "UTC", False]
        group_user = env.ref("base.group_user")
        user_ids = []
        for first in range(0, params["hosts"], 100):
            users = env["res.users"].create(
                [
                    {
                        "name": f"Bench Host {idx:04d}",
                        "login": f"bench_host_{idx:04d}",
                        "tz": zones[idx % len(zones)],
                        "groups_id": [Command.set(group_user.ids)],
                    }
                    for idx in range(first, min(first + 100, params["hosts"]))
                ]
            )
            user_ids.extend(users.ids)
        rooms = env["room.location"].create(
            [
                {"name": f"Bench Room {idx:03d}", "tz": LINK_TZ, "capacity": 8}
                for idx in range(params["rooms"])
            ]
        )
        for table, column, ids in (
            ("bench_host", "user_id", user_ids),
            ("bench_room", "room_id", rooms.ids),
        ):
            env.cr.execute(
                f"INSERT INTO {table} (idx, {column}) SELECT ord - 1, id "
                "FROM unnest(%s::integer[]) WITH ORDINALITY AS t(id, ord)",
                [ids],
            )
        env.cr.commit()
    return {"seconds": time.monotonic() - started, "odoo_version": release.version}


# -- grid builder -------------------------------------------------------------


def _busiest_link(env, now):
    """A booking link (new, committed) for the host with the most meetings in
    the coming week, with the three rooms booked most in that week."""
    week = (now, now + timedelta(days=7))
    env.cr.execute(
        """
        SELECT host_user_id, count(*)
          FROM meeting_event
         WHERE state != 'cancel' AND start_date >= %s AND start_date < %s
         GROUP BY host_user_id
         ORDER BY count(*) DESC, host_user_id
         LIMIT 1
        """,
        week,
    )
    host_id, host_meetings = env.cr.fetchone()
    env.cr.execute(
        """
        SELECT room_location_id
          FROM meeting_rooms
         WHERE state != 'cancel' AND start_date >= %s AND start_date < %s
         GROUP BY room_location_id
         ORDER BY count(*) DESC, room_location_id
         LIMIT %s
        """,
        (*week, LINK_ROOMS),
    )
    room_ids = [row[0] for row in env.cr.fetchall()]
    links = env["meeting.booking.link"].sudo()
    links.search([("name", "=", "Bench link")]).write({"active": False})
    link = links.create(
        {
            "name": "Bench link",
            "user_id": host_id,
            "tz": LINK_TZ,
            "room_location_ids": [Command.set(room_ids)],
        }
    )
    env.cr.commit()
    return link, host_meetings


def before_grid(link, now):
    """The grid as the replaced system built it: the same slots, then one
    ``search_count`` per slot for the host's overlapping live meetings and one
    per room until a free one is found. Benchmark only; never in the addon.

    It applies the addon's rule (a slot is busy when it overlaps a draft or
    confirmed meeting the host hosts, or a confirmed one the host attends), so
    both builders must agree slot by slot."""
    env = link.env
    events = env["meeting.event"].sudo()
    bookings = env["meeting.rooms"].sudo()
    host_id = link.user_id.id
    today, last_day = link._get_horizon(now)
    num_days = min(7, (last_day - today).days + 1)
    slots = timeslots.generate_slots(
        link.tz,
        today,
        num_days,
        link.hour_from,
        link.hour_to,
        link._get_weekdays(),
        link.slot_minutes,
        link.step_minutes,
    )
    earliest = now + timedelta(minutes=max(0, link.min_notice_minutes))
    states = []
    for slot in slots:
        room_id = None
        overlap = [("start_date", "<", slot.end), ("end_date", ">", slot.start)]
        if slot.start <= now or slot.start < earliest:
            reason = "past"
        elif events.search_count(
            [
                *overlap,
                "|",
                "&",
                ("host_user_id", "=", host_id),
                ("state", "!=", "cancel"),
                "&",
                ("attendee", "in", [host_id]),
                ("state", "=", "confirm"),
            ],
            limit=1,
        ):
            reason = "busy"
        else:
            for room in link.room_location_ids:
                if not bookings.search_count(
                    [
                        *overlap,
                        ("room_location_id", "=", room.id),
                        ("state", "!=", "cancel"),
                    ],
                    limit=1,
                ):
                    room_id = room.id
                    break
            reason = "free" if room_id else "no_room"
        states.append(
            timeslots.SlotState(
                slot=slot, free=reason == "free", room_id=room_id, reason=reason
            )
        )
    by_day = {}
    for state in states:
        by_day.setdefault(state.slot.day, []).append(state)
    return [
        {"day": today + timedelta(days=n), "states": by_day.get(today + timedelta(n))}
        for n in range(7)
    ]


def _flatten(days):
    return [
        (state.slot.start, state.reason, state.room_id)
        for day in days
        for state in day["states"] or []
    ]


def _measure(call, runs, warmup, max_seconds=60.0, min_runs=5):
    """Wall time, SQL time and query count of ``runs`` calls after
    ``warmup`` calls, or of as many as ``max_seconds`` allow (at least
    ``min_runs``), so the slow design cannot stretch the run. SQL time is
    what Odoo's cursor records per thread."""
    thread = threading.current_thread()
    started = time.monotonic()
    for _i in range(warmup):
        call()
        if time.monotonic() - started > max_seconds / 10:
            break
    started = time.monotonic()
    wall, sql, queries = [], [], []
    for _i in range(runs):
        if len(wall) >= min_runs and time.monotonic() - started > max_seconds:
            break
        thread.query_count = 0
        thread.query_time = 0.0
        call_started = time.perf_counter()
        call()
        wall.append(time.perf_counter() - call_started)
        sql.append(thread.query_time)
        queries.append(thread.query_count)
    del thread.query_count, thread.query_time
    return {
        "runs": len(wall),
        "median_ms": 1000 * statistics.median(wall),
        "p95_ms": 1000 * _percentile(wall, 95),
        "min_ms": 1000 * min(wall),
        "sql_median_ms": 1000 * statistics.median(sql),
        "python_median_ms": 1000
        * statistics.median([w - s for w, s in zip(wall, sql, strict=True)]),
        "queries": max(queries),
    }


def _percentile(values, pct):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def _cold_queries(env, call):
    """Queries of one call on an empty cache, as the first request sees it."""
    thread = threading.current_thread()
    env.invalidate_all()
    thread.query_count = 0
    thread.query_time = 0.0
    call()
    count = thread.query_count
    del thread.query_count, thread.query_time
    return count


def _profile(call, runs):
    """Where the time of ``runs`` calls goes: the top functions by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _i in range(runs):
        call()
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    rows = []
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in sorted(
        stats.stats.items(), key=lambda item: -item[1][2]
    )[:15]:
        rows.append(
            {
                "function": f"{os.path.basename(filename)}:{line}({name})",
                "calls_per_run": calls / runs,
                "own_ms_per_run": 1000 * tottime / runs,
                "cumulative_ms_per_run": 1000 * cumtime / runs,
            }
        )
    cumulative = {}
    for (filename, _line, name), row in stats.stats.items():
        key = (os.path.basename(filename), name)
        cumulative[key] = max(cumulative.get(key, 0.0), row[3])
    phases = {
        label: 1000 * cumulative.get(key, 0.0) / runs
        for label, key in GRID_PHASES.items()
    }
    return {
        "total_ms_per_run": 1000 * total / runs,
        "phases_ms_per_run": phases,
        "top_own_time": rows,
    }


def grid(env, params):
    """Our grid builder and the replaced one, side by side, on the busiest
    host of the coming week."""
    now = fields.Datetime.now()
    link, host_meetings = _busiest_link(env, now)
    ours_call = lambda: link._get_slot_grid(now=now)  # noqa: E731
    before_call = lambda: before_grid(link, now)  # noqa: E731
    ours_days = ours_call()["days"]
    # This call warms the replaced design up as well.
    before_started = time.monotonic()
    before_days = before_call()
    before_slow = time.monotonic() - before_started > 2
    ours_flat, before_flat = _flatten(ours_days), _flatten(before_days)
    reasons = {}
    for _start, reason, _room in ours_flat:
        reasons[reason] = reasons.get(reason, 0) + 1
    result = {
        "now": now,
        "host_meetings_next_week": host_meetings,
        "link_rooms": len(link.room_location_ids),
        "slots": len(ours_flat),
        "slot_reasons": reasons,
        "same_answer": ours_flat == before_flat,
        "ours": _measure(ours_call, params["runs"], params["warmup"]),
        "before": _measure(
            before_call,
            params["runs"],
            0 if before_slow else params["warmup"],
            max_seconds=params.get("before_seconds", 60.0),
            min_runs=3,
        ),
        "ours_cold_queries": _cold_queries(env, ours_call),
        # Not worth another long call: the same count plus the link's reads.
        "before_cold_queries": None if before_slow else _cold_queries(env, before_call),
    }
    # The busy query alone, and its plan, to split SQL from Python.
    slots = [state.slot for day in ours_days for state in day["states"]]
    query = env.cr.mogrify(
        link._get_busy_query(*timeslots.query_bounds(slots))
    ).decode()
    env.cr.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query)
    plan = env.cr.fetchone()[0][0]
    env.cr.execute("EXPLAIN (ANALYZE, BUFFERS) " + query)
    result["busy_query"] = {
        "rows": plan["Plan"].get("Actual Rows"),
        "execution_ms": plan["Execution Time"],
        "planning_ms": plan["Planning Time"],
        "plan": "\n".join(row[0] for row in env.cr.fetchall()),
    }
    result["profile"] = _profile(ours_call, params["runs"])
    result["token"] = link.token
    return result


# -- cleanup ------------------------------------------------------------------


def seed_attachments(env, params):
    """Old calendar files as the addon stores them: ``calendar_file``
    attachments of meetings and room bookings, each a real file in the
    filestore, created before the retention cut-off; plus fresh ones that must
    stay."""
    started = time.monotonic()
    attachments = env["ir.attachment"]
    env.cr.execute(
        "SELECT min(id), count(*) FROM meeting_event WHERE ics_uid LIKE 'bench-%'"
    )
    first_event, events = env.cr.fetchone()
    env.cr.execute("SELECT min(id), count(*) FROM meeting_rooms")
    first_booking, bookings = env.cr.fetchone()
    old, fresh = params["old"], params["fresh"]
    chunk = 10_000
    for first in range(0, old + fresh, chunk):
        rows = []
        for n in range(first, min(first + chunk, old + fresh)):
            on_event = n % 4 != 3
            model = "meeting.event" if on_event else "meeting.rooms"
            res_id = (
                first_event + n % events if on_event else first_booking + n % bookings
            )
            raw = (
                b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n"
                b"UID:bench-%d@meeting-rooms\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n" % n
            )
            checksum = hashlib.sha1(raw).hexdigest()
            fname = attachments._file_write(raw, checksum)
            age_days = params["retention"] + 1 + n % 600 if n < old else n % 30
            rows.append(
                (
                    f"meeting-{res_id}.ics",
                    model,
                    res_id,
                    fname,
                    checksum,
                    len(raw),
                    age_days,
                )
            )
        env.cr.execute(
            """
            INSERT INTO ir_attachment (
                name, res_model, res_id, res_field, type, store_fname, checksum,
                file_size, mimetype, public, company_id, create_uid, write_uid,
                create_date, write_date)
            SELECT r.name, r.model, r.res_id, 'calendar_file', 'binary', r.fname,
                   r.checksum, r.size, 'text/calendar', false, 1, 1, 1,
                   now() AT TIME ZONE 'UTC' - make_interval(days => r.age),
                   now() AT TIME ZONE 'UTC' - make_interval(days => r.age)
              FROM unnest(%s::varchar[], %s::varchar[], %s::integer[],
                          %s::varchar[], %s::varchar[], %s::integer[],
                          %s::integer[])
                   AS r(name, model, res_id, fname, checksum, size, age)
            """,
            [list(column) for column in zip(*rows, strict=True)],
        )
        env.cr.commit()
    env.cr.execute("ANALYZE ir_attachment")
    env.cr.commit()
    return {
        "seconds": time.monotonic() - started,
        "filestore": attachments._filestore(),
    }


def _rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class _RssSampler(threading.Thread):
    """Peak resident memory of this process, sampled every 50 ms."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak = _rss_mb()
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.wait(0.05):
            self.peak = max(self.peak, _rss_mb())

    def stop(self):
        self._stop_event.set()
        self.join()
        self.peak = max(self.peak, _rss_mb())


def _drain(env, cron_method, count_query, budget_runs_limit):
    """Call ``cron_method`` until it leaves no backlog: the drain curve (rows
    left after each run) and the runs' figures."""
    env.cr.execute(count_query)
    left = env.cr.fetchone()[0]
    env.cr.commit()
    curve = [(0.0, left)]
    runs = []
    started = time.monotonic()
    while True:
        stats = getattr(env["meeting.event"], cron_method)()
        env.cr.commit()
        elapsed = time.monotonic() - started
        runs.append(dict(stats, at=elapsed))
        left -= stats["removed"]
        curve.append((elapsed, left))
        if not stats["backlog"] or len(runs) >= budget_runs_limit:
            break
    duration = time.monotonic() - started
    env.cr.execute(count_query)
    really_left = env.cr.fetchone()[0]
    env.cr.commit()
    removed = sum(run["removed"] for run in runs)
    return {
        "removed": removed,
        "left": really_left,
        "seconds": duration,
        "rows_per_second": removed / duration if duration else None,
        "runs": len(runs),
        "batches": sum(run["batches"] for run in runs),
        "longest_batch_s": max(run["longest_batch"] for run in runs),
        "longest_run_s": max(run["duration"] for run in runs),
        "curve": curve,
    }


def cleanup(env, params):
    """Drain the stale activities, then the old calendar files, through the
    two cron methods with their commits, each run bounded by the budget."""
    config = env["ir.config_parameter"].sudo()
    config.set_param("meeting_rooms.cleanup_time_budget", str(params["budget"]))
    config.set_param("meeting_rooms.cleanup_batch_size", str(params["batch"]))
    env.cr.commit()
    env.invalidate_all()
    rss_before = _rss_mb()
    sampler = _RssSampler()
    sampler.start()
    result = {
        "budget_s": params["budget"],
        "batch_size": params["batch"],
        "sql_path": env["meeting.event"]._can_remove_activities_in_sql(),
        "activities": _drain(
            env,
            "_cron_auto_delete_activities",
            "SELECT count(*) FROM mail_activity WHERE summary = 'Bench stale activity'",
            params["max_runs"],
        ),
    }
    rss_between = _rss_mb()
    result["attachments"] = _drain(
        env,
        "_cron_delete_old_ics_files",
        "SELECT count(*) FROM ir_attachment WHERE res_field = 'calendar_file' "
        "AND create_date < now() AT TIME ZONE 'UTC' - make_interval(days => %d)"
        % params["retention"],
        params["max_runs"],
    )
    sampler.stop()
    result["memory"] = {
        "rss_before_mb": rss_before,
        "rss_after_activities_mb": rss_between,
        "rss_after_mb": _rss_mb(),
        "rss_peak_mb": sampler.peak,
        "growth_mb": sampler.peak - rss_before,
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    env.cr.execute(
        "SELECT summary, count(*) FROM mail_activity "
        "WHERE summary LIKE 'Bench %' GROUP BY summary"
    )
    result["activities_left"] = dict(env.cr.fetchall())
    env.cr.execute(
        "SELECT count(*) FROM ir_attachment WHERE res_field = 'calendar_file' "
        "AND create_date >= now() AT TIME ZONE 'UTC' - make_interval(days => %s)",
        [params["retention"]],
    )
    result["fresh_attachments_left"] = env.cr.fetchone()[0]
    return result


def profile_cleanup(env, params):
    """One activity cron run under cProfile: where a batch's time goes."""
    env.cr.commit()
    profiler = cProfile.Profile()
    profiler.enable()
    stats = env["meeting.event"]._cron_auto_delete_activities()
    profiler.disable()
    env.cr.commit()
    by_name = {}
    for (filename, _line, name), row in pstats.Stats(profiler).stats.items():
        key = (os.path.basename(filename), name)
        by_name[key] = max(by_name.get(key, 0.0), row[3])
    batches = max(1, stats["batches"])
    phases = {
        "select the batch (FOR UPDATE SKIP LOCKED)": (
            "meeting_event_cleanup.py",
            "_select_overdue_activity_ids",
        ),
        "delete (SQL) and queue notifications": (
            "meeting_event_cleanup.py",
            "_remove_activities_in_sql",
        ),
        "commit": ("sql_db.py", "commit"),
        "of which bus.bus records created at commit": ("bus.py", "create_bus"),
    }
    return {
        "removed": stats["removed"],
        "batches": stats["batches"],
        "ms_per_batch": 1000 * stats["duration"] / batches,
        "phases_ms_per_batch": {
            label: 1000 * by_name.get(key, 0.0) / batches
            for label, key in phases.items()
        },
        "distinct_assignees_per_batch": params.get("assignees"),
    }


TASKS = {
    "setup": setup,
    "grid": grid,
    "seed_attachments": seed_attachments,
    "cleanup": cleanup,
    "profile_cleanup": profile_cleanup,
}
