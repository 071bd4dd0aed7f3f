import re
from datetime import timedelta
from html import unescape
from urllib.parse import quote, urlencode

from odoo import fields
from odoo.tests import HttpCase, new_test_user, tagged

from .common import create_open_link, free_slots
from .test_booking_grid import seed_past_meetings


class BookingHttpCase(HttpCase):
    """A host whose link is open around the clock in UTC, so that the real
    clock of the server always finds free slots."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.host = new_test_user(
            cls.env, "mr_web_host", groups="base.group_user", tz="UTC"
        )
        cls.other_host = new_test_user(
            cls.env, "mr_web_other", groups="base.group_user"
        )
        cls.link = create_open_link(cls.env, cls.host, name="Around the clock")
        cls.token = cls.link.token
        cls.Meeting = cls.env["meeting.event"].sudo()
        cls.Partner = cls.env["res.partner"].sudo().with_context(active_test=False)

    def free_slot(self, days=2, link=None):
        """A free slot of the link at least ``days`` days away."""
        return free_slots(link or self.link, days)[0]

    def details_url(self, slot=None, token=None, time_str=None):
        query = {
            "token": token or self.token,
            "time_str": time_str or (slot or self.free_slot()).time_str,
        }
        return "/booking/details?" + urlencode(query, quote_via=quote)

    def open_form(self, slot):
        """Open the slot's form; return the CSRF token it carries."""
        response = self.url_open(self.details_url(slot))
        self.assertEqual(response.status_code, 200, "the form opens")
        return re.search(r'name="csrf_token" value="([^"]+)"', response.text).group(1)

    def submit(self, slot, **fields_):
        data = {
            "csrf_token": self.open_form(slot),
            "token": self.token,
            "time_str": slot.time_str,
            "name": "Ada Guest",
            "email": "ada@example.com",
            **fields_,
        }
        return self.url_open("/booking/submit", data=data, allow_redirects=False)

    def book(self, slot=None, **fields_):
        """Book a slot through the pages; return the meeting and the
        confirmation page's address."""
        slot = slot or self.free_slot()
        response = self.submit(slot, **fields_)
        self.assertEqual(response.status_code, 303, "redirected after the POST")
        meeting = self.Meeting.search(
            [("booking_link_id", "=", self.link.id), ("start_date", "=", slot.start)]
        )
        self.assertEqual(len(meeting), 1, "one meeting booked")
        return meeting, response.headers["Location"]

    def counts(self):
        return self.Partner.search_count([]), self.Meeting.search_count([])


@tagged("post_install", "-at_install")
class TestBookingPages(BookingHttpCase):
    def test_grid_page_costs_the_same_queries_with_10_or_10000_meetings(self):
        seed_past_meetings(self.cr, self.host.id, self.env.company.id, 10)
        url = f"/book/{self.token}"

        def count_queries():
            self.env.flush_all()
            before = self.cr.sql_log_count
            response = self.url_open(url)
            self.assertEqual(response.status_code, 200)
            return self.cr.sql_log_count - before

        count_queries()  # compile the templates, fill the caches
        count_queries()
        with_ten = count_queries()
        self.cr.execute(
            "DELETE FROM meeting_event WHERE host_user_id = %s", [self.host.id]
        )
        seed_past_meetings(self.cr, self.host.id, self.env.company.id, 10000)
        with_many = count_queries()
        self.assertEqual(with_many, with_ten, "the page's queries do not grow")

    def test_unknown_or_archived_link_is_not_found(self):
        for token in ("x" * 43, "no/such", "<script>"):
            response = self.url_open(f"/book/{quote(token, safe='')}")
            self.assertEqual(response.status_code, 404, token)
        self.assertEqual(self.url_open(f"/book/avatar/{'x' * 43}").status_code, 404)
        archived = self.link.copy({"name": "Old", "active": False})
        self.assertEqual(self.url_open(f"/book/{archived.token}").status_code, 404)
        self.assertEqual(
            self.url_open(self.details_url(token=archived.token)).status_code,
            404,
            "no form for an archived link",
        )

    def test_avatar_shows_the_hosts_picture(self):
        response = self.url_open(f"/book/avatar/{self.token}")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.headers["Content-Type"].startswith("image/"))

    def test_grid_links_each_free_slot_and_not_the_busy_ones(self):
        busy, free = self.free_slot(days=2), self.free_slot(days=3)
        self.Meeting.create(
            {
                "subject": "Busy",
                "host_user_id": self.host.id,
                "start_date": busy.start,
                "end_date": busy.end,
            }
        )
        page = self.url_open(f"/book/{self.token}").text
        self.assertIn("Around the clock", page, "the link's name")
        self.assertIn("UTC", page, "the timezone is named")
        self.assertIn(f'src="/book/avatar/{self.token}"', page, "the host's picture")
        self.assertIn(self.details_url(free), unescape(page))
        self.assertNotIn(self.details_url(busy), unescape(page))
        self.assertIn(f'data-time-str="{busy.time_str}"', page, "busy still shown")

    def test_visitor_timezone_moves_the_labels_and_an_unknown_one_is_ignored(self):
        page = self.url_open(f"/book/{self.token}?tz=Asia/Kathmandu").text
        self.assertIn("Times are shown in <strong>Asia/Kathmandu</strong>", page)
        self.assertRegex(page, r"\d:45", "UTC+05:45 shifts every slot")
        # The zone list submits each zone's name (its text) and marks the one shown.
        self.assertRegex(page, r"<option selected[^>]*>Asia/Kathmandu</option>")
        self.assertIn("<option>America/St_Johns</option>", page)
        page = self.url_open(
            f"/book/{self.token}?" + urlencode({"tz": "<script>alert(1)</script>"})
        ).text
        self.assertIn("o_mr_tz_ignored", page, "the visitor is told")
        self.assertNotIn("<script>alert(1)", page, "never echoed")

    def test_start_shows_a_later_week_with_a_link_back(self):
        start = self.link._get_slot_grid()["next_start"]
        page = self.url_open(f"/book/{self.token}?start={start.isoformat()}").text
        self.assertIn(f'data-day="{start.isoformat()}"', page, "starts there")
        self.assertIn("o_mr_previous_week", page, "a way back")


@tagged("post_install", "-at_install")
class TestBookingForm(BookingHttpCase):
    def test_form_asks_for_the_guest_fields_with_a_csrf_token(self):
        page = self.url_open(self.details_url()).text
        for name in ("csrf_token", "token", "time_str", "guest_tz", "website"):
            self.assertIn(f'name="{name}"', page, name)
        for name in ("name", "email", "subject"):
            self.assertRegex(page, rf'<input[^>]+name="{name}"', name)
        self.assertRegex(page, r'<textarea[^>]+name="description"', "description")

    def test_details_refuses_what_the_grid_does_not_offer(self):
        slot = self.free_slot()
        unaligned = slot.local_start + timedelta(minutes=7)
        taken = self.free_slot(days=3)
        self.Meeting.create(
            {
                "subject": "Taken",
                "host_user_id": self.host.id,
                "start_date": taken.start,
                "end_date": taken.end,
            }
        )
        cases = [
            ("malformed", self.details_url(time_str="tomorrow at 9"), 400),
            ("unknown link", self.details_url(slot, token="y" * 43), 404),
            ("not on the grid", self.details_url(time_str=str(unaligned)), 410),
            ("already past", self.details_url(time_str="2020-01-06 10:00:00"), 410),
            ("taken", self.details_url(taken), 409),
        ]
        for label, url, status in cases:
            with self.subTest(label):
                response = self.url_open(url)
                self.assertEqual(response.status_code, status, label)
                if status != 404:
                    self.assertIn(f'href="/book/{self.token}"', response.text, label)

    def test_every_rejected_submit_creates_nothing(self):
        slot = self.free_slot()
        unaligned = str(slot.local_start + timedelta(minutes=7))
        cases = [
            ("no name", {"name": ""}, 422),
            ("long name", {"name": "A" * 101}, 422),
            ("control character in the name", {"name": "Ada\x07"}, 422),
            ("no e-mail", {"email": ""}, 422),
            ("invalid e-mail", {"email": "ada at example"}, 422),
            ("one invalid among several", {"email": "ada@example.com, nope"}, 422),
            (
                "eleven e-mails",
                {"email": ",".join(f"g{i}@example.com" for i in range(11))},
                422,
            ),
            ("long subject", {"subject": "S" * 201}, 422),
            ("control character in the subject", {"subject": "Hi\x1b"}, 422),
            ("long description", {"description": "D" * 5001}, 422),
            ("NUL in the description", {"description": "a\x00b"}, 422),
            ("honeypot filled", {"website": "http://spam.example"}, 400),
            ("malformed time", {"time_str": "2031-13-01 10:00:00"}, 400),
            ("unaligned time", {"time_str": unaligned}, 410),
        ]
        before = self.counts()
        for label, values, status in cases:
            with self.subTest(label):
                response = self.submit(slot, **values)
                self.assertEqual(response.status_code, status, label)
        self.assertEqual(self.counts(), before, "no partner, no meeting")

    def test_input_is_shown_back_escaped(self):
        slot = self.free_slot()
        response = self.submit(
            slot, name="<script>alert('name')</script>", email="<b>not-an-address"
        )
        self.assertEqual(response.status_code, 422)
        self.assertNotIn("<script>alert('name')", response.text)
        self.assertIn("&lt;script&gt;", response.text, "kept in the form, escaped")

    def test_submit_without_csrf_token_is_refused(self):
        before = self.counts()
        slot = self.free_slot()
        response = self.url_open(
            "/booking/submit",
            data={
                "token": self.token,
                "time_str": slot.time_str,
                "name": "Ada",
                "email": "ada@example.com",
            },
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 400, "CSRF check")
        self.assertEqual(self.counts(), before)

    def test_rate_limit_per_address_refuses_with_429(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "meeting_rooms.booking_rate_limit_per_email", 1
        )
        self.book()
        before = self.counts()
        response = self.submit(self.free_slot(days=3))
        self.assertEqual(response.status_code, 429)
        self.assertEqual(self.counts(), before, "nothing more")

    def test_booking_leads_to_its_confirmation_page(self):
        meeting, location = self.book(
            email="Ada@Example.com, bob@example.com, ada@example.com",
            guest_tz="Asia/Tokyo",
            subject="Roadmap",
        )
        self.assertEqual(meeting.state, "confirm")
        self.assertEqual(meeting.partner_id.email_normalized, "ada@example.com")
        self.assertEqual(meeting.guest_emails, "bob@example.com", "de-duplicated")
        self.assertEqual(meeting.guest_tz, "Asia/Tokyo")
        self.assertTrue(location.startswith(f"/booking/confirmed/{meeting.id}?"))
        page = self.url_open(location).text
        self.assertIn("Roadmap", page)
        self.assertIn("Asia/Tokyo", page, "the guest's time")
        self.assertIn(f"/my/meetings/{meeting.id}?access_token=", page, "manage link")
        self.assertIn(f"/my/meetings/{meeting.id}/ics?access_token=", page, "ICS")
        wrong = self.url_open(f"/booking/confirmed/{meeting.id}?access_token=nope")
        self.assertEqual(wrong.status_code, 404, "not without the token")
        self.assertNotIn("Roadmap", wrong.text)

    def test_confirmation_page_tells_what_holds_now(self):
        meeting, location = self.book(subject="Roadmap")
        self.assertIn("Your meeting is booked", self.url_open(location).text)
        meeting.action_cancel()
        page = self.url_open(location).text
        self.assertIn("This meeting is cancelled", page)
        self.assertNotIn("Your meeting is booked", page)
        self.assertNotIn("Your request is sent", page)
        self.assertNotIn("Add to my calendar", page)

    def test_the_same_slot_submitted_twice_gives_one_booking(self):
        slot = self.free_slot()
        first_csrf, second_csrf = self.open_form(slot), self.open_form(slot)
        data = {"token": self.token, "time_str": slot.time_str, "name": "A"}
        first = self.url_open(
            "/booking/submit",
            data={**data, "csrf_token": first_csrf, "email": "a@example.com"},
            allow_redirects=False,
        )
        second = self.url_open(
            "/booking/submit",
            data={**data, "csrf_token": second_csrf, "email": "b@example.com"},
            allow_redirects=False,
        )
        self.assertEqual(first.status_code, 303, "the first one books")
        self.assertEqual(second.status_code, 409, "the second one is told")
        self.assertIn("This slot was just taken", second.text)
        self.assertIn(f'href="/book/{self.token}"', second.text, "a fresh grid link")
        self.assertEqual(
            self.Meeting.search_count([("start_date", "=", slot.start)]), 1, "one"
        )


@tagged("post_install", "-at_install")
class TestMeetingPortal(BookingHttpCase):
    def test_manage_page_needs_the_meetings_token(self):
        meeting, _location = self.book(subject="Private matter")
        token = meeting.access_token
        page = self.url_open(f"/my/meetings/{meeting.id}?access_token={token}")
        self.assertEqual(page.status_code, 200)
        self.assertIn("Private matter", page.text)
        for suffix in ("", "?access_token=wrong", f"?access_token={token[:-1]}"):
            response = self.url_open(f"/my/meetings/{meeting.id}{suffix}")
            self.assertEqual(response.status_code, 404, suffix)
            self.assertNotIn("Private matter", response.text, suffix)

    def test_ics_download_is_a_calendar_attachment(self):
        meeting, _location = self.book()
        url = f"/my/meetings/{meeting.id}/ics?access_token={meeting.access_token}"
        response = self.url_open(url)
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.headers["Content-Type"].startswith("text/calendar"))
        self.assertIn("attachment", response.headers["Content-Disposition"])
        self.assertIn("BEGIN:VCALENDAR", response.text)
        wrong = self.url_open(f"/my/meetings/{meeting.id}/ics?access_token=nope")
        self.assertEqual(wrong.status_code, 404)

    def test_cancel_is_a_post_and_frees_the_slot(self):
        slot = self.free_slot()
        meeting, _location = self.book(slot)
        token = meeting.access_token
        cancel_url = f"/my/meetings/{meeting.id}/cancel"
        refused = self.url_open(f"{cancel_url}?access_token={token}")
        self.assertEqual(refused.status_code, 405, "GET changes nothing")
        self.assertEqual(meeting.state, "confirm")
        self.assertNotIn(self.details_url(slot), self.grid_text())

        page = self.url_open(f"/my/meetings/{meeting.id}?access_token={token}").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        wrong = self.url_open(
            cancel_url, data={"csrf_token": csrf, "access_token": "nope"}
        )
        self.assertEqual(wrong.status_code, 404, "not without the token")
        response = self.url_open(
            cancel_url, data={"csrf_token": csrf, "access_token": token}
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("The meeting is cancelled.", response.text, "a notice")
        meeting.invalidate_recordset()
        self.assertEqual(meeting.state, "cancel")
        self.assertIn(self.details_url(slot), self.grid_text(), "offered again")

    def test_my_meetings_lists_only_the_users_meetings(self):
        employee = new_test_user(self.env, "mr_web_employee", groups="base.group_user")
        start = fields.Datetime.now() + timedelta(days=3)
        mine = self.Meeting.create(
            {
                "subject": "Hosted by me",
                "host_user_id": employee.id,
                "start_date": start,
                "end_date": start + timedelta(hours=1),
            }
        )
        self.Meeting.create(
            {
                "subject": "I attend",
                "host_user_id": self.other_host.id,
                "attendee": [(6, 0, employee.ids)],
                "start_date": start,
                "end_date": start + timedelta(hours=1),
            }
        )
        self.Meeting.create(
            {
                "subject": "Not mine",
                "host_user_id": self.host.id,
                "start_date": start,
                "end_date": start + timedelta(hours=1),
            }
        )
        self.authenticate("mr_web_employee", "mr_web_employee")
        page = self.url_open("/my/meetings").text
        self.assertIn("Hosted by me", page)
        self.assertIn("I attend", page)
        self.assertNotIn("Not mine", page)
        self.assertIn(f"/my/meetings/{mine.id}?access_token=", page)
        counters = self.make_jsonrpc_request(
            "/my/counters", {"counters": ["meeting_count"]}
        )
        self.assertEqual(counters["meeting_count"], 2, "the counter on /my")

    def test_portal_user_sees_the_meetings_booked_with_their_address(self):
        portal = new_test_user(
            self.env, "mr_web_portal", groups="base.group_portal", email="p@example.com"
        )
        meeting, _location = self.book(email="p@example.com", subject="Booked by me")
        self.assertEqual(meeting.partner_id, portal.partner_id, "the user's partner")
        self.Meeting.create(
            {
                "subject": "Somebody else's",
                "host_user_id": self.other_host.id,
                "start_date": meeting.start_date,
                "end_date": meeting.end_date,
            }
        )
        self.authenticate("mr_web_portal", "mr_web_portal")
        page = self.url_open("/my/meetings").text
        self.assertIn("Booked by me", page)
        self.assertNotIn("Somebody else's", page)
        other = self.Meeting.search([("subject", "=", "Somebody else's")])
        self.assertEqual(
            self.url_open(f"/my/meetings/{other.id}").status_code, 404, "no token"
        )

    def grid_text(self):
        return unescape(self.url_open(f"/book/{self.token}").text)
