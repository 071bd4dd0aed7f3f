from psycopg2 import errors

from odoo.exceptions import UserError, ValidationError
from odoo.tools import mute_logger

from .common import MeetingRoomsCase


class TestMeetingEvent(MeetingRoomsCase):
    def test_end_must_follow_start_on_create(self):
        with self.assertRaisesRegex(ValidationError, "must end after it starts"):
            self.create_meeting(start_date=self.at(11), end_date=self.at(10))

    def test_end_must_follow_start_on_write(self):
        meeting = self.create_meeting()
        with self.assertRaisesRegex(ValidationError, "must end after it starts"):
            meeting.write({"end_date": self.at(9)})

    def test_database_refuses_inverted_dates_written_with_sql(self):
        meeting = self.create_meeting()
        self.env.flush_all()
        with mute_logger("odoo.sql_db"), self.assertRaises(errors.CheckViolation):
            with self.env.cr.savepoint():
                self.env.cr.execute(
                    "UPDATE meeting_event SET end_date = start_date WHERE id = %s",
                    [meeting.id],
                )

    def test_host_cannot_host_two_meetings_at_once(self):
        self.create_meeting()
        with self.assertRaisesRegex(ValidationError, "mr_host.*already has a meeting"):
            self.create_meeting(start_date=self.at(10, 30), end_date=self.at(11, 30))

    def test_back_to_back_meetings_do_not_overlap(self):
        self.create_meeting()
        second = self.create_meeting(start_date=self.at(11), end_date=self.at(12))
        self.assertTrue(second, "a meeting starting when another ends is allowed")

    def test_cancelled_meeting_frees_the_host(self):
        first = self.create_meeting()
        first.action_cancel()
        second = self.create_meeting()
        self.assertEqual(second.state, "draft")

    def test_confirm_refuses_busy_attendee_naming_them(self):
        busy = self.create_meeting(
            user=self.colleague,
            subject="Secret interview",
            attendee=[(6, 0, [self.colleague.id])],
        )
        busy.action_confirm()
        meeting = self.create_meeting(attendee=[(6, 0, [self.colleague.id])])
        with self.assertRaisesRegex(UserError, "mr_colleague") as caught:
            meeting.action_confirm()
        self.assertNotIn(
            busy.subject, str(caught.exception), "the other meeting stays private"
        )
        self.assertEqual(meeting.state, "draft")

    def test_confirm_ignores_draft_and_cancelled_meetings_of_attendees(self):
        other = self.create_meeting(user=self.colleague)
        meeting = self.create_meeting(attendee=[(6, 0, [self.colleague.id])])
        meeting.action_confirm()
        self.assertEqual(meeting.state, "confirm", "a draft does not make anyone busy")
        self.assertEqual(other.state, "draft")

    def test_workflow_confirm_cancel_reset(self):
        meeting = self.create_meeting()
        meeting.action_confirm()
        self.assertEqual(meeting.state, "confirm")
        with self.assertRaisesRegex(UserError, "Only a draft meeting"):
            meeting.action_confirm()
        meeting.action_cancel()
        self.assertEqual(meeting.state, "cancel")
        meeting.action_draft()
        self.assertEqual(meeting.state, "draft")

    def test_reset_to_draft_only_from_cancelled(self):
        meeting = self.create_meeting()
        with self.assertRaisesRegex(UserError, "Only a cancelled meeting"):
            meeting.action_draft()

    def test_version_rises_on_reschedule_and_cancel_only(self):
        meeting = self.create_meeting()
        self.assertEqual(meeting.version, 0)
        meeting.write({"description": "Agenda"})
        self.assertEqual(meeting.version, 0, "a description edit is no reschedule")
        meeting.write({"start_date": meeting.start_date})
        self.assertEqual(meeting.version, 0, "writing the same time moves nothing")
        meeting.write({"start_date": self.at(9)})
        self.assertEqual(meeting.version, 1)
        meeting.write({"room_location_ids": [(4, self.room_berlin.id)]})
        self.assertEqual(meeting.version, 2, "a new room moves the meeting")
        meeting.action_cancel()
        self.assertEqual(meeting.version, 3)

    def test_uid_is_stable_and_unique(self):
        first = self.create_meeting()
        second = self.create_meeting(start_date=self.at(12), end_date=self.at(13))
        uid = first.ics_uid
        first.write({"start_date": self.at(8)})
        self.assertEqual(first.ics_uid, uid, "a reschedule keeps the calendar UID")
        self.assertNotEqual(first.ics_uid, second.ics_uid)

    def test_access_url_points_to_portal_page(self):
        meeting = self.create_meeting()
        self.assertEqual(meeting.access_url, f"/my/meetings/{meeting.id}")
