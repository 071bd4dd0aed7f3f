from datetime import date, datetime

from freezegun import freeze_time

from odoo.exceptions import ValidationError
from odoo.tools import SQL

from odoo.addons.meeting_rooms.models.attendee_schedule import ATTENDEE_BUSY_INDEX
from odoo.addons.meeting_rooms.models.meeting_booking_link import BookingError

from .common import MeetingRoomsCase

# Tuesday 2031-06-10 in Berlin (CEST, UTC+2): 09:00 local is 07:00 UTC.
NOW = datetime(2031, 6, 9, 12, 0)  # Monday, 14:00 in Berlin


def seed_past_meetings(cr, host_id, company_id, count):
    """Insert ``count`` hour-long confirmed meetings of the host, one per
    hour going back from 2031-06-01, with one statement."""
    cr.execute(
        """
        INSERT INTO meeting_event
               (subject, host_user_id, company_id, state, version,
                start_date, end_date)
        SELECT 'Seeded ' || g, %s, %s, 'confirm', 0,
               TIMESTAMP '2031-06-01' - g * INTERVAL '1 hour',
               TIMESTAMP '2031-06-01' - g * INTERVAL '1 hour' + INTERVAL '50 minutes'
          FROM generate_series(1, %s) AS g
        """,
        (host_id, company_id, count),
    )
    # The host attends them too, as the form view would record.
    cr.execute(
        """
        INSERT INTO meeting_event_attendee_rel (meeting_event_id, user_id)
        SELECT id, host_user_id
          FROM meeting_event
         WHERE host_user_id = %s AND subject LIKE 'Seeded %%'
        """,
        (host_id,),
    )


class BookingLinkCase(MeetingRoomsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.link = cls.env["meeting.booking.link"].create(
            {"name": "Talk to me", "user_id": cls.host.id, "tz": "Europe/Berlin"}
        )

    @classmethod
    def berlin(cls, day, hour):
        """The UTC instant of ``hour`` o'clock in Berlin in June 2031."""
        return datetime(2031, 6, day, hour - 2)

    def grid_states(self, link=None, **kwargs):
        """``{time_str: SlotState}`` of every slot of the grid."""
        grid = (link or self.link)._get_slot_grid(**{"now": NOW, **kwargs})
        return {
            state.slot.time_str: state
            for day in grid["days"]
            for state in day["states"]
        }

    def grid_reasons(self, link=None, **kwargs):
        """``{time_str: reason}`` of every slot of the grid."""
        states = self.grid_states(link, **kwargs)
        return {time_str: state.reason for time_str, state in states.items()}


class TestBookingGrid(BookingLinkCase):
    def test_grid_reads_every_busy_interval_with_one_query(self):
        self.link.room_location_ids = self.room_berlin | self.room_tokyo
        self.create_meeting(
            start_date=self.berlin(10, 10), end_date=self.berlin(10, 11)
        )
        self.env.flush_all()
        self.env.invalidate_all()
        # The link as the public page finds it: its own columns are read, its
        # rooms are not. The rooms, their bookings and the host's meetings
        # then come from one query.
        link = self.env["meeting.booking.link"]._get_public_link(self.link.token)
        with self.assertQueryCount(1):
            count_before = self.cr.sql_log_count
            grid = link._get_slot_grid(now=NOW)
            count = self.cr.sql_log_count - count_before
        # assertQueryCount lets a lower count pass; the grid needs its query.
        self.assertEqual(count, 1, "the grid costs exactly one query")
        self.assertTrue(
            any(state.free for day in grid["days"] for state in day["states"]),
            "the grid has free slots",
        )

    def test_grid_shows_seven_days_from_today_in_the_links_timezone(self):
        grid = self.link._get_slot_grid(now=NOW)
        self.assertEqual(
            [day["day"] for day in grid["days"]],
            [date(2031, 6, d) for d in range(9, 16)],
            "seven days from today",
        )
        saturday = grid["days"][5]
        self.assertEqual(saturday["states"], [], "no slot on a day off")
        tuesday = [s.slot for s in grid["days"][1]["states"]]
        self.assertEqual(
            (tuesday[0].time_str, tuesday[-1].time_str),
            ("2031-06-10 09:00:00", "2031-06-10 16:00:00"),
            "hour-long slots from 09:00 to the last one ending at 17:00",
        )
        self.assertEqual(tuesday[0].start, self.berlin(10, 9), "stored in UTC")

    def test_host_meetings_hold_their_slot_unless_cancelled(self):
        self.create_meeting(
            start_date=self.berlin(10, 10), end_date=self.berlin(10, 11)
        )
        self.create_meeting(
            start_date=self.berlin(10, 11), end_date=self.berlin(10, 12)
        ).action_confirm()
        self.create_meeting(
            start_date=self.berlin(10, 12), end_date=self.berlin(10, 13)
        ).action_cancel()
        reasons = self.grid_reasons()
        self.assertEqual(reasons["2031-06-10 10:00:00"], "busy", "a draft holds")
        self.assertEqual(reasons["2031-06-10 11:00:00"], "busy", "a confirmed holds")
        self.assertEqual(reasons["2031-06-10 12:00:00"], "free", "a cancelled frees")

    def test_confirmed_meetings_the_host_attends_hold_their_slot(self):
        """As confirming judges it: a confirmed meeting of someone else that
        the host attends makes the host busy; a draft one does not."""
        attended = self.create_meeting(
            user=self.colleague,
            start_date=self.berlin(10, 10),
            end_date=self.berlin(10, 11),
            attendee=[(6, 0, [self.host.id])],
        )
        self.assertEqual(self.grid_reasons()["2031-06-10 10:00:00"], "free", "draft")

        attended.action_confirm()
        self.assertEqual(
            self.grid_reasons()["2031-06-10 10:00:00"], "busy", "confirmed"
        )

        attended.write(
            {"start_date": self.berlin(10, 14), "end_date": self.berlin(10, 15)}
        )
        reasons = self.grid_reasons()
        self.assertEqual(reasons["2031-06-10 10:00:00"], "free", "moved away")
        self.assertEqual(reasons["2031-06-10 14:00:00"], "busy", "moved here")

        attended.attendee = self.colleague
        self.assertEqual(
            self.grid_reasons()["2031-06-10 14:00:00"], "free", "no longer invited"
        )

        attended.attendee = self.host | self.colleague
        attended.action_cancel()
        self.assertEqual(
            self.grid_reasons()["2031-06-10 14:00:00"], "free", "cancelled"
        )

    def test_attendance_written_in_plain_sql_holds_its_slot_too(self):
        """The attendance's copy of its meeting's time is kept by the
        database, so imports and scripts that bypass the ORM count too."""
        meeting = self.create_meeting(
            user=self.colleague,
            start_date=self.berlin(11, 9),
            end_date=self.berlin(11, 10),
        )
        meeting.action_confirm()
        self.env.flush_all()
        self.cr.execute(
            "INSERT INTO meeting_event_attendee_rel (meeting_event_id, user_id) "
            "VALUES (%s, %s)",
            (meeting.id, self.host.id),
        )
        self.assertEqual(
            self.grid_reasons()["2031-06-11 09:00:00"], "busy", "inserted in SQL"
        )
        self.cr.execute(
            "UPDATE meeting_event SET start_date = %s, end_date = %s WHERE id = %s",
            (self.berlin(11, 12), self.berlin(11, 13), meeting.id),
        )
        reasons = self.grid_reasons()
        self.assertEqual(reasons["2031-06-11 09:00:00"], "free", "moved in SQL")
        self.assertEqual(reasons["2031-06-11 12:00:00"], "busy", "moved in SQL")

    def test_link_with_rooms_offers_a_slot_while_one_room_is_free(self):
        self.link.room_location_ids = self.room_berlin | self.room_tokyo
        first, second = self.link.room_location_ids
        self.create_meeting(
            user=self.colleague,
            start_date=self.berlin(10, 10),
            end_date=self.berlin(10, 11),
            room_location_ids=[(6, 0, [first.id])],
        )
        self.create_meeting(
            user=self.colleague,
            start_date=self.berlin(10, 11),
            end_date=self.berlin(10, 12),
            room_location_ids=[(6, 0, (self.room_berlin | self.room_tokyo).ids)],
        )
        grid = self.link._get_slot_grid(now=NOW)
        states = {s.slot.time_str: s for day in grid["days"] for s in day["states"]}
        one_free = states["2031-06-10 10:00:00"]
        self.assertTrue(one_free.free, "one of the two rooms is free")
        self.assertEqual(one_free.room_id, second.id, "the free room is taken")
        self.assertEqual(
            states["2031-06-10 11:00:00"].reason, "no_room", "both rooms are booked"
        )
        self.assertEqual(
            states["2031-06-10 09:00:00"].room_id,
            first.id,
            "with both free, the first room of the link",
        )

    def test_rooms_are_tried_in_their_sequence_and_archived_ones_never(self):
        self.room_berlin.sequence, self.room_tokyo.sequence = 20, 10
        self.link.room_location_ids = self.room_berlin | self.room_tokyo
        states = self.grid_states()
        self.assertEqual(
            states["2031-06-10 09:00:00"].room_id,
            self.room_tokyo.id,
            "the room with the lower sequence comes first",
        )
        self.room_tokyo.active = False
        states = self.grid_states()
        self.assertEqual(
            states["2031-06-10 09:00:00"].room_id,
            self.room_berlin.id,
            "an archived room is not offered",
        )
        self.create_meeting(
            user=self.colleague,
            start_date=self.berlin(10, 9),
            end_date=self.berlin(10, 10),
            room_location_ids=[(6, 0, self.room_berlin.ids)],
        )
        self.assertEqual(
            self.grid_states()["2031-06-10 09:00:00"].reason,
            "no_room",
            "the archived room does not stand in for the booked one",
        )
        self.room_berlin.active = False
        reasons = set(self.grid_reasons().values())
        self.assertNotIn("free", reasons, "all rooms archived: nothing offered")
        self.assertIn("no_room", reasons, "and the guest is told why")

    def test_slots_within_the_minimum_notice_are_not_offered(self):
        self.link.min_notice_minutes = 120
        now = datetime(2031, 6, 10, 7, 30)  # 09:30 in Berlin
        reasons = self.grid_reasons(now=now)
        self.assertEqual(reasons["2031-06-10 09:00:00"], "past", "already started")
        self.assertEqual(reasons["2031-06-10 10:00:00"], "past", "in 30 minutes")
        self.assertEqual(reasons["2031-06-10 11:00:00"], "past", "in 90 minutes")
        self.assertEqual(reasons["2031-06-10 12:00:00"], "free", "in 150 minutes")

    def test_horizon_counts_today_and_start_moves_the_week(self):
        self.link.days_ahead = 3
        grid = self.link._get_slot_grid(now=NOW)
        with_slots = [day["day"] for day in grid["days"] if day["states"]]
        self.assertEqual(
            with_slots,
            [date(2031, 6, 9), date(2031, 6, 10), date(2031, 6, 11)],
            "today and the two days after it",
        )
        self.assertIsNone(grid["next_start"], "nothing to offer in the next week")

        self.link.days_ahead = 14
        grid = self.link._get_slot_grid(now=NOW)
        self.assertEqual(grid["next_start"], date(2031, 6, 16), "next week")
        self.assertIsNone(grid["previous_start"], "no week before today")

        later = self.link._get_slot_grid(start_day=date(2031, 6, 18), now=NOW)
        self.assertEqual(later["days"][0]["day"], date(2031, 6, 18), "from ?start")
        self.assertEqual(later["previous_start"], date(2031, 6, 11), "a week back")
        self.assertFalse(
            later["days"][-1]["states"], "2031-06-24 is past the 14-day horizon"
        )
        beyond = self.link._get_slot_grid(start_day=date(2031, 7, 1), now=NOW)
        self.assertEqual(
            beyond["days"][0]["day"], date(2031, 6, 9), "past the horizon: today"
        )
        before = self.link._get_slot_grid(start_day=date(2031, 6, 1), now=NOW)
        self.assertEqual(before["days"][0]["day"], date(2031, 6, 9), "before: today")

    def test_dst_end_offers_each_local_time_once_at_its_first_occurrence(self):
        # New York leaves summer time on 2026-11-01 at 02:00 EDT, back to 01:00.
        link = self.env["meeting.booking.link"].create(
            {
                "name": "Night owl",
                "user_id": self.colleague.id,
                "tz": "America/New_York",
                "sun": True,
                "hour_from": 0.0,
                "hour_to": 4.0,
                "slot_minutes": 30,
                "step_minutes": 30,
            }
        )
        with freeze_time("2026-10-30 12:00:00"):
            grid = link._get_slot_grid()
        sunday = next(d for d in grid["days"] if d["day"] == date(2026, 11, 1))
        slots = [state.slot for state in sunday["states"]]
        self.assertEqual(
            [slot.local_start.strftime("%H:%M") for slot in slots],
            ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30", "03:00", "03:30"],
            "every local time of the window once, though 01:00-02:00 happens twice",
        )
        starts = {slot.local_start.strftime("%H:%M"): slot.start for slot in slots}
        self.assertEqual(starts["01:00"], datetime(2026, 11, 1, 5, 0), "01:00 EDT")
        self.assertEqual(starts["01:30"], datetime(2026, 11, 1, 5, 30), "01:30 EDT")
        self.assertEqual(starts["02:00"], datetime(2026, 11, 1, 7, 0), "02:00 EST")
        self.assertTrue(all(state.free for state in sunday["states"]), "all free")

    def test_busy_query_is_answered_by_gist_indexes(self):
        self.link.room_location_ids = self.room_berlin
        seed_past_meetings(self.cr, self.host.id, self.env.company.id, 10000)
        for table in ("meeting_event", "meeting_event_attendee_rel", "meeting_rooms"):
            self.cr.execute(SQL("ANALYZE %s", SQL.identifier(table)))
        self.cr.execute("SET LOCAL enable_seqscan = off")
        query = self.link._get_busy_query(self.berlin(9, 9), self.berlin(16, 17))
        self.cr.execute(SQL("EXPLAIN %s", query))
        plan = "\n".join(row[0] for row in self.cr.fetchall())
        self.assertIn("meeting_event_host_no_overlap", plan, plan)
        self.assertIn("meeting_rooms_room_no_overlap", plan, plan)
        self.assertIn(ATTENDEE_BUSY_INDEX, plan, plan)
        self.assertNotIn("Seq Scan on meeting_event", plan, plan)


class TestBookSlot(BookingLinkCase):
    def setUp(self):
        super().setUp()
        self.partners = self.env["res.partner"].with_context(active_test=False)
        self.meetings = self.env["meeting.event"]

    def book(self, hour=10, emails=("ada@example.com",), link=None, **kwargs):
        return (link or self.link)._book_slot(
            datetime(2031, 6, 10, hour), "Ada", list(emails), now=NOW, **kwargs
        )

    def test_booking_creates_a_confirmed_meeting_for_the_guest_in_a_free_room(self):
        self.link.room_location_ids = self.room_berlin | self.room_tokyo
        first, second = self.link.room_location_ids
        self.create_meeting(
            user=self.colleague,
            start_date=self.berlin(10, 10),
            end_date=self.berlin(10, 11),
            room_location_ids=[(6, 0, [first.id])],
        )
        meeting = self.book(
            emails=["ada@example.com", "bob@example.com"],
            guest_tz="America/New_York",
            description="Roadmap",
        )
        self.assertRecordValues(
            meeting,
            [
                {
                    "subject": "Meeting with Ada",
                    "state": "confirm",
                    "host_user_id": self.host.id,
                    "start_date": self.berlin(10, 10),
                    "end_date": self.berlin(10, 11),
                    "guest_emails": "bob@example.com",
                    "guest_tz": "America/New_York",
                    "booking_link_id": self.link.id,
                    "description": "Roadmap",
                    "company_id": self.link.company_id.id,
                }
            ],
        )
        self.assertEqual(meeting.attendee, self.host, "the host attends")
        self.assertEqual(meeting.partner_id.email, "ada@example.com", "guest partner")
        self.assertEqual(meeting.room_location_ids, second, "the free room")

    def test_booking_reuses_the_partner_of_the_address(self):
        ada = self.partners.create({"name": "Ada L.", "email": "Ada@Example.com"})
        meeting = self.book(subject="Roadmap review")
        self.assertEqual(meeting.partner_id, ada, "found by normalized e-mail")
        self.assertEqual(meeting.subject, "Roadmap review", "the guest's subject")

    def test_booking_waits_for_the_host_when_the_link_asks_for_confirmation(self):
        self.link.requires_confirmation = True
        meeting = self.book()
        self.assertEqual(meeting.state, "draft", "left for the host to confirm")
        self.assertEqual(
            meeting.activity_ids.user_id, self.host, "the host has a to-do"
        )
        self.assertEqual(
            self.grid_reasons()["2031-06-10 10:00:00"], "busy", "the draft holds"
        )

    def test_a_taken_slot_is_refused_and_creates_nothing(self):
        self.book()
        partner_count = self.partners.search_count([])
        meeting_count = self.meetings.search_count([])
        with self.assertRaises(BookingError) as caught:
            self.book(emails=["eve@example.com"])
        self.assertEqual(caught.exception.status, 409, "slot taken")
        self.assertEqual(self.partners.search_count([]), partner_count, "no partner")
        self.assertEqual(self.meetings.search_count([]), meeting_count, "no meeting")

    def test_times_the_link_does_not_offer_are_refused(self):
        for label, local_start in (
            ("not on the step", datetime(2031, 6, 10, 10, 15)),
            ("outside the window", datetime(2031, 6, 10, 18, 0)),
            ("a day off", datetime(2031, 6, 14, 10, 0)),
            ("past the horizon", datetime(2031, 6, 17, 10, 0)),
            ("already started", datetime(2031, 6, 9, 9, 0)),
        ):
            with self.subTest(label), self.assertRaises(BookingError) as caught:
                self.link._book_slot(local_start, "Ada", ["ada@example.com"], now=NOW)
            self.assertEqual(caught.exception.status, 410, label)
        self.assertFalse(self.link.meeting_event_ids, "nothing booked")

    def test_the_database_refuses_a_slot_taken_after_the_check(self):
        # What a second worker meets: the slot looked free, then another
        # booking committed first. The write is refused, not doubled.
        state = self.link._get_slot_state(datetime(2031, 6, 10, 10), NOW)
        self.assertTrue(state.free)
        self.create_meeting(
            start_date=self.berlin(10, 10), end_date=self.berlin(10, 11)
        )
        guest = self.partners.create({"name": "Eve", "email": "eve@example.com"})
        with self.assertRaises(ValidationError):
            self.link.sudo()._create_booked_meeting(state, guest, [], "", "", None)

    def test_booking_a_slot_the_host_attends_elsewhere_is_refused(self):
        self.create_meeting(
            user=self.colleague,
            start_date=self.berlin(10, 10),
            end_date=self.berlin(10, 11),
            attendee=[(6, 0, [self.host.id])],
        ).action_confirm()
        partners_before = self.partners.search_count([])
        with self.assertRaises(BookingError) as caught:
            self.book(hour=10)
        self.assertEqual(caught.exception.status, 409, "the host is busy")
        self.assertFalse(self.link.meeting_event_ids, "nothing booked")
        self.assertEqual(self.partners.search_count([]), partners_before)

    def test_rate_limits_count_the_last_hour_per_address_and_per_link(self):
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("meeting_rooms.booking_rate_limit_per_email", 1)
        self.book(hour=10)
        with self.assertRaises(BookingError) as caught:
            self.book(hour=11, emails=["someone@example.com", "ada@example.com"])
        self.assertEqual(caught.exception.status, 429, "same address again")

        params.set_param("meeting_rooms.booking_rate_limit_per_link", 1)
        with self.assertRaises(BookingError) as caught:
            self.book(hour=11, emails=["bob@example.com"])
        self.assertEqual(caught.exception.status, 429, "the link's hourly limit")
        self.assertEqual(len(self.link.meeting_event_ids), 1, "one booking only")
