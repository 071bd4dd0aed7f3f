from psycopg2 import errors

from odoo.exceptions import ValidationError
from odoo.tools import mute_logger

from ..models.overlap import translate_refusals
from .common import MeetingRoomsCase


class TestRoomBookings(MeetingRoomsCase):
    def test_one_booking_per_room_at_the_meeting_time(self):
        meeting = self.create_meeting(
            room_location_ids=[(6, 0, [self.room_berlin.id, self.room_tokyo.id])]
        )
        bookings = meeting.meeting_room_ids
        self.assertEqual(bookings.room_location_id, self.room_berlin | self.room_tokyo)
        for booking in bookings:
            self.assertEqual(
                (booking.start_date, booking.end_date, booking.state),
                (meeting.start_date, meeting.end_date, "draft"),
            )

    def test_bookings_move_and_change_state_with_their_meeting(self):
        meeting = self.create_meeting(room_location_ids=[(6, 0, [self.room_berlin.id])])
        meeting.write({"start_date": self.at(14), "end_date": self.at(15)})
        meeting.action_confirm()
        booking = meeting.meeting_room_ids
        self.assertEqual(
            (booking.start_date, booking.end_date), (self.at(14), self.at(15))
        )
        self.assertEqual(booking.state, "confirm")
        meeting.action_cancel()
        self.assertEqual(booking.state, "cancel", "cancelling frees the room")

    def test_removing_a_room_removes_its_booking(self):
        meeting = self.create_meeting(
            room_location_ids=[(6, 0, [self.room_berlin.id, self.room_tokyo.id])]
        )
        meeting.write({"room_location_ids": [(3, self.room_tokyo.id)]})
        self.assertEqual(meeting.meeting_room_ids.room_location_id, self.room_berlin)

    def test_room_cannot_be_booked_twice_naming_the_room(self):
        self.create_meeting(room_location_ids=[(6, 0, [self.room_berlin.id])])
        with self.assertRaisesRegex(ValidationError, "Spree is already booked"):
            self.create_meeting(
                user=self.colleague,
                start_date=self.at(10, 30),
                end_date=self.at(12),
                room_location_ids=[(6, 0, [self.room_berlin.id])],
            )

    def test_moving_onto_a_booked_room_is_refused(self):
        self.create_meeting(room_location_ids=[(6, 0, [self.room_berlin.id])])
        other = self.create_meeting(
            user=self.colleague,
            start_date=self.at(12),
            end_date=self.at(13),
            room_location_ids=[(6, 0, [self.room_berlin.id])],
        )
        with self.assertRaisesRegex(ValidationError, "Spree is already booked"):
            other.write({"start_date": self.at(10, 45)})

    def test_cancelled_booking_frees_the_room(self):
        first = self.create_meeting(room_location_ids=[(6, 0, [self.room_berlin.id])])
        first.action_cancel()
        second = self.create_meeting(
            user=self.colleague, room_location_ids=[(6, 0, [self.room_berlin.id])]
        )
        self.assertEqual(second.meeting_room_ids.state, "draft")

    def test_database_refuses_overlapping_booking_written_with_sql(self):
        meeting = self.create_meeting(room_location_ids=[(6, 0, [self.room_berlin.id])])
        other = self.create_meeting(
            user=self.colleague, start_date=self.at(15), end_date=self.at(16)
        )
        self.env.flush_all()
        with mute_logger("odoo.sql_db"), self.assertRaises(errors.ExclusionViolation):
            with self.env.cr.savepoint():
                self.env.cr.execute(
                    """
                    INSERT INTO meeting_rooms (meeting_event_id, room_location_id,
                        start_date, end_date, state, company_id)
                    VALUES (%s, %s, %s, %s, 'confirm', %s)
                    """,
                    [
                        other.id,
                        self.room_berlin.id,
                        self.at(10, 30),
                        self.at(10, 45),
                        meeting.company_id.id,
                    ],
                )

    def test_database_refuses_double_hosting_written_with_sql(self):
        meeting = self.create_meeting()
        self.env.flush_all()
        with mute_logger("odoo.sql_db"), self.assertRaises(errors.ExclusionViolation):
            with self.env.cr.savepoint():
                self.env.cr.execute(
                    """
                    INSERT INTO meeting_event (subject, host_user_id, start_date,
                        end_date, state, company_id, version)
                    VALUES ('Copy', %s, %s, %s, 'draft', %s, 0)
                    """,
                    [self.host.id, self.at(10, 59), self.at(12), meeting.company_id.id],
                )

    def test_database_refusal_becomes_a_message_naming_the_room(self):
        """When the ORM check is passed by (another worker, an older snapshot),
        the database's refusal still reaches the user as a clear message and the
        transaction stays usable."""
        meeting = self.create_meeting(room_location_ids=[(6, 0, [self.room_berlin.id])])
        bookings = self.env["meeting.rooms"]
        self.env.flush_all()
        with self.assertRaisesRegex(ValidationError, "Spree is already booked"):
            with (
                mute_logger("odoo.sql_db"),
                translate_refusals(
                    self.env.cr, bookings._refusal_messages(self.room_berlin)
                ),
            ):
                self.env.cr.execute(
                    """
                    INSERT INTO meeting_rooms (meeting_event_id, room_location_id,
                        start_date, end_date, state, company_id)
                    SELECT meeting_event_id, room_location_id, start_date,
                        end_date, state, company_id
                    FROM meeting_rooms WHERE meeting_event_id = %s
                    """,
                    [meeting.id],
                )
        self.assertEqual(
            bookings.search_count([("room_location_id", "=", self.room_berlin.id)]), 1
        )
