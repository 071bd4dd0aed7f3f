"""Calendar files (RFC 5545 / iTIP RFC 5546) for meetings.

Plain Python on purpose (``icalendar`` and ``pytz``, no Odoo import): the
models gather a meeting into an :class:`IcsEvent` and this module turns it into
the bytes of a ``.ics`` file, so the rules can be tested without a database.

Conventions:

* instants (``IcsEvent.start``, ``IcsEvent.end``, ``stamp``) are naive
  datetimes in UTC, as Odoo stores ``Datetime`` fields;
* every text value goes through ``icalendar``'s escaping, never through string
  formatting, so no subject, name or description can add a line to the file;
* one meeting keeps one ``UID`` for its whole life and its ``SEQUENCE`` only
  goes up, so calendar clients replace the entry they already hold.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytz
from icalendar import (
    Alarm,
    Calendar,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vCalAddress,
)

PRODID = "-//Meeting Rooms//Odoo 17 meeting_rooms//EN"
METHOD_REQUEST = "REQUEST"
METHOD_CANCEL = "CANCEL"
METHODS = (METHOD_REQUEST, METHOD_CANCEL)
STATUS_TENTATIVE = "TENTATIVE"
STATUS_CONFIRMED = "CONFIRMED"
STATUS_CANCELLED = "CANCELLED"

# Deliberately strict: an address that goes into ``mailto:`` is a URI, which
# icalendar writes as it is, so anything that could break the line (spaces,
# control characters, quotes, separators) must never reach it.
_EMAIL_RE = re.compile(
    r"[^\s@<>\"'(),;:\\\[\]]+@[^\s@<>\"'(),;:\\\[\]]+\.[^\s@<>\"'(),;:\\\[\]]+"
)
_WHITESPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class Person:
    """Someone in the invitation: an address and the name to show."""

    email: str
    name: str = ""


@dataclass(frozen=True)
class IcsEvent:
    """Everything a calendar file says about one meeting."""

    uid: str
    sequence: int
    start: datetime  # naive UTC
    end: datetime  # naive UTC
    summary: str
    organizer: Person | None = None
    attendees: Sequence[Person] = field(default_factory=tuple)
    tz: str = "UTC"  # IANA name the times are written in
    description: str = ""
    location: str = ""
    url: str = ""
    alarm_minutes: int | None = None  # remind that many minutes before start
    status: str = STATUS_CONFIRMED


def normalize_email(address):
    """The lower-cased address, or ``None`` when it is not one plain address."""
    address = (address or "").strip().lower()
    return address if _EMAIL_RE.fullmatch(address) else None


def one_line(text):
    """``text`` with every run of whitespace (line breaks too) made one space."""
    return _WHITESPACE_RE.sub(" ", text or "").strip()


def unique_people(people: Iterable[Person], exclude: Iterable[str] = ()):
    """``people`` without invalid addresses and without repeats.

    Addresses compare case-insensitively; the first occurrence wins, so callers
    list the richest entry (the one with a name) first. Addresses in
    ``exclude`` are left out.
    """
    seen = {normalize_email(address) for address in exclude}
    result = []
    for person in people:
        email = normalize_email(person.email)
        if not email or email in seen:
            continue
        seen.add(email)
        result.append(Person(email=email, name=one_line(person.name)))
    return result


def build_calendar(event: IcsEvent, method=METHOD_REQUEST, stamp=None):
    """The ``.ics`` bytes of ``event`` for the iTIP ``method``.

    :param IcsEvent event: the meeting, as plain data;
    :param str method: ``REQUEST`` (invitation, update) or ``CANCEL``;
    :param datetime stamp: naive UTC generation time (``DTSTAMP``), now when
        not given;
    :raises ValueError: on an unknown method or an event that ends before it
        starts.
    """
    if method not in METHODS:
        raise ValueError(f"unknown iTIP method {method!r}")
    if event.end <= event.start:
        raise ValueError("a calendar event must end after it starts")
    stamp = stamp or datetime.now(timezone.utc).replace(tzinfo=None)
    zone = _get_zone(event.tz)

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    if zone is not pytz.utc:
        calendar.add_component(build_vtimezone(zone, event.start, event.end))
    calendar.add_component(_build_vevent(event, method, stamp, zone))
    return calendar.to_ical()


def build_vtimezone(zone, start, end):
    """A ``VTIMEZONE`` for ``zone`` from its real transitions, covering the
    calendar years around the naive UTC instants ``start`` and ``end``.

    Each observance's ``DTSTART`` is the wall-clock onset in the offset in use
    *before* it (``TZOFFSETFROM``), as RFC 5545 section 3.6.5 defines it.
    """
    zone = _get_zone(zone) if isinstance(zone, str) else zone
    # A day of margin keeps the meeting's local date inside the window in every
    # zone; whole years let clients show the event's neighbours right too.
    begin = datetime((start - timedelta(days=1)).year, 1, 1)
    finish = datetime((end + timedelta(days=1)).year + 1, 1, 1)

    vtimezone = Timezone()
    vtimezone.add("tzid", zone.zone)
    offset, is_dst, name = _info_at(zone, begin)
    vtimezone.add_component(_observance(is_dst, begin + offset, offset, offset, name))
    for moment, new_offset, new_is_dst, new_name in _transitions(zone, begin, finish):
        vtimezone.add_component(
            _observance(new_is_dst, moment + offset, offset, new_offset, new_name)
        )
        offset = new_offset
    return vtimezone


def _get_zone(name):
    try:
        return pytz.timezone(name or "UTC")
    except pytz.UnknownTimeZoneError:
        return pytz.utc


def _info_at(zone, moment):
    """``(utcoffset, is_dst, tzname)`` of ``zone`` at naive UTC ``moment``."""
    local = pytz.utc.localize(moment).astimezone(zone)
    return local.utcoffset(), bool(local.dst()), local.tzname()


def _transitions(zone, begin, finish):
    """``(utc instant, utcoffset, is_dst, tzname)`` of each change of ``zone``
    strictly between the naive UTC instants ``begin`` and ``finish``."""
    # pytz keeps a zone's transitions in these two parallel lists; fixed-offset
    # zones (UTC, Etc/GMT+5) have none.
    moments = getattr(zone, "_utc_transition_times", None) or []
    infos = getattr(zone, "_transition_info", None) or []
    for moment, (offset, dst, name) in zip(moments, infos, strict=False):
        if begin < moment < finish:
            yield moment, offset, bool(dst), name


def _observance(is_dst, local_onset, offset_from, offset_to, name):
    observance = TimezoneDaylight() if is_dst else TimezoneStandard()
    observance.add("dtstart", local_onset)
    observance.add("tzoffsetfrom", offset_from)
    observance.add("tzoffsetto", offset_to)
    observance.add("tzname", name)
    return observance


def _as_ical_time(moment, zone):
    """``moment`` (naive UTC) in ``zone``'s wall clock, or in UTC when that
    wall-clock time happens twice (the hour a DST change repeats): RFC 5545
    reads such a time as its first occurrence, which may not be ours."""
    aware = pytz.utc.localize(moment)
    if zone is pytz.utc:
        return aware
    local = aware.astimezone(zone)
    try:
        zone.localize(local.replace(tzinfo=None), is_dst=None)
    except (pytz.AmbiguousTimeError, pytz.NonExistentTimeError):
        return aware
    return local


def _address(person, role, partstat, rsvp):
    address = vCalAddress(f"mailto:{person.email}")
    if person.name:
        address.params["CN"] = person.name
    address.params["CUTYPE"] = "INDIVIDUAL"
    address.params["ROLE"] = role
    address.params["PARTSTAT"] = partstat
    address.params["RSVP"] = "TRUE" if rsvp else "FALSE"
    return address


def _build_vevent(event, method, stamp, zone):
    vevent = Event()
    vevent.add("uid", event.uid)
    vevent.add("sequence", max(int(event.sequence or 0), 0))
    vevent.add("dtstamp", pytz.utc.localize(stamp))
    vevent.add("dtstart", _as_ical_time(event.start, zone))
    vevent.add("dtend", _as_ical_time(event.end, zone))
    vevent.add("summary", one_line(event.summary))
    if event.description:
        vevent.add("description", event.description)
    if event.location:
        vevent.add("location", one_line(event.location))
    if event.url:
        vevent.add("url", event.url)
    status = STATUS_CANCELLED if method == METHOD_CANCEL else event.status
    vevent.add("status", status)
    vevent.add("transp", "OPAQUE")

    organizer = None
    if event.organizer:
        organizer = next(iter(unique_people([event.organizer])), None)
    if organizer:
        chair = vCalAddress(f"mailto:{organizer.email}")
        if organizer.name:
            chair.params["CN"] = organizer.name
        vevent.add("organizer", chair)
        # The host is listed once, as the chair who already accepted, so their
        # own calendar shows the meeting as theirs and asks them nothing.
        vevent.add("attendee", _address(organizer, "CHAIR", "ACCEPTED", False))
    exclude = [organizer.email] if organizer else []
    for person in unique_people(event.attendees, exclude=exclude):
        vevent.add(
            "attendee", _address(person, "REQ-PARTICIPANT", "NEEDS-ACTION", True)
        )

    if event.alarm_minutes and method != METHOD_CANCEL:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", one_line(event.summary) or "Reminder")
        alarm.add("trigger", timedelta(minutes=-abs(int(event.alarm_minutes))))
        vevent.add_component(alarm)
    return vevent
