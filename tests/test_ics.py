from datetime import timedelta

import pytz
from icalendar import Calendar

from odoo.exceptions import AccessError

from .common import MeetingRoomsCase


def parse(data):
    """The calendar and its only event, from ``.ics`` bytes."""
    calendar = Calendar.from_ical(data)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


class TestCalendarFile(MeetingRoomsCase):
    """The ``.ics`` stored on a meeting and on each of its room bookings."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # ``new_test_user`` gives every login starting with "m" the same address.
        cls.host.email = "hanna.host@example.com"
        cls.colleague.email = "colin.colleague@example.com"

    def stored_attachment(self, record):
        return self.env["ir.attachment"].search(
            [
                ("res_model", "=", record._name),
                ("res_field", "=", "calendar_file"),
                ("res_id", "=", record.id),
            ]
        )

    def test_calendar_file_is_stored_as_a_private_ics_attachment(self):
        meeting = self.create_meeting()
        attachment = self.stored_attachment(meeting)
        self.assertEqual(len(attachment), 1, "one stored calendar file")
        self.assertFalse(attachment.public, "calendar files are never public")
        self.assertEqual(attachment.name, f"meeting-{meeting.id}.ics")
        self.assertEqual(attachment.mimetype, "text/calendar")
        self.assertEqual(meeting._get_calendar_file(), attachment.raw)
        self.assertTrue(meeting.calendar_file, "the binary field reads the file")

    def test_portal_user_cannot_read_the_calendar_file(self):
        meeting = self.create_meeting()
        attachment = self.stored_attachment(meeting)
        with self.assertRaises(AccessError, msg="no access to a stranger's file"):
            attachment.with_user(self.portal_user).read(["raw"])

    def test_file_follows_a_reschedule_with_the_same_uid_and_next_sequence(self):
        meeting = self.create_meeting()
        _calendar, before = parse(meeting._get_calendar_file())
        meeting.write({"start_date": self.at(14), "end_date": self.at(15)})
        _calendar, after = parse(meeting._get_calendar_file())
        self.assertEqual(str(after["uid"]), meeting.ics_uid)
        self.assertEqual(str(before["uid"]), str(after["uid"]), "same event")
        self.assertEqual(
            after.decoded("sequence"),
            before.decoded("sequence") + 1,
            "clients replace an event only for a higher SEQUENCE",
        )
        self.assertEqual(
            after.decoded("dtstart").astimezone(pytz.utc).replace(tzinfo=None),
            self.at(14),
            "the file holds the new time",
        )

    def test_file_follows_confirm_and_cancel(self):
        meeting = self.create_meeting()
        _calendar, draft = parse(meeting._get_calendar_file())
        self.assertEqual(str(draft["status"]), "TENTATIVE", "a draft is tentative")
        meeting.action_confirm()
        calendar, confirmed = parse(meeting._get_calendar_file())
        self.assertEqual(str(calendar["method"]), "REQUEST")
        self.assertEqual(str(confirmed["status"]), "CONFIRMED")
        meeting.action_cancel()
        self.assertEqual(meeting._get_ics_method(), "CANCEL")
        calendar, cancelled = parse(meeting._get_calendar_file())
        self.assertEqual(str(calendar["method"]), "CANCEL")
        self.assertEqual(str(cancelled["status"]), "CANCELLED")
        self.assertEqual(
            cancelled.decoded("sequence"),
            meeting.version,
            "SEQUENCE is the meeting's version",
        )

    def test_file_is_rebuilt_after_the_cleanup_removed_it(self):
        meeting = self.create_meeting()
        self.stored_attachment(meeting).unlink()
        data = meeting._get_calendar_file()
        _calendar, event = parse(data)
        self.assertEqual(str(event["uid"]), meeting.ics_uid)
        self.assertEqual(
            self.stored_attachment(meeting).raw, data, "stored again, not only built"
        )

    def test_room_booking_file_is_the_same_event_in_that_room(self):
        self.room_berlin.address = "Invalidenstr. 1, Berlin"
        meeting = self.create_meeting(
            room_location_ids=[(6, 0, [self.room_berlin.id, self.room_tokyo.id])]
        )
        booking = meeting.meeting_room_ids.filtered(
            lambda b: b.room_location_id == self.room_tokyo
        )
        attachment = self.stored_attachment(booking)
        self.assertEqual(len(attachment), 1, "each booking stores its own file")
        self.assertFalse(attachment.public)
        _calendar, event = parse(booking._get_calendar_file())
        self.assertEqual(str(event["uid"]), meeting.ics_uid, "same event")
        self.assertEqual(str(event["location"]), "Sakura", "that room only")
        self.assertEqual(str(event["dtstart"].params["TZID"]), "Asia/Tokyo")
        _calendar, whole = parse(meeting._get_calendar_file())
        self.assertEqual(
            str(whole["location"]), "Spree, Invalidenstr. 1, Berlin; Sakura"
        )
        attachment.unlink()
        self.assertTrue(booking._get_calendar_file(), "rebuilt after cleanup")

    def test_cancelled_booking_file_cancels(self):
        meeting = self.create_meeting(room_location_ids=[(6, 0, [self.room_berlin.id])])
        meeting.action_cancel()
        calendar, _event = parse(meeting.meeting_room_ids._get_calendar_file())
        self.assertEqual(str(calendar["method"]), "CANCEL")

    def test_virtual_room_link_is_location_and_url(self):
        virtual = self.env["virtual.room"].create(
            {"name": "Jitsi", "url": "https://meet.example.com/planning"}
        )
        meeting = self.create_meeting(virtual_room_id=virtual.id)
        _calendar, event = parse(meeting._get_calendar_file())
        self.assertEqual(str(event["location"]), virtual.url)
        self.assertEqual(str(event["url"]), virtual.url)
        self.assertIn(virtual.url, str(event["description"]))

    def test_reminder_comes_from_the_alarm(self):
        alarm = self.env["calendar.alarm"].create(
            {
                "name": "20 minutes",
                "alarm_type": "notification",
                "duration": 20,
                "interval": "minutes",
            }
        )
        meeting = self.create_meeting(alarm_id=alarm.id)
        _calendar, event = parse(meeting._get_calendar_file())
        (valarm,) = event.walk("VALARM")
        self.assertEqual(valarm.decoded("trigger"), timedelta(minutes=-20))

    def test_participants_are_attendees_once_each(self):
        guest = self.env["res.partner"].create(
            {"name": "Gwen Guest", "email": "Gwen@Example.com"}
        )
        meeting = self.create_meeting(
            attendee=[(6, 0, [self.colleague.id])],
            partner_id=guest.id,
            guest_emails="gwen@example.com, Otto <otto@example.com>",
        )
        _calendar, event = parse(meeting._get_calendar_file())
        addresses = sorted(str(a).lower() for a in event["attendee"])
        self.assertEqual(
            addresses,
            sorted(
                [
                    f"mailto:{self.host.email.lower()}",
                    f"mailto:{self.colleague.email.lower()}",
                    "mailto:gwen@example.com",
                    "mailto:otto@example.com",
                ]
            ),
        )
        self.assertEqual(
            str(event["organizer"]).lower(), f"mailto:{self.host.email.lower()}"
        )

    def test_file_is_written_in_the_hosts_timezone(self):
        meeting = self.create_meeting()
        calendar, event = parse(meeting._get_calendar_file())
        self.assertEqual(str(event["dtstart"].params["TZID"]), "Europe/Berlin")
        self.assertIn("20310610T120000", event["dtstart"].to_ical().decode())
        self.assertEqual(
            [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")], ["Europe/Berlin"]
        )

    def test_timezone_summary_shows_each_zone_and_escapes_names(self):
        self.room_tokyo.name = "<b>Sakura</b>"
        meeting = self.create_meeting(room_location_ids=[(6, 0, [self.room_tokyo.id])])
        summary = str(meeting.timezone_summary)
        self.assertIn("Europe/Berlin (UTC+02:00)", summary, "the host's zone")
        self.assertIn("Asia/Tokyo (UTC+09:00)", summary, "the room's zone")
        self.assertIn("&lt;b&gt;Sakura&lt;/b&gt;", summary, "names are escaped")
        self.assertNotIn("<b>Sakura", summary)
