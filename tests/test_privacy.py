"""A guest's name, address and tokens stay out of the logs, calendar files are
never public, and a booking page shows nothing of the host's other meetings."""

import logging
import re
import threading
from contextlib import contextmanager

from odoo.tests import BaseCase, HttpCase, new_test_user, tagged

from ..models.overlap import quiet_sql_log
from .common import create_open_link, free_slots

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
GUEST_NAME = "Zelda Quillfeather"
GUEST_EMAIL = "zelda.quill@example.org"
OTHER_EMAIL = "zq.second@example.net"


class ListHandler(logging.Handler):
    """Keeps every record it is given, formatted as a log file would."""

    def __init__(self):
        super().__init__()
        self.lines = []
        self.records = []

    def emit(self, record):
        self.records.append(record)
        self.lines.append(self.format(record))


@contextmanager
def capture_logs():
    """Everything Odoo logs at INFO, this addon at DEBUG and werkzeug's access
    log, whatever the levels the server was started with."""
    handler = ListHandler()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    levels = {
        "odoo": logging.INFO,
        "odoo.addons.meeting_rooms": logging.DEBUG,
        "werkzeug": logging.INFO,
    }
    saved = {name: logging.getLogger(name).level for name in levels}
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    for name in ("odoo", "werkzeug"):
        logging.getLogger(name).addHandler(handler)
    try:
        yield handler
    finally:
        for name in ("odoo", "werkzeug"):
            logging.getLogger(name).removeHandler(handler)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


class PrivacyCase(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.host = new_test_user(
            cls.env,
            "mr_privacy_host",
            groups="base.group_user",
            tz="UTC",
            email="privacy.host@example.com",
        )
        cls.room = cls.env["room.location"].create({"name": "Quiet Room", "tz": "UTC"})
        cls.link = create_open_link(
            cls.env,
            cls.host,
            name="Talk to me",
            room_location_ids=[(6, 0, cls.room.ids)],
        )
        cls.token = cls.link.token

    def free_slots(self, days=2):
        return free_slots(self.link, days)

    def details_path(self, slot):
        return (
            f"/booking/details?token={self.token}"
            f"&time_str={slot.time_str.replace(' ', '+')}"
        )

    def book(self, slot, **values):
        """Open the slot's form and submit it; return the CSRF token used and
        the response."""
        form = self.url_open(self.details_path(slot))
        self.assertEqual(form.status_code, 200, "the form opens")
        csrf = CSRF_RE.search(form.text).group(1)
        response = self.url_open(
            "/booking/submit",
            data={
                "csrf_token": csrf,
                "token": self.token,
                "time_str": slot.time_str,
                "name": GUEST_NAME,
                "email": f"{GUEST_EMAIL}, {OTHER_EMAIL}",
                **values,
            },
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 303, "booked")
        return csrf, response

    def booked_meeting(self, slot):
        meeting = self.env["meeting.event"].search(
            [("booking_link_id", "=", self.link.id), ("start_date", "=", slot.start)]
        )
        self.assertEqual(len(meeting), 1)
        return meeting


@tagged("post_install", "-at_install")
class TestPrivacy(PrivacyCase):
    def test_a_whole_booking_logs_no_name_address_or_token(self):
        slot = self.free_slots()[0]
        with capture_logs() as logs:
            self.url_open(f"/book/{self.token}")
            self.url_open(f"/book/avatar/{self.token}")
            csrf, response = self.book(slot, subject="Privacy check")
            self.url_open(response.headers["Location"])
            meeting = self.booked_meeting(slot)
            token = meeting.access_token
            manage = self.url_open(f"/my/meetings/{meeting.id}?access_token={token}")
            ics = self.url_open(f"/my/meetings/{meeting.id}/ics?access_token={token}")
            self.assertIn("BEGIN:VCALENDAR", ics.text)
            page_csrf = CSRF_RE.search(manage.text).group(1)
            cancelled = self.url_open(
                f"/my/meetings/{meeting.id}/cancel",
                data={"csrf_token": page_csrf, "access_token": token},
            )
            self.assertEqual(cancelled.status_code, 200)
        meeting.invalidate_recordset()
        self.assertEqual(meeting.state, "cancel", "the whole flow ran")

        requests = [line for line in logs.lines if line.startswith("werkzeug")]
        self.assertGreaterEqual(len(requests), 8, "every request was logged")
        self.assertTrue(
            any(
                record.name.startswith("odoo.addons.meeting_rooms")
                for record in logs.records
            ),
            "the addon's own lines were captured",
        )
        secrets = {
            "guest name": GUEST_NAME,
            "guest surname": "Quillfeather",
            "guest address": GUEST_EMAIL,
            "guest local part": "zelda.quill",
            "second address": OTHER_EMAIL,
            "second local part": "zq.second",
            "host address": "privacy.host@example.com",
            "link token": self.token,
            "meeting access token": token,
            "form CSRF token": csrf,
            "page CSRF token": page_csrf,
        }
        for line in logs.lines:
            for label, secret in secrets.items():
                self.assertNotIn(secret, line, f"{label} logged")
        self.assertTrue(
            any("/book/***" in line for line in requests), "the paths are kept"
        )

    def test_calendar_files_are_never_public(self):
        slot = self.free_slots()[0]
        self.book(slot)
        meeting = self.booked_meeting(slot)
        self.assertTrue(meeting.meeting_room_ids, "the room is booked too")
        meeting.sudo().action_cancel()
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT id, public, res_model, res_field
              FROM ir_attachment
             WHERE (res_model = 'meeting.event' AND res_id = %s)
                OR (res_model = 'meeting.rooms' AND res_id IN %s)
            """,
            [meeting.id, tuple(meeting.meeting_room_ids.ids)],
        )
        rows = self.env.cr.fetchall()
        mail_attachments = (
            self.env["mail.mail"]
            .sudo()
            .search([("model", "=", "meeting.event"), ("res_id", "=", meeting.id)])
            .attachment_ids
        )
        kinds = {(model, field or "mail") for _id, _public, model, field in rows}
        self.assertEqual(
            kinds,
            {
                ("meeting.event", "calendar_file"),
                ("meeting.event", "mail"),
                ("meeting.rooms", "calendar_file"),
            },
            "stored files of the meeting and its room, and the mails' files",
        )
        self.assertTrue(mail_attachments, "the mails carry calendar files")
        ids = {row[0] for row in rows} | set(mail_attachments.ids)
        public = [row[0] for row in rows if row[1]] + mail_attachments.filtered(
            "public"
        ).ids
        self.assertFalse(public, "no calendar file is public")
        for attachment_id in sorted(ids):
            for suffix in ("", f"?access_token={meeting.access_token}"):
                response = self.url_open(f"/web/content/{attachment_id}{suffix}")
                self.assertIn(response.status_code, (403, 404), attachment_id)
                self.assertNotIn("BEGIN:VCALENDAR", response.text)

    def test_booking_pages_show_nothing_of_other_meetings(self):
        busy_slot, slot = self.free_slots()[:2]
        attendee = new_test_user(
            self.env,
            "mr_privacy_attendee",
            name="Ottoline Secretperson",
            groups="base.group_user",
            email="ottoline@example.com",
        )
        partner = self.env["res.partner"].create(
            {"name": "Hidden Guestname", "email": "hidden.guest@example.org"}
        )
        self.env["meeting.event"].sudo().create(
            {
                "subject": "Merger talks Quokka-7731",
                "description": "Budget cuts Pangolin",
                "host_user_id": self.host.id,
                "attendee": [(6, 0, attendee.ids)],
                "partner_id": partner.id,
                "start_date": busy_slot.start,
                "end_date": busy_slot.end,
                "room_location_ids": [(6, 0, self.room.ids)],
            }
        ).action_confirm()
        _csrf, response = self.book(slot, subject="My own meeting")
        meeting = self.booked_meeting(slot)
        token = meeting.access_token
        free = self.free_slots()[0]
        pages = {
            "grid": f"/book/{self.token}",
            "form of a free slot": self.details_path(free),
            "form of the busy slot": self.details_path(busy_slot),
            "confirmation": response.headers["Location"],
            "manage page": f"/my/meetings/{meeting.id}?access_token={token}",
            "calendar file": f"/my/meetings/{meeting.id}/ics?access_token={token}",
        }
        secrets = (
            "Quokka-7731",
            "Pangolin",
            "Ottoline",
            "ottoline@example.com",
            "Hidden Guestname",
            "hidden.guest@example.org",
        )
        for label, url in pages.items():
            with self.subTest(label):
                page = self.url_open(url)
                self.assertLess(page.status_code, 500, label)
                for secret in secrets:
                    self.assertNotIn(secret, page.text, f"{label} shows {secret}")
        self.assertIn(
            "My own meeting", self.url_open(pages["manage page"]).text, "own shown"
        )

    def test_secret_pages_ask_not_to_be_indexed_and_preview_as_the_link(self):
        slot, busy_slot = self.free_slots()[:2]
        self.env["meeting.event"].sudo().create(
            {
                "subject": "Taken",
                "host_user_id": self.host.id,
                "start_date": busy_slot.start,
                "end_date": busy_slot.end,
            }
        )
        _csrf, response = self.book(slot)
        meeting = self.booked_meeting(slot)
        pages = {
            "grid": f"/book/{self.token}",
            "form": self.details_path(self.free_slots()[0]),
            "refusal": self.details_path(busy_slot),
            "confirmation": response.headers["Location"],
            "manage page": (
                f"/my/meetings/{meeting.id}?access_token={meeting.access_token}"
            ),
        }
        for label, url in pages.items():
            with self.subTest(label):
                page = self.url_open(url)
                self.assertEqual(
                    page.headers.get("X-Robots-Tag"), "noindex, nofollow", label
                )
        grid = self.url_open(pages["grid"]).text
        self.assertRegex(grid, r'property="og:title" content="Talk to me \|')
        self.assertIn(
            f'property="og:description" content="Pick a time to meet {self.host.name}.',
            grid,
        )
        self.assertRegex(
            grid, rf'property="og:image" content="[^"]*/book/avatar/{self.token}"'
        )
        self.assertNotIn("Booking: slot grid", grid, "not the template's name")


@tagged("post_install", "-at_install")
class TestQuietSqlLog(BaseCase):
    def test_quiet_sql_log_holds_per_thread_when_requests_overlap(self):
        """Two booking requests of a threaded server overlap: the one that
        leaves first must not unmute the other, nor leave the logger muted
        (both of which Odoo's process-wide mute_logger does here)."""
        sql_logger = logging.getLogger("odoo.sql_db")
        other_inside, other_may_log, other_done = (threading.Event() for _ in "abc")

        def other_request():
            with quiet_sql_log():
                other_inside.set()
                other_may_log.wait(10)
                sql_logger.error("bad query: INSERT ... %s", GUEST_EMAIL)
            other_done.set()

        with self.assertLogs("odoo.sql_db", logging.ERROR) as logs:
            thread = threading.Thread(target=other_request)
            with quiet_sql_log():
                thread.start()
                self.assertTrue(other_inside.wait(10))
                sql_logger.error("bad query: INSERT ... %s", OTHER_EMAIL)
            other_may_log.set()
            self.assertTrue(other_done.wait(10))
            thread.join(10)
            sql_logger.error("bad query: after both requests")
        self.assertEqual(
            [record.getMessage() for record in logs.records],
            ["bad query: after both requests"],
        )
