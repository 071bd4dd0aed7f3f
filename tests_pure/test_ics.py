"""Calendar files of meetings, tested without Odoo.

Every file is read back with two independent parsers, ``icalendar`` and
``vobject``, and the instants they find must be the ones that went in. The 2026
transitions used here: Europe/London springs forward at 01:00 UTC on 29 March;
America/New_York falls back at 06:00 UTC on 1 November.
"""

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import pytz
import vobject
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

import ics
from ics import IcsEvent, Person, build_calendar

# Fail loudly if some other installed "ics" module won the import.
assert Path(ics.__file__).resolve().parent.name == "tools", ics.__file__

STAMP = datetime(2026, 1, 15, 8, 0)
HOST = Person("Host@Example.com", "Hanna Host")
ANA = Person("ana@example.com", "Ana")
BEN = Person("ben@example.com", "Ben")


def make_event(**values):
    """A one-hour meeting on a quiet day in Europe/Berlin, hosted by HOST."""
    return IcsEvent(
        **{
            "uid": "0b7c3c4e-1111-4d6f-9a57-3f1c2b7c9e10@meeting-rooms",
            "sequence": 0,
            "start": datetime(2026, 6, 10, 10, 0),
            "end": datetime(2026, 6, 10, 11, 0),
            "summary": "Planning",
            "organizer": HOST,
            "attendees": [ANA, BEN],
            "tz": "Europe/Berlin",
            **values,
        }
    )


def unfolded_lines(data):
    """The content lines of a file, long lines joined back (RFC 5545 3.1)."""
    return data.decode().replace("\r\n ", "").split("\r\n")


def parse_icalendar(data):
    calendar = Calendar.from_ical(data)
    return calendar, next(iter(calendar.walk("VEVENT")))


def parse_vobject(data):
    # vobject keeps the first definition of a TZID for the whole process; each
    # file here must be read through its own VTIMEZONE, not an earlier one.
    for tzid in Calendar.from_ical(data).get_used_tzids():
        vobject.icalendar.registerTzid(tzid, None)
    calendar = vobject.readOne(data.decode())
    return calendar, calendar.vevent


def as_naive_utc(value):
    return value.astimezone(pytz.utc).replace(tzinfo=None)


def assert_instants(data, start, end):
    """Both parsers read ``start`` and ``end`` (naive UTC) back from ``data``."""
    _calendar, vevent = parse_icalendar(data)
    assert as_naive_utc(vevent.decoded("dtstart")) == start, "icalendar DTSTART"
    assert as_naive_utc(vevent.decoded("dtend")) == end, "icalendar DTEND"
    _calendar, vevent = parse_vobject(data)
    assert as_naive_utc(vevent.dtstart.value) == start, "vobject DTSTART"
    assert as_naive_utc(vevent.dtend.value) == end, "vobject DTEND"


def test_request_holds_what_a_calendar_client_needs():
    data = build_calendar(make_event(), stamp=STAMP)
    calendar, vevent = parse_icalendar(data)
    assert str(calendar["method"]) == "REQUEST"
    assert str(calendar["version"]) == "2.0"
    assert str(calendar["calscale"]) == "GREGORIAN"
    assert str(calendar["prodid"]) == ics.PRODID
    assert len(calendar.walk("VEVENT")) == 1, "one event per file"
    assert str(vevent["uid"]) == make_event().uid
    assert vevent.decoded("sequence") == 0
    assert vevent.decoded("dtstamp") == pytz.utc.localize(STAMP), "DTSTAMP in UTC"
    assert str(vevent["organizer"]) == "mailto:host@example.com"
    assert vevent["organizer"].params["CN"] == "Hanna Host"
    assert_instants(data, make_event().start, make_event().end)


def test_times_carry_the_zone_and_a_matching_vtimezone():
    data = build_calendar(make_event(), stamp=STAMP)
    lines = unfolded_lines(data)
    assert "DTSTART;TZID=Europe/Berlin:20260610T120000" in lines
    assert "DTEND;TZID=Europe/Berlin:20260610T130000" in lines
    calendar, _vevent = parse_icalendar(data)
    tzids = [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")]
    assert tzids == ["Europe/Berlin"], "exactly the zone the times use"


def test_utc_meeting_is_written_in_utc_without_vtimezone():
    data = build_calendar(make_event(tz="UTC"), stamp=STAMP)
    lines = unfolded_lines(data)
    assert "DTSTART:20260610T100000Z" in lines
    assert not Calendar.from_ical(data).walk("VTIMEZONE")


def test_unknown_zone_falls_back_to_utc():
    data = build_calendar(make_event(tz="Mars/Olympus_Mons"), stamp=STAMP)
    assert "DTSTART:20260610T100000Z" in unfolded_lines(data)


def test_london_spring_forward_reads_as_bst_after_one_utc():
    start, end = datetime(2026, 3, 29, 0, 30), datetime(2026, 3, 29, 3, 30)
    data = build_calendar(make_event(start=start, end=end, tz="Europe/London"))
    lines = unfolded_lines(data)
    assert "DTSTART;TZID=Europe/London:20260329T003000" in lines, "still GMT"
    assert "DTEND;TZID=Europe/London:20260329T043000" in lines, "already BST"
    assert_instants(data, start, end)


def test_new_york_fall_back_reads_right_on_both_sides():
    # 00:30 EDT (UTC-4) to 02:30 EST (UTC-5): three hours, not four.
    start, end = datetime(2026, 11, 1, 4, 30), datetime(2026, 11, 1, 7, 30)
    data = build_calendar(make_event(start=start, end=end, tz="America/New_York"))
    lines = unfolded_lines(data)
    assert "DTSTART;TZID=America/New_York:20261101T003000" in lines
    assert "DTEND;TZID=America/New_York:20261101T023000" in lines
    assert_instants(data, start, end)


@pytest.mark.parametrize(
    "start",
    [datetime(2026, 11, 1, 5, 30), datetime(2026, 11, 1, 6, 30)],
    ids=["first-01:30-EDT", "second-01:30-EST"],
)
def test_repeated_local_hour_is_written_in_utc(start):
    """01:30 happens twice in New York that night; a TZID time would name
    the first one, so both are written as UTC and neither is misread."""
    end = start + timedelta(minutes=15)
    data = build_calendar(make_event(start=start, end=end, tz="America/New_York"))
    assert f"DTSTART:{start:%Y%m%dT%H%M%S}Z" in unfolded_lines(data)
    assert_instants(data, start, end)


@pytest.mark.parametrize(
    ("tz_name", "onsets"),
    [
        # (kind, local onset in the offset before it, from, to)
        (
            "Europe/London",
            [
                ("DAYLIGHT", datetime(2026, 3, 29, 1, 0), "+0000", "+0100"),
                ("STANDARD", datetime(2026, 10, 25, 2, 0), "+0100", "+0000"),
            ],
        ),
        (
            "America/New_York",
            [
                ("DAYLIGHT", datetime(2026, 3, 8, 2, 0), "-0500", "-0400"),
                ("STANDARD", datetime(2026, 11, 1, 2, 0), "-0400", "-0500"),
            ],
        ),
    ],
)
def test_vtimezone_holds_the_dst_transitions_as_rfc_5545_defines_them(tz_name, onsets):
    """An observance starts at the wall-clock time of the offset in use
    *before* it (RFC 5545 3.6.5), e.g. 02:00 EST for New York's spring."""
    data = build_calendar(make_event(tz=tz_name), stamp=STAMP)
    vtimezone = next(iter(Calendar.from_ical(data).walk("VTIMEZONE")))
    found = [
        (
            observance.name,
            observance.decoded("dtstart"),
            observance["tzoffsetfrom"].to_ical(),
            observance["tzoffsetto"].to_ical(),
        )
        for observance in vtimezone.subcomponents
        if observance["tzoffsetfrom"].td != observance["tzoffsetto"].td
    ]
    assert found == onsets


def test_every_vtimezone_onset_is_the_real_transition_instant():
    zone = pytz.timezone("Australia/Lord_Howe")  # a half-hour DST shift
    vtimezone = ics.build_vtimezone(zone, datetime(2026, 2, 1), datetime(2026, 2, 1, 1))
    transitions = [t for t in zone._utc_transition_times if datetime(2026, 1, 1) < t][
        :2
    ]
    onsets = [
        obs.decoded("dtstart") - obs["tzoffsetfrom"].td
        for obs in vtimezone.subcomponents
        if obs["tzoffsetfrom"].td != obs["tzoffsetto"].td
    ]
    assert onsets == transitions


@settings(max_examples=150, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31)
    ).map(lambda d: d.replace(second=0, microsecond=0)),
    minutes=st.integers(min_value=1, max_value=36 * 60),
    tz_name=st.sampled_from(
        [
            "Europe/London",
            "America/New_York",
            "Australia/Lord_Howe",
            "Asia/Kathmandu",
            "America/St_Johns",
            "Pacific/Chatham",
            "UTC",
        ]
    ),
)
def test_any_meeting_reads_back_at_the_same_instants(start, minutes, tz_name):
    end = start + timedelta(minutes=minutes)
    data = build_calendar(make_event(start=start, end=end, tz=tz_name), stamp=STAMP)
    assert_instants(data, start, end)


def test_line_breaks_in_subject_stay_inside_summary():
    subject = "Sync\r\nATTENDEE:mailto:x@example.com"
    data = build_calendar(make_event(summary=subject), stamp=STAMP)
    lines = unfolded_lines(data)
    attendee_lines = [line for line in lines if line.startswith("ATTENDEE")]
    assert len(attendee_lines) == 3, "host (chair), Ana and Ben, nobody else"
    assert not any("x@example.com" in line for line in attendee_lines)
    assert [line for line in lines if line.startswith("SUMMARY")] == [
        "SUMMARY:Sync ATTENDEE:mailto:x@example.com"
    ]
    _calendar, vevent = parse_vobject(data)
    assert len(vevent.contents["attendee"]) == 3


def test_names_and_descriptions_cannot_add_lines():
    evil = 'Eve"\r\nATTENDEE:mailto:x@example.com\r\nEND:VEVENT'
    event = make_event(
        organizer=Person("host@example.com", evil),
        attendees=[Person("eve@example.com", evil)],
        description=f"Agenda\r\n{evil}",
        location=evil,
    )
    data = build_calendar(event, stamp=STAMP)
    lines = unfolded_lines(data)
    assert sum(line.startswith("ATTENDEE") for line in lines) == 2
    assert lines.count("END:VEVENT") == 1
    assert not any(line.startswith("ATTENDEE:mailto:x") for line in lines)
    _calendar, vevent = parse_icalendar(data)
    assert "ATTENDEE:mailto:x@example.com" in str(vevent["description"])


def test_an_address_that_could_break_the_file_is_left_out():
    event = make_event(
        attendees=[
            ANA,
            Person("bad@example.com\r\nATTENDEE:mailto:x@example.com"),
            Person("not an address"),
        ]
    )
    lines = unfolded_lines(build_calendar(event, stamp=STAMP))
    attendees = [line for line in lines if line.startswith("ATTENDEE")]
    assert len(attendees) == 2, "host and Ana only"
    assert not any("x@example.com" in line for line in lines)


def test_markup_stays_text():
    subject = "<script>alert('x')</script> & <b>"
    data = build_calendar(make_event(summary=subject, description=subject), stamp=STAMP)
    _calendar, vevent = parse_icalendar(data)
    assert str(vevent["summary"]) == subject
    assert str(vevent["description"]) == subject
    _calendar, vevent = parse_vobject(data)
    assert vevent.summary.value == subject


def test_attendees_are_listed_once_each_and_the_host_as_chair():
    event = make_event(
        attendees=[ANA, Person("ANA@example.COM", "Ana again"), HOST, BEN]
    )
    _calendar, vevent = parse_icalendar(build_calendar(event, stamp=STAMP))
    attendees = {
        str(a).lower(): (a.params["ROLE"], a.params["PARTSTAT"], a.params["RSVP"])
        for a in vevent["attendee"]
    }
    assert len(vevent["attendee"]) == 3, "case-insensitive, host once"
    assert attendees == {
        "mailto:host@example.com": ("CHAIR", "ACCEPTED", "FALSE"),
        "mailto:ana@example.com": ("REQ-PARTICIPANT", "NEEDS-ACTION", "TRUE"),
        "mailto:ben@example.com": ("REQ-PARTICIPANT", "NEEDS-ACTION", "TRUE"),
    }
    names = {a.params.get("CN") for a in vevent["attendee"]}
    assert "Ana" in names and "Ana again" not in names, "first entry wins"


def test_reschedule_keeps_the_uid_and_raises_the_sequence():
    first = make_event(sequence=3)
    moved = make_event(
        sequence=4,
        start=first.start + timedelta(hours=2),
        end=first.end + timedelta(hours=2),
    )
    _c, before = parse_icalendar(build_calendar(first, stamp=STAMP))
    _c, after = parse_icalendar(build_calendar(moved, stamp=STAMP))
    assert str(after["uid"]) == str(before["uid"])
    assert after.decoded("sequence") == before.decoded("sequence") + 1


def test_cancellation_names_the_same_event():
    event = make_event(sequence=5, alarm_minutes=15)
    data = build_calendar(event, method=ics.METHOD_CANCEL, stamp=STAMP)
    calendar, vevent = parse_icalendar(data)
    assert str(calendar["method"]) == "CANCEL"
    assert str(vevent["status"]) == "CANCELLED"
    assert str(vevent["uid"]) == event.uid
    assert vevent.decoded("sequence") == 5
    assert not vevent.walk("VALARM"), "no reminder for a meeting that is off"
    assert len(vevent["attendee"]) == 3, "everyone is told"


def test_draft_is_tentative():
    data = build_calendar(make_event(status=ics.STATUS_TENTATIVE), stamp=STAMP)
    assert "STATUS:TENTATIVE" in unfolded_lines(data)


def test_reminder_fires_before_the_start():
    data = build_calendar(make_event(alarm_minutes=30), stamp=STAMP)
    _calendar, vevent = parse_icalendar(data)
    (alarm,) = vevent.walk("VALARM")
    assert str(alarm["action"]) == "DISPLAY"
    assert str(alarm["description"]) == "Planning"
    assert alarm.decoded("trigger") == timedelta(minutes=-30)
    assert "TRIGGER:-PT30M" in unfolded_lines(data)
    _calendar, vevent = parse_vobject(data)
    assert vevent.valarm.trigger.value == timedelta(minutes=-30)


def test_no_reminder_without_alarm():
    _calendar, vevent = parse_icalendar(build_calendar(make_event(), stamp=STAMP))
    assert not vevent.walk("VALARM")


def test_virtual_room_link_is_location_and_url():
    link = "https://meet.example.com/abc-defg?pwd=1,2;3"
    data = build_calendar(make_event(location=link, url=link), stamp=STAMP)
    _calendar, vevent = parse_icalendar(data)
    assert str(vevent["location"]) == link
    assert str(vevent["url"]) == link


def test_long_lines_are_folded_at_75_octets():
    data = build_calendar(make_event(summary="Quarterly review " * 20), stamp=STAMP)
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))


def test_impossible_input_is_refused():
    with pytest.raises(ValueError, match="end after it starts"):
        build_calendar(make_event(end=make_event().start))
    with pytest.raises(ValueError, match="unknown iTIP method"):
        build_calendar(make_event(), method="PUBLISH\r\nX")
