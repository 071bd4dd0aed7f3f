from datetime import datetime, timedelta

from odoo import fields
from odoo.tests import TransactionCase, new_test_user


class MeetingRoomsCase(TransactionCase):
    """Shared records: two employees, an administrator, a portal user, rooms."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.host = new_test_user(
            cls.env,
            "mr_host",
            groups="base.group_user",
            tz="Europe/Berlin",
            email="host@example.com",
        )
        cls.colleague = new_test_user(
            cls.env,
            "mr_colleague",
            groups="base.group_user",
            tz="America/New_York",
            email="colleague@example.com",
        )
        cls.manager = new_test_user(
            cls.env,
            "mr_manager",
            groups="base.group_user,meeting_rooms.meeting_rooms_group_manager",
            email="manager@example.com",
        )
        cls.portal_user = new_test_user(
            cls.env, "mr_portal", groups="base.group_portal", email="portal@example.com"
        )
        cls.room_berlin = cls.env["room.location"].create(
            {"name": "Spree", "tz": "Europe/Berlin", "capacity": 6}
        )
        cls.room_tokyo = cls.env["room.location"].create(
            {"name": "Sakura", "tz": "Asia/Tokyo", "capacity": 4}
        )
        # A fixed day far from any DST change keeps the times easy to read.
        cls.day = datetime(2031, 6, 10)

    @classmethod
    def at(cls, hour, minute=0):
        """A UTC instant on the test day."""
        return cls.day + timedelta(hours=hour, minutes=minute)

    @classmethod
    def create_meeting(cls, user=None, **values):
        """Create a meeting as ``user`` (the host by default), 10:00-11:00 UTC."""
        user = user or cls.host
        values = {
            "subject": "Planning",
            "host_user_id": user.id,
            "start_date": cls.at(10),
            "end_date": cls.at(11),
            **values,
        }
        return cls.env["meeting.event"].with_user(user).create(values)


def create_open_link(env, host, **values):
    """A booking link of ``host`` open around the clock in UTC, every day and
    two weeks ahead, so that tests on the real clock always find free slots."""
    return env["meeting.booking.link"].create(
        {
            "name": "Always open",
            "user_id": host.id,
            "tz": "UTC",
            "hour_from": 0.0,
            "hour_to": 0.0,
            "sat": True,
            "sun": True,
            "days_ahead": 14,
            **values,
        }
    )


def free_slots(link, days=2):
    """The free slots of ``link``'s grid now, from ``days`` days on."""
    after = fields.Datetime.now() + timedelta(days=days)
    return [
        state.slot
        for day in link._get_slot_grid()["days"]
        for state in day["states"]
        if state.free and state.slot.start >= after
    ]
