"""Time arithmetic of a booking link: slot grids, DST, free/busy.

Plain Python on purpose (stdlib and ``pytz`` only, no Odoo import), so the rules
can be read in one sitting and tested without a database.

Conventions shared by every function here:

* instants (``Slot.start``, ``Slot.end``, busy intervals, ``now_utc``) are naive
  datetimes in UTC, as Odoo stores ``Datetime`` fields;
* ``Slot.local_start`` is the naive wall-clock time in the link's timezone, the
  value a guest sees and sends back as ``time_str``;
* intervals are half-open: ``[start, end)``.

Timezones go through ``pytz`` because Odoo does, so the page, the models and the
tests all answer from the same tz database.
"""

import bisect
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytz

TIME_STR_FORMAT = "%Y-%m-%d %H:%M:%S"

MINUTES_PER_DAY = 24 * 60
MAX_DAYS_AHEAD = 365
# A notice longer than the longest horizon could never be met; capping it also
# keeps ``now + notice`` far away from datetime's overflow.
MAX_NOTICE_MINUTES = MAX_DAYS_AHEAD * MINUTES_PER_DAY

# Only ASCII digits: ``\d`` would also accept e.g. Arabic-Indic digits, which
# ``int()`` happily converts, so two different strings would name one slot.
_TIME_STR_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})"
)
_TIME_STR_LENGTH = 19
_ONE_DAY = timedelta(days=1)
_ONE_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Slot:
    """One bookable time of a booking link."""

    local_start: datetime  # naive, wall clock in the link's timezone
    start: datetime  # naive UTC
    end: datetime  # naive UTC
    day: date  # the day whose window holds it (the day the window starts on)

    @property
    def time_str(self) -> str:
        """Local start as ``YYYY-MM-DD HH:MM:SS``, the slot's public name."""
        # isoformat pads the year to four digits, strftime("%Y") may not.
        return self.local_start.isoformat(sep=" ", timespec="seconds")


@dataclass(frozen=True)
class SlotState:
    """Whether a slot can be booked, and with which room."""

    slot: Slot
    free: bool
    room_id: int | None  # the free room chosen, for links with rooms
    reason: str  # 'free', 'busy', 'past' or 'no_room'


def parse_time_str(value: str) -> datetime:
    """Parse a ``time_str`` (``YYYY-MM-DD HH:MM:SS``) into a naive datetime.

    Strict on purpose, because the value comes from a URL: exactly 19 ASCII
    characters in that layout naming a real calendar date and time. Anything
    else raises ``ValueError``; the message never repeats the input, so it can
    be shown to a guest as is.

    :param value: the string to parse
    :raises ValueError: when ``value`` is not a valid ``time_str``
    """
    if not isinstance(value, str):
        raise ValueError("time_str must be a string 'YYYY-MM-DD HH:MM:SS'.")
    if len(value) != _TIME_STR_LENGTH:
        raise ValueError(
            "time_str must be exactly 19 characters: 'YYYY-MM-DD HH:MM:SS'."
        )
    match = _TIME_STR_RE.fullmatch(value)
    if not match:
        raise ValueError("time_str must look like 'YYYY-MM-DD HH:MM:SS'.")
    try:
        return datetime(*(int(part) for part in match.groups()))
    except ValueError:
        raise ValueError("time_str does not name a real date and time.") from None


def local_today(tz_name: str, now_utc: datetime) -> date:
    """Return the date it is in ``tz_name`` at the naive UTC instant ``now_utc``.

    :raises ValueError: for an unknown timezone or an aware ``now_utc``
    """
    tz = _get_tz(tz_name)
    _check_naive(now_utc, "now_utc")
    return pytz.utc.localize(now_utc).astimezone(tz).date()


def generate_slots(
    tz_name: str,
    first_day: date,
    num_days: int,
    hour_from: float,
    hour_to: float,
    weekdays: Collection[int],
    slot_minutes: int,
    step_minutes: int,
) -> list[Slot]:
    """Return the slots of the windows starting on ``first_day`` and after.

    One window per day ``first_day .. first_day + num_days - 1`` whose weekday
    (0 = Monday .. 6 = Sunday) is in ``weekdays``. A window runs from
    ``hour_from`` to ``hour_to`` in local wall-clock time; when ``hour_to`` is
    not after ``hour_from`` it ends on the next day (equal hours: 24 hours).

    Candidate starts are ``hour_from``, ``hour_from + step``, ... on the wall
    clock of the window's day. A candidate is kept when it exists locally
    (never inside a DST gap), is mapped to its first occurrence when it exists
    twice, and the slot ``[start, start + slot_minutes)`` (real minutes) lies
    inside the window in UTC. See ``_window_bounds_utc`` for the window's ends.

    No local start is returned twice, even when two windows overlap in real
    time (possible around a backward clock change); the earlier day keeps it.

    :returns: slots sorted by ``start``
    :raises ValueError: for an unknown timezone, hours outside the day or
        non-positive minutes
    """
    tz = _get_tz(tz_name)
    from_minute, window_minutes = _window_minutes(hour_from, hour_to)
    slot_delta = timedelta(minutes=_positive_minutes(slot_minutes, "slot_minutes"))
    step_delta = timedelta(minutes=_positive_minutes(step_minutes, "step_minutes"))
    if isinstance(first_day, datetime):
        first_day = first_day.date()
    weekday_set = frozenset(weekdays)

    slots_by_local = {}
    for day_offset in range(max(0, num_days)):
        day = first_day + timedelta(days=day_offset)
        if day.weekday() not in weekday_set:
            continue
        wall_start = datetime.combine(day, time.min) + timedelta(minutes=from_minute)
        wall_end = wall_start + timedelta(minutes=window_minutes)
        offset = _quiet_offset(tz, wall_start, wall_end)
        if offset is not None:
            # No clock change inside the window (nearly every day): every wall
            # time exists once and maps to UTC by one subtraction, which spares
            # a zone lookup per slot.
            local_start = wall_start
            while local_start + slot_delta <= wall_end:
                if local_start not in slots_by_local:
                    start = local_start - offset
                    slots_by_local[local_start] = Slot(
                        local_start=local_start,
                        start=start,
                        end=start + slot_delta,
                        day=day,
                    )
                local_start += step_delta
            continue
        utc_start, utc_end = _window_bounds_utc(tz, wall_start, wall_end)
        # When the clock goes back inside the window, the window lasts longer in
        # real time than on the wall, so a start named after the wall-clock end
        # can still fit before the end instant (a window ending at the second
        # 01:30 holds the first 01:45). Look that much further; the UTC test
        # below decides.
        overhang = max(timedelta(0), (utc_end - utc_start) - (wall_end - wall_start))
        last_candidate = wall_end + overhang
        local_start = wall_start
        while local_start <= last_candidate:
            start = _slot_start_utc(tz, local_start)
            if (
                start is not None
                and utc_start <= start
                and start + slot_delta <= utc_end
                and local_start not in slots_by_local
            ):
                slots_by_local[local_start] = Slot(
                    local_start=local_start,
                    start=start,
                    end=start + slot_delta,
                    day=day,
                )
            local_start += step_delta
    return sorted(slots_by_local.values(), key=lambda slot: slot.start)


def query_bounds(slots: Iterable[Slot]) -> tuple[datetime, datetime] | None:
    """Return ``(earliest start, latest end)`` of ``slots`` in UTC, or None.

    Meant for the one database query that fetches every busy interval the
    slots can overlap; None when there is no slot, so no query is needed.
    """
    slots = list(slots)
    if not slots:
        return None
    return min(slot.start for slot in slots), max(slot.end for slot in slots)


def merge_intervals(
    intervals: Iterable[Sequence[datetime]],
) -> list[tuple[datetime, datetime]]:
    """Sort intervals and merge the overlapping or touching ones.

    Empty or inverted intervals (``end <= start``) are dropped: they cover no
    time. Merging touching intervals does not change which non-empty slot
    overlaps them, and it keeps the sweep in ``mark_slots`` to one pointer step
    per merged block.

    :param intervals: ``(start, end)`` pairs, in any order
    :returns: disjoint, non-touching ``(start, end)`` tuples sorted by start
    """
    merged = []
    for start, end in sorted((start, end) for start, end in intervals if start < end):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def mark_slots(
    slots: Sequence[Slot],
    host_busy: Iterable[Sequence[datetime]],
    *,
    now_utc: datetime,
    min_notice_minutes: int = 0,
    room_busy: dict[int, Iterable[Sequence[datetime]]] | None = None,
) -> list[SlotState]:
    """Decide for each slot whether it can be booked.

    In order of precedence, a slot is:

    * ``'past'`` when it has started (``start <= now_utc``) or starts less than
      ``min_notice_minutes`` after ``now_utc`` (negative notice counts as 0);
    * ``'busy'`` when it overlaps a busy interval of the host;
    * ``'no_room'`` for a link with rooms when every room is busy;
    * ``'free'`` otherwise, with ``room_id`` the first free room in the order
      of ``room_busy`` (None for a link without rooms).

    Busy intervals are merged once and swept with one advancing pointer per
    calendar, so the cost is a sort plus O(slots x rooms + intervals), not a
    scan of every interval per slot.

    :param slots: slots in any order; the result follows the same order
    :param host_busy: the host's busy ``(start, end)`` UTC pairs, any order
    :param now_utc: the current instant, naive UTC
    :param min_notice_minutes: how soon a slot may start at the earliest
    :param room_busy: None for a link without rooms; otherwise every room of the
        link, ``{room_id: busy (start, end) pairs}`` (an empty list is a free
        room). An empty dict is a link whose rooms are all unavailable, so no
        slot is free.
    """
    _check_naive(now_utc, "now_utc")
    slots = list(slots)
    notice = timedelta(minutes=min(max(0, min_notice_minutes), MAX_NOTICE_MINUTES))
    earliest_start = now_utc + notice
    host_cursor = _BusyCursor(host_busy)
    room_cursors = (
        None
        if room_busy is None
        else [(room_id, _BusyCursor(busy)) for room_id, busy in room_busy.items()]
    )

    states = [None] * len(slots)
    # The cursors only move forward, so slots are visited by start.
    for index in sorted(range(len(slots)), key=lambda i: slots[i].start):
        slot = slots[index]
        room_id = None
        if slot.start <= now_utc or slot.start < earliest_start:
            reason = "past"
        elif host_cursor.overlaps(slot.start, slot.end):
            reason = "busy"
        elif room_cursors is not None:
            room_id = next(
                (
                    candidate
                    for candidate, cursor in room_cursors
                    if not cursor.overlaps(slot.start, slot.end)
                ),
                None,
            )
            reason = "free" if room_id is not None else "no_room"
        else:
            reason = "free"
        states[index] = SlotState(
            slot=slot, free=reason == "free", room_id=room_id, reason=reason
        )
    return states


def validate_rules(
    tz_name: str,
    hour_from: float,
    hour_to: float,
    slot_minutes: int,
    step_minutes: int,
    days_ahead: int,
    min_notice_minutes: int,
) -> list[str]:
    """Check a booking link's availability rules.

    :returns: one human-readable sentence per problem; an empty list when the
        rules can produce a slot grid
    """
    problems = []
    if not isinstance(tz_name, str) or not tz_name:
        problems.append("A timezone is required.")
    elif tz_name not in pytz.all_timezones_set:
        problems.append(f"Unknown timezone {tz_name!r}.")

    hours_ok = True
    # A window may end at 24:00 but not start there: its day would be wrong.
    for label, value, last_minute, bounds in (
        ("start", hour_from, MINUTES_PER_DAY - 1, "from 0 up to (not including) 24"),
        ("end", hour_to, MINUTES_PER_DAY, "between 0 and 24"),
    ):
        minute = _hour_to_minute(value)
        if minute is None or not 0 <= minute <= last_minute:
            problems.append(f"The {label} hour must be a number of hours {bounds}.")
            hours_ok = False

    minutes_ok = True
    for label, value in (
        ("The slot length", slot_minutes),
        ("The step between slots", step_minutes),
    ):
        if not _is_int(value) or value <= 0:
            problems.append(f"{label} must be a positive number of minutes.")
            minutes_ok = False

    if hours_ok and minutes_ok:
        _from_minute, window_minutes = _window_minutes(hour_from, hour_to)
        if slot_minutes > window_minutes:
            problems.append(
                f"The slot length ({slot_minutes} minutes) is longer than the "
                f"working window ({window_minutes} minutes)."
            )

    if not _is_int(days_ahead) or not 1 <= days_ahead <= MAX_DAYS_AHEAD:
        problems.append(f"The booking horizon must be from 1 to {MAX_DAYS_AHEAD} days.")
    if (
        not _is_int(min_notice_minutes)
        or not 0 <= min_notice_minutes <= MAX_NOTICE_MINUTES
    ):
        problems.append(
            "The minimum notice must be from 0 to "
            f"{MAX_NOTICE_MINUTES} minutes ({MAX_DAYS_AHEAD} days)."
        )
    return problems


# -- helpers -----------------------------------------------------------------


class _BusyCursor:
    """Merged busy intervals with a pointer that only moves forward."""

    __slots__ = ("_index", "_intervals")

    def __init__(self, intervals):
        self._intervals = merge_intervals(intervals)
        self._index = 0

    def overlaps(self, start, end):
        """Tell whether ``[start, end)`` overlaps a busy interval.

        Successive calls must not decrease ``start``: intervals ending at or
        before it are skipped for good.
        """
        intervals = self._intervals
        while self._index < len(intervals) and intervals[self._index][1] <= start:
            self._index += 1
        # Merged intervals are disjoint and sorted, so the first one ending
        # after ``start`` is the only candidate: later ones start even later.
        return self._index < len(intervals) and intervals[self._index][0] < end


def _get_tz(tz_name):
    """Return the pytz zone, refusing names pytz only resolves by guessing."""
    if not isinstance(tz_name, str) or tz_name not in pytz.all_timezones_set:
        raise ValueError("Unknown timezone.")
    return pytz.timezone(tz_name)


def _check_naive(value, name):
    if not isinstance(value, datetime) or value.tzinfo is not None:
        raise ValueError(f"{name} must be a naive datetime in UTC.")


def _is_int(value):
    # bool is an int subclass; True minutes is a data error, not 1 minute.
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_minutes(value, name):
    if not _is_int(value) or value <= 0:
        raise ValueError(f"{name} must be a positive integer.")
    return value


def _hour_to_minute(value):
    """Return ``round(value * 60)``, or None when it is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return round(value * 60)
    except (ValueError, OverflowError):  # nan, inf
        return None


def _window_minutes(hour_from, hour_to):
    """Return ``(start minute of the day, window length in minutes)``.

    :raises ValueError: when an hour is not a number inside the day
    """
    from_minute = _hour_to_minute(hour_from)
    to_minute = _hour_to_minute(hour_to)
    if from_minute is None or not 0 <= from_minute < MINUTES_PER_DAY:
        raise ValueError("hour_from must be a number of hours in [0, 24).")
    if to_minute is None or not 0 <= to_minute <= MINUTES_PER_DAY:
        raise ValueError("hour_to must be a number of hours in [0, 24].")
    if to_minute > from_minute:
        return from_minute, to_minute - from_minute
    # Not after the start: the window runs past midnight (equal: 24 hours).
    return from_minute, to_minute + MINUTES_PER_DAY - from_minute


def _to_naive_utc(aware):
    return aware.replace(tzinfo=None) - aware.utcoffset()


def _utc_candidates(tz, local):
    """Return the UTC instants whose wall time in ``tz`` is ``local``, sorted.

    Empty inside a DST gap, two instants in a repeated hour, one otherwise.
    """
    try:
        return (_to_naive_utc(tz.localize(local, is_dst=None)),)
    except pytz.NonExistentTimeError:
        return ()
    except pytz.AmbiguousTimeError:
        # pytz picks by the DST flag, which is not always "earlier" (some
        # transitions keep the flag); ask for both sides and order by instant.
        both = {
            _to_naive_utc(tz.localize(local, is_dst=True)),
            _to_naive_utc(tz.localize(local, is_dst=False)),
        }
        return tuple(sorted(both))


def _slot_start_utc(tz, local):
    """Return the first UTC instant showing ``local``, None inside a gap."""
    candidates = _utc_candidates(tz, local)
    return candidates[0] if candidates else None


def _wall_time(tz, utc):
    return pytz.utc.localize(utc).astimezone(tz).replace(tzinfo=None)


def _gap_end_utc(tz, local):
    """Return the instant a DST gap containing ``local`` ends.

    That is the first real local time after the gap. pytz's two guesses apply
    the offset before and after the change to ``local``; the change itself lies
    between them, and a bisection on whole seconds (tz data has no finer
    transitions) finds it without reading pytz's private transition tables.
    """
    guesses = sorted(
        {
            _to_naive_utc(tz.localize(local, is_dst=True)),
            _to_naive_utc(tz.localize(local, is_dst=False)),
        }
    )
    low, high = guesses[0], guesses[-1]
    # Invariant: the wall time at ``low`` is before ``local`` (still before the
    # change), the one at ``high`` is after it (already past the gap).
    while high - low > _ONE_SECOND:
        middle = low + timedelta(seconds=(high - low) // _ONE_SECOND // 2)
        if _wall_time(tz, middle) > local:
            high = middle
        else:
            low = middle
    return high


def _quiet_offset(tz, wall_start, wall_end):
    """Return the zone's UTC offset when it stays the same from a day before
    ``wall_start`` to a day after ``wall_end``, else None.

    A day on each side is more than any UTC offset, so the window's wall-clock
    bounds surely fall in that quiet stretch. Reads pytz's transition table,
    which saves a ``localize`` per bound on every ordinary day.
    """
    transitions = getattr(tz, "_utc_transition_times", None)
    if not transitions:
        # UTC and fixed-offset zones never change.
        return tz.utcoffset(wall_start)
    index = bisect.bisect_right(transitions, wall_start - _ONE_DAY)
    if index == 0 or (
        index < len(transitions) and transitions[index] <= wall_end + _ONE_DAY
    ):
        return None
    return tz._transition_info[index - 1][0]


def _window_bounds_utc(tz, wall_start, wall_end):
    """Return the UTC instants a window's wall-clock bounds stand for.

    Chosen so a DST change never shortens the window: a bound inside a gap
    becomes the end of the gap; a repeated start takes its first occurrence
    and a repeated end its last one.
    """
    start_candidates = _utc_candidates(tz, wall_start)
    end_candidates = _utc_candidates(tz, wall_end)
    utc_start = (
        start_candidates[0] if start_candidates else _gap_end_utc(tz, wall_start)
    )
    utc_end = end_candidates[-1] if end_candidates else _gap_end_utc(tz, wall_end)
    return utc_start, utc_end
