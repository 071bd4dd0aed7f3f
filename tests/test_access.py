from odoo.exceptions import AccessError
from odoo.tests import new_test_user

from .common import MeetingRoomsCase


class TestAccess(MeetingRoomsCase):
    def test_user_reads_every_meeting_but_changes_only_their_own(self):
        theirs = self.create_meeting(user=self.colleague)
        as_host = theirs.with_user(self.host)
        self.assertEqual(as_host.subject, "Planning", "meetings are visible to users")
        with self.assertRaises(AccessError):
            as_host.write({"subject": "Hijacked"})
        with self.assertRaises(AccessError):
            as_host.action_cancel()
        mine = self.create_meeting(start_date=self.at(13), end_date=self.at(14))
        mine.write({"subject": "Renamed"})
        mine.action_cancel()
        self.assertEqual(mine.state, "cancel")

    def test_creator_may_edit_a_meeting_hosted_by_someone_else(self):
        meeting = (
            self.env["meeting.event"]
            .with_user(self.host)
            .create(
                {
                    "subject": "For my colleague",
                    "host_user_id": self.colleague.id,
                    "start_date": self.at(8),
                    "end_date": self.at(9),
                }
            )
        )
        meeting.write({"subject": "Still mine to edit"})
        self.assertEqual(meeting.subject, "Still mine to edit")

    def test_administrator_changes_every_meeting(self):
        theirs = self.create_meeting(user=self.colleague)
        theirs.with_user(self.manager).write({"subject": "Moved by admin"})
        self.assertEqual(theirs.subject, "Moved by admin")

    def test_rooms_are_configured_by_administrators_only(self):
        rooms = self.env["room.location"]
        self.assertTrue(rooms.with_user(self.host).search([]), "users see rooms")
        with self.assertRaises(AccessError):
            rooms.with_user(self.host).create({"name": "Mine", "tz": "UTC"})
        with self.assertRaises(AccessError):
            self.room_berlin.with_user(self.host).write({"capacity": 99})
        room = rooms.with_user(self.manager).create({"name": "New", "tz": "UTC"})
        self.assertEqual(room.tz, "UTC")

    def test_room_bookings_are_read_only_for_users(self):
        meeting = self.create_meeting(room_location_ids=[(6, 0, [self.room_berlin.id])])
        booking = meeting.meeting_room_ids.with_user(self.host)
        self.assertEqual(booking.room_location_id, self.room_berlin)
        with self.assertRaises(AccessError):
            booking.write({"state": "cancel"})

    def test_portal_user_sees_nothing_through_rpc(self):
        meeting = self.create_meeting()
        for model in (
            "meeting.event",
            "meeting.rooms",
            "room.location",
            "virtual.room",
            "meeting.booking.link",
        ):
            with self.subTest(model=model), self.assertRaises(AccessError):
                self.env[model].with_user(self.portal_user).search([])
        with self.assertRaises(AccessError):
            meeting.with_user(self.portal_user).read(["subject"])
        with self.assertRaises(AccessError):
            self.env["meeting.event"].with_user(self.portal_user).create(
                {"subject": "x", "start_date": self.at(1), "end_date": self.at(2)}
            )

    def test_virtual_room_credentials_are_for_system_administrators(self):
        virtual = self.env["virtual.room"].create(
            {"name": "Call", "url": "https://example.com/call", "host_key": "123456"}
        )
        self.assertTrue(virtual.with_user(self.host).url)
        with self.assertRaises(AccessError):
            virtual.with_user(self.host).read(["host_key"])
        with self.assertRaises(AccessError):
            virtual.with_user(self.manager).read(["host_key"])
        admin = self.env.ref("base.user_admin")
        self.assertEqual(virtual.with_user(admin).host_key, "123456")

    def test_users_manage_only_their_own_booking_links(self):
        links = self.env["meeting.booking.link"]
        mine = links.with_user(self.host).create({"name": "Mine"})
        theirs = links.with_user(self.colleague).create({"name": "Theirs"})
        self.assertEqual(links.with_user(self.host).search([]), mine)
        with self.assertRaises(AccessError):
            theirs.with_user(self.host).write({"name": "Stolen"})
        with self.assertRaises(AccessError):
            links.with_user(self.host).create(
                {"name": "For someone else", "user_id": self.colleague.id}
            )
        self.assertIn(theirs, links.with_user(self.manager).search([]))

    def test_meetings_follow_the_allowed_companies(self):
        other_company = self.env["res.company"].create({"name": "Other Co"})
        outsider = new_test_user(
            self.env,
            "mr_outsider",
            groups="base.group_user",
            company_id=other_company.id,
            company_ids=[(6, 0, other_company.ids)],
        )
        meeting = self.create_meeting()
        self.assertFalse(
            self.env["meeting.event"]
            .with_user(outsider)
            .search([("id", "=", meeting.id)]),
            "a meeting of another company is invisible",
        )
        self.assertNotIn(
            self.room_berlin.id,
            self.env["room.location"].with_user(outsider).search([]).ids,
        )
