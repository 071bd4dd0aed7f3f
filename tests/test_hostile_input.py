"""Hostile input on every public route: each request gets a 4xx (or the form
again with a message), shows none of its input back unescaped and creates
nothing; what is accepted is stored as text and shown escaped."""

import re
from collections import namedtuple
from datetime import datetime, time, timedelta
from email import message_from_string
from urllib.parse import quote, urlencode

import pytz
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odoo import fields
from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged

from odoo.addons.meeting_rooms.tools import timeslots

XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
# Wrapped around every fuzzed value: only an unescaped echo puts it in a page.
FUZZ_MARK = '"><x-fuzz>'
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
NEW_YORK = "America/New_York"
# What any request could leave behind; counted with SQL, so that archived
# partners and field attachments are counted too.
COUNTED_TABLES = (
    "res_partner",
    "meeting_event",
    "mail_mail",
    "mail_message",
    "ir_attachment",
)
# A valid CSRF token is put in place of this value at run time.
CSRF = object()
HUGE_ID = "9" * 30

Case = namedtuple("Case", "label method path data status shown_escaped")


def case(label, path, status, data=None, method="GET", shown_escaped=False):
    return Case(label, method, path, data, status, shown_escaped)


def query(path, **params):
    return f"{path}?{urlencode(params, quote_via=quote)}"


def next_day_where(tz_name, local_time, error, first, last):
    """The first day in ``[first, last]`` on which ``local_time`` raises
    ``error`` (a DST gap or overlap) in ``tz_name``, or None."""
    zone = pytz.timezone(tz_name)
    day = first
    while day <= last:
        try:
            zone.localize(datetime.combine(day, local_time), is_dst=None)
        except error:
            return day
        day += timedelta(days=1)
    return None


class HostileCase(HttpCase):
    """A New York host whose link is open from midnight to 6:00 every day for
    a year, so that real dates on both sides of the next DST changes are on
    offer whatever day the tests run."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        for param in ("per_email", "per_link"):
            cls.env["ir.config_parameter"].sudo().set_param(
                f"meeting_rooms.booking_rate_limit_{param}", 1000
            )
        cls.host = new_test_user(
            cls.env,
            "mr_hostile_host",
            groups="base.group_user",
            tz=NEW_YORK,
            email="hostile.host@example.com",
        )
        cls.link = cls.env["meeting.booking.link"].create(
            {
                "name": "Night owl",
                "user_id": cls.host.id,
                "tz": NEW_YORK,
                "hour_from": 0.0,
                "hour_to": 6.0,
                "slot_minutes": 30,
                "step_minutes": 30,
                "sat": True,
                "sun": True,
                "days_ahead": 365,
            }
        )
        cls.token = cls.link.token
        cls.archived_token = cls.link.copy({"name": "Old", "active": False}).token
        cls.today = timeslots.local_today(NEW_YORK, fields.Datetime.now())
        cls.last_day = cls.today + timedelta(days=364)
        # Meetings booked by two guests, for the routes that take an id.
        cls.meeting_a = cls.link._book_slot(
            cls.local(3, 4), "Guest A", ["guest.a@example.com"], subject="A"
        )
        cls.meeting_b = cls.link._book_slot(
            cls.local(3, 5), "Guest B", ["guest.b@example.com"], subject="B"
        )
        cls.token_a = cls.meeting_a._portal_ensure_token()
        cls.token_b = cls.meeting_b._portal_ensure_token()
        start = fields.Datetime.now() + timedelta(days=5)
        cls.backend_meeting = (
            cls.env["meeting.event"]
            .sudo()
            .create(
                {
                    "subject": "Made in the backend",
                    "host_user_id": cls.host.id,
                    "start_date": start,
                    "end_date": start + timedelta(hours=1),
                }
            )
        )
        cls.backend_token = cls.backend_meeting._portal_ensure_token()

    @classmethod
    def local(cls, days, hour, minute=0, second=0):
        """A naive local time in New York, ``days`` after today."""
        return datetime.combine(
            cls.today + timedelta(days=days), time(hour, minute, second)
        )

    @classmethod
    def time_str(cls, days, hour, minute=0, second=0):
        return str(cls.local(days, hour, minute, second))

    def setUp(self):
        super().setUp()
        self._csrf = None

    def csrf(self):
        """A CSRF token of this test's session, taken from a real form."""
        if not self._csrf:
            page = self.url_open(
                query(
                    "/booking/details",
                    token=self.token,
                    time_str=self.time_str(2, 4),
                )
            )
            self.assertEqual(page.status_code, 200, "the form opens")
            self._csrf = CSRF_RE.search(page.text).group(1)
        return self._csrf

    def counts(self):
        counts = {}
        for table in COUNTED_TABLES:
            self.env.cr.execute(f"SELECT count(*) FROM {table}")
            counts[table] = self.env.cr.fetchone()[0]
        return counts

    def send(self, method, path, data=None):
        if method == "POST":
            data = {
                key: self.csrf() if value is CSRF else value
                for key, value in (data or {}).items()
            }
            return self.url_open(path, data=data, allow_redirects=False)
        return self.url_open(path, allow_redirects=False)

    def assert_not_echoed(self, response, raw, label):
        """``raw`` appears neither in the body nor in a header."""
        self.assertNotIn(raw, response.text, f"{label}: echoed unescaped")
        for name, value in response.headers.items():
            self.assertNotIn(raw, value, f"{label}: echoed in header {name}")

    def submit_data(self, **values):
        """A booking form that passes every check, with ``values`` on top."""
        return {
            "csrf_token": CSRF,
            "token": self.token,
            "time_str": self.time_str(2, 4),
            "name": "Ada Guest",
            "email": "ada@example.com",
            **values,
        }


@tagged("post_install", "-at_install")
class TestHostileInput(HostileCase):
    def hostile_cases(self):
        """Every public route with malformed, unknown, foreign or out-of-rule
        input, and the status it must get."""
        gap_day = next_day_where(
            NEW_YORK, time(2, 30), pytz.NonExistentTimeError, self.today, self.last_day
        )
        self.assertTrue(gap_day, "a DST gap lies within a year")
        gap = f"{gap_day} 02:30:00"
        token, archived = self.token, self.archived_token
        long_token = "A" * 5000
        a, b = self.meeting_a.id, self.meeting_b.id
        details = "/booking/details"
        submit = "/booking/submit"
        post = {"method": "POST"}
        return [
            # -- the grid page and the host's picture ----------------------
            case("grid: unknown token", f"/book/{'x' * 43}", 404),
            case("grid: archived token", f"/book/{archived}", 404),
            case("grid: very long token", f"/book/{long_token}", 404),
            case("grid: unicode token", f"/book/{quote('ŧøķęñ☃𝔘')}", 404),
            case("grid: path traversal", f"/book/{quote('../../web', safe='')}", 404),
            case("grid: NUL byte", "/book/%00", 400),
            case("grid: SQL", f"/book/{quote(chr(39) + ' OR 1=1 --', safe='')}", 404),
            case("grid: SQL-ish in the alphabet", "/book/x_OR_1_1_--_select_", 404),
            case("grid: markup", f"/book/{quote(XSS, safe='')}", 404),
            case("avatar: unknown token", f"/book/avatar/{'x' * 43}", 404),
            case("avatar: archived token", f"/book/avatar/{archived}", 404),
            case("avatar: NUL byte", "/book/avatar/abc%00def", 400),
            case("avatar: markup", f"/book/avatar/{quote(XSS, safe='')}", 404),
            # -- the form of one slot --------------------------------------
            case("details: no token", query(details, time_str=gap), 404),
            case(
                "details: archived", query(details, token=archived, time_str=gap), 404
            ),
            case("details: no time", query(details, token=token), 400),
            case(
                "details: markup time", query(details, token=token, time_str=XSS), 400
            ),
            case(
                "details: NUL in time",
                query(details, token=token, time_str="2031-01-01 04:00:0\x00"),
                400,
            ),
            case(
                "details: very long time",
                query(details, token=token, time_str=self.time_str(2, 4) * 500),
                400,
            ),
            case(
                "details: full-width digits",
                query(
                    details, token=token, time_str="２０３１-０１-０１ ０４:００:００"
                ),
                400,
            ),
            case(
                "details: in the past",
                query(details, token=token, time_str=self.time_str(-1, 4)),
                410,
            ),
            case(
                "details: outside the window",
                query(details, token=token, time_str=self.time_str(2, 10)),
                410,
            ),
            case(
                "details: beyond the horizon",
                query(details, token=token, time_str=self.time_str(400, 4)),
                410,
            ),
            case(
                "details: not on the step",
                query(details, token=token, time_str=self.time_str(2, 4, 7)),
                410,
            ),
            case(
                "details: seconds off the step",
                query(details, token=token, time_str=self.time_str(2, 4, 0, 30)),
                410,
            ),
            case("details: DST gap", query(details, token=token, time_str=gap), 410),
            # -- the booking itself ----------------------------------------
            case("submit: GET", query(submit, token=token, time_str=gap), 405),
            case(
                "submit: no CSRF token",
                submit,
                400,
                data={**self.submit_data(), "csrf_token": None},
                **post,
            ),
            case(
                "submit: wrong CSRF token",
                submit,
                400,
                data=self.submit_data(csrf_token="0" * 40 + "o1700000000"),
                **post,
            ),
            case("submit: no token", submit, 404, self.submit_data(token=""), **post),
            case(
                "submit: unknown token",
                submit,
                404,
                self.submit_data(token="x" * 43),
                **post,
            ),
            case(
                "submit: archived token",
                submit,
                404,
                self.submit_data(token=archived),
                **post,
            ),
            case(
                "submit: markup time",
                submit,
                400,
                self.submit_data(time_str=XSS),
                **post,
            ),
            case(
                "submit: DST gap", submit, 410, self.submit_data(time_str=gap), **post
            ),
            case(
                "submit: in the past",
                submit,
                410,
                self.submit_data(time_str=self.time_str(-1, 4)),
                **post,
            ),
            case(
                "submit: beyond the horizon",
                submit,
                410,
                self.submit_data(time_str=self.time_str(400, 4)),
                **post,
            ),
            case(
                "submit: taken slot",
                submit,
                409,
                self.submit_data(time_str=self.time_str(3, 4)),
                **post,
            ),
            case(
                "submit: markup name, bad address",
                submit,
                422,
                self.submit_data(name=XSS, email="nobody"),
                shown_escaped=True,
                **post,
            ),
            case(
                "submit: very long name",
                submit,
                422,
                self.submit_data(name="N" * 10000),
                **post,
            ),
            case(
                "submit: CR/LF in the name",
                submit,
                422,
                self.submit_data(name="Ada\r\nBcc: evil@example.com"),
                **post,
            ),
            case(
                "submit: binary name",
                submit,
                422,
                self.submit_data(name=b"\x00\xff\xfe\x1b[31m"),
                **post,
            ),
            case(
                "submit: CR/LF in the subject",
                submit,
                422,
                self.submit_data(subject="Hi\r\nBcc: evil@example.com"),
                **post,
            ),
            case(
                "submit: long markup subject",
                submit,
                422,
                self.submit_data(subject=XSS * 20),
                shown_escaped=True,
                **post,
            ),
            case(
                "submit: binary subject",
                submit,
                422,
                self.submit_data(subject=b"\x07\x08\xc3\x28"),
                **post,
            ),
            case(
                "submit: a hundred addresses",
                submit,
                422,
                self.submit_data(
                    email=", ".join(f"g{i}@example.com" for i in range(100))
                ),
                **post,
            ),
            case(
                "submit: markup address",
                submit,
                422,
                self.submit_data(email=f"{XSS}@example.com"),
                shown_escaped=True,
                **post,
            ),
            case(
                "submit: address without a local part",
                submit,
                422,
                self.submit_data(email="@example.com"),
                **post,
            ),
            case(
                "submit: CR/LF in the address",
                submit,
                422,
                self.submit_data(email="ada@example.com\r\nBcc: evil@example.com"),
                **post,
            ),
            case(
                "submit: address too long",
                submit,
                422,
                self.submit_data(email="a" * 300 + "@example.com"),
                **post,
            ),
            case(
                "submit: two addresses in one",
                submit,
                422,
                self.submit_data(email="Ada <ada@example.com> bob@example.com"),
                **post,
            ),
            case(
                "submit: 100 KB description",
                submit,
                422,
                self.submit_data(description="D" * 100_000),
                **post,
            ),
            # -- the confirmation page -------------------------------------
            case("confirmed: no token", f"/booking/confirmed/{a}", 404),
            case(
                "confirmed: markup token",
                query(f"/booking/confirmed/{a}", access_token=XSS),
                404,
            ),
            case(
                "confirmed: another meeting's token",
                query(f"/booking/confirmed/{a}", access_token=self.token_b),
                404,
            ),
            case(
                "confirmed: a backend meeting",
                query(
                    f"/booking/confirmed/{self.backend_meeting.id}",
                    access_token=self.backend_token,
                ),
                404,
            ),
            case(
                "confirmed: non-ASCII token",
                query(f"/booking/confirmed/{a}", access_token="é" * 36),
                404,
            ),
            case("confirmed: not a number", "/booking/confirmed/abc", 404),
            case(
                "confirmed: huge id",
                query(f"/booking/confirmed/{HUGE_ID}", access_token=self.token_a),
                404,
            ),
            # -- the guest's manage page, calendar file and cancellation ---
            case(
                "manage: another meeting's token",
                query(f"/my/meetings/{a}", access_token=self.token_b),
                404,
            ),
            case(
                "manage: markup token",
                query(f"/my/meetings/{a}", access_token=XSS),
                404,
            ),
            case(
                "manage: very long token",
                query(f"/my/meetings/{a}", access_token=long_token),
                404,
            ),
            case(
                "manage: non-ASCII token",
                query(f"/my/meetings/{a}", access_token="é" * 36),
                404,
            ),
            case("manage: huge id", f"/my/meetings/{HUGE_ID}", 404),
            case("ics: no token", f"/my/meetings/{a}/ics", 404),
            case(
                "ics: another meeting's token",
                query(f"/my/meetings/{a}/ics", access_token=self.token_b),
                404,
            ),
            case(
                "ics: markup token",
                query(f"/my/meetings/{b}/ics", access_token=XSS),
                404,
            ),
            case(
                "cancel: GET",
                query(f"/my/meetings/{a}/cancel", access_token=self.token_a),
                405,
            ),
            case(
                "cancel: no CSRF token",
                f"/my/meetings/{a}/cancel",
                400,
                {"access_token": self.token_a},
                **post,
            ),
            case(
                "cancel: no access token",
                f"/my/meetings/{a}/cancel",
                404,
                {"csrf_token": CSRF},
                **post,
            ),
            case(
                "cancel: another meeting's token",
                f"/my/meetings/{a}/cancel",
                404,
                {"csrf_token": CSRF, "access_token": self.token_b},
                **post,
            ),
            case(
                "cancel: non-ASCII token",
                f"/my/meetings/{a}/cancel",
                404,
                {"csrf_token": CSRF, "access_token": "é" * 36},
                **post,
            ),
            case(
                "cancel: huge id",
                f"/my/meetings/{HUGE_ID}/cancel",
                404,
                {"csrf_token": CSRF, "access_token": self.token_a},
                **post,
            ),
        ]

    def test_every_hostile_request_is_refused_escaped_and_creates_nothing(self):
        cases = self.hostile_cases()
        self.assertGreaterEqual(len(cases), 40)
        self.csrf()
        for hostile in cases:
            with self.subTest(hostile.label):
                before = self.counts()
                data = hostile.data and {
                    key: value
                    for key, value in hostile.data.items()
                    if value is not None
                }
                response = self.send(hostile.method, hostile.path, data)
                self.assertEqual(response.status_code, hostile.status, hostile.label)
                self.assert_not_echoed(response, XSS, hostile.label)
                if hostile.shown_escaped:
                    self.assertIn(XSS_ESCAPED, response.text, "shown back, escaped")
                self.assertEqual(self.counts(), before, f"{hostile.label}: created")
        states = (self.meeting_a | self.meeting_b).mapped("state")
        self.assertEqual(states, ["confirm", "confirm"], "no meeting was cancelled")

    def test_repeated_local_hour_is_offered_and_booked_once(self):
        overlap_day = next_day_where(
            NEW_YORK,
            time(1, 30),
            pytz.AmbiguousTimeError,
            self.today + timedelta(days=1),
            self.last_day,
        )
        self.assertTrue(overlap_day, "a DST overlap lies within a year")
        time_str = f"{overlap_day} 01:30:00"
        grid = self.url_open(f"/book/{self.token}?start={overlap_day}").text
        self.assertEqual(
            grid.count(f'data-time-str="{time_str}"'), 1, "01:30 is offered once"
        )
        first = self.send(
            "POST", "/booking/submit", self.submit_data(time_str=time_str)
        )
        self.assertEqual(first.status_code, 303, "the first 01:30 is bookable")
        meeting = self.env["meeting.event"].search(
            [("booking_link_id", "=", self.link.id)], order="id desc", limit=1
        )
        first_occurrence = pytz.timezone(NEW_YORK).localize(
            datetime.fromisoformat(time_str), is_dst=True
        )
        self.assertEqual(
            meeting.start_date,
            first_occurrence.astimezone(pytz.utc).replace(tzinfo=None),
            "booked at the first occurrence, in daylight time",
        )
        before = self.counts()
        again = self.send(
            "POST",
            "/booking/submit",
            self.submit_data(time_str=time_str, email="other@example.com"),
        )
        self.assertEqual(again.status_code, 409, "the second 01:30 is not a slot")
        self.assertEqual(self.counts(), before, "nothing more was created")

    def test_accepted_markup_is_stored_as_text_and_shown_escaped(self):
        name = '<b onmouseover="alert(1)">Ada</b>'
        subject = f"{XSS} & <img src=x onerror=alert(2)>"
        response = self.send(
            "POST",
            "/booking/submit",
            self.submit_data(
                name=name, email="markup.guest@example.com", subject=subject
            ),
        )
        self.assertEqual(response.status_code, 303, "a name may hold any text")
        meeting = self.env["meeting.event"].search(
            [("booking_link_id", "=", self.link.id), ("subject", "=", subject)]
        )
        self.assertEqual(len(meeting), 1)
        self.assertEqual(meeting.partner_id.name, name, "stored as typed")
        token = meeting.access_token
        pages = {
            "confirmation": response.headers["Location"],
            "manage page": f"/my/meetings/{meeting.id}?access_token={token}",
        }
        for label, url in pages.items():
            page = self.url_open(url)
            self.assertEqual(page.status_code, 200, label)
            self.assert_not_echoed(page, XSS, label)
            self.assertNotIn("<img src=x", page.text, label)
            self.assertIn(XSS_ESCAPED, page.text, f"{label}: shown escaped")
        mails = self.env["mail.mail"].search([("res_id", "=", meeting.id)])
        self.assertTrue(mails, "invitation and host notice are queued")
        for mail in mails:
            self.assertNotIn(XSS, mail.body_html, "mail bodies escape the subject")
            self.assertNotIn("<b onmouseover", mail.body_html, "and the name")
        ics_page = self.url_open(f"/my/meetings/{meeting.id}/ics?access_token={token}")
        self.assertIn("BEGIN:VCALENDAR", ics_page.text)
        unfolded = ics_page.text.replace("\r\n ", "")
        summary = [
            line for line in unfolded.split("\r\n") if line.startswith("SUMMARY")
        ]
        self.assertEqual(len(summary), 1, "one summary line")
        self.assertIn(r"<img src=x onerror=alert(2)>", summary[0], "kept as text")

    def test_ignored_parameters_are_never_echoed(self):
        for url in (
            query(f"/book/{self.token}", tz=XSS, start=XSS),
            query(f"/book/{self.token}", start="2031-02-30"),
            query(
                "/booking/details",
                token=self.token,
                time_str=self.time_str(2, 4),
                tz=XSS,
            ),
        ):
            with self.subTest(url):
                response = self.url_open(url)
                self.assertEqual(response.status_code, 200, "ignored, not refused")
                self.assert_not_echoed(response, XSS, url)

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        token=st.one_of(st.text(max_size=80), st.binary(max_size=80)),
        time_str=st.one_of(st.text(max_size=40), st.binary(max_size=40)),
        name=st.one_of(st.text(max_size=120), st.binary(max_size=120)),
        email=st.one_of(st.text(max_size=80), st.binary(max_size=80)),
        subject=st.one_of(st.text(max_size=120), st.binary(max_size=120)),
        valid=st.sets(st.sampled_from(["token", "time_str", "name", "email"])),
    )
    def test_fuzzed_parameters_never_break_a_route(
        self, token, time_str, name, email, subject, valid
    ):
        # Every fuzzed value carries a mark that no page holds unless it shows
        # the value unescaped. ``valid`` keeps some fields right, so that the
        # checks behind the first one are reached too, up to a real booking.
        fuzzed = {
            key: mark(value)
            for key, value in (
                ("token", token),
                ("time_str", time_str),
                ("name", name),
                ("email", email),
                ("subject", subject),
            )
        }
        good = {
            "token": self.token,
            "time_str": self.time_str(2, 4),
            "name": "Ada Guest",
            "email": "ada@example.com",
        }
        values = {**fuzzed, **{key: good[key] for key in valid}}
        details = {"token": values["token"], "time_str": values["time_str"]}
        before = self.counts()
        requests = [
            ("GET", f"/book/{quote(fuzzed['token'], safe='')}", None),
            ("GET", f"/booking/details?{urlencode(details)}", None),
            ("POST", "/booking/submit", {"csrf_token": CSRF, **values}),
            (
                "GET",
                f"/my/meetings/{self.meeting_a.id}?"
                + urlencode({"access_token": fuzzed["token"]}),
                None,
            ),
        ]
        booked = None
        for method, path, data in requests:
            response = self.send(method, path, data)
            label = f"{method} {path[:60]}"
            self.assertLess(response.status_code, 500, label)
            self.assert_not_echoed(response, "<x-fuzz>", label)
            if response.status_code == 303:
                booked = response.headers["Location"]
        if not booked:
            self.assertEqual(self.counts(), before, "refused, so nothing created")
            return
        # Everything was valid: the fuzzed subject is stored as text and the
        # confirmation page shows it escaped.
        self.assertEqual(
            self.counts()["meeting_event"], before["meeting_event"] + 1, "one booking"
        )
        meeting = self.env["meeting.event"].search(
            [("booking_link_id", "=", self.link.id)], order="id desc", limit=1
        )
        self.assertIn("<x-fuzz>", meeting.subject, "stored as typed")
        confirmation = self.url_open(booked)
        self.assertEqual(confirmation.status_code, 200)
        self.assert_not_echoed(confirmation, "<x-fuzz>", "confirmation page")


def mark(value):
    """``value`` behind ``FUZZ_MARK``, as text or bytes like ``value``."""
    if isinstance(value, bytes):
        return FUZZ_MARK.encode() + value
    return FUZZ_MARK + value


class TestHostileTextInMailsAndCalendars(TransactionCase):
    """Line breaks typed in the backend cannot reach a mail header or add a
    line to a calendar file."""

    def test_line_breaks_in_a_subject_never_become_header_or_calendar_lines(self):
        env = self.env(context=dict(self.env.context, tracking_disable=True))
        host = new_test_user(
            env, "mr_crlf_host", groups="base.group_user", email="crlf.host@example.com"
        )
        colleague = new_test_user(
            env, "mr_crlf_colleague", groups="base.group_user", email="c@example.com"
        )
        injected = "Hi\r\nBcc: evil@example.com\r\nX-Injected: 1\nEND:VEVENT"
        start = datetime(2031, 6, 10, 10, 0)
        meeting = (
            env["meeting.event"]
            .with_user(host)
            .create(
                {
                    "subject": injected,
                    "description": "Line\r\nATTENDEE:mailto:evil@example.com",
                    "host_user_id": host.id,
                    "attendee": [(6, 0, colleague.ids)],
                    "start_date": start,
                    "end_date": start + timedelta(hours=1),
                }
            )
        )
        meeting.action_confirm()
        mails = env["mail.mail"].search(
            [("model", "=", "meeting.event"), ("res_id", "=", meeting.id)]
        )
        self.assertTrue(mails, "the invitation is queued")
        mail_server = env["ir.mail_server"]
        for mail in mails:
            self.assertNotRegex(mail.subject, r"[\r\n]", "one-line subject")
            for email in mail._prepare_outgoing_list():
                message = mail_server.build_email(
                    email_from=mail.email_from,
                    email_to=email["email_to"],
                    subject=email["subject"],
                    body=email["body"],
                    headers=email["headers"],
                )
                parsed = message_from_string(message.as_string())
                self.assertIsNone(parsed["Bcc"], "no Bcc header injected")
                self.assertIsNone(parsed["X-Injected"], "no header injected")
                self.assertIn("Bcc: evil@example.com", parsed["Subject"], "as text")
        calendar = meeting._build_calendar_file().decode()
        lines = calendar.replace("\r\n ", "").split("\r\n")
        self.assertEqual(
            sum(line == "END:VEVENT" for line in lines), 1, "one event, not two"
        )
        self.assertFalse(
            [line for line in lines if line.startswith(("Bcc", "X-Injected"))],
            "no line of the subject became a property",
        )
        attendees = [line for line in lines if line.startswith("ATTENDEE")]
        self.assertFalse(
            [line for line in attendees if "evil@example.com" in line],
            "the description added no attendee",
        )
