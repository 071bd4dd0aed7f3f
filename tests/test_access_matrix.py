"""Who may do what, as CONTRACT.md "Users" promises it: one table, asserted
whole through the ORM, through JSON-RPC with a real session and through the
portal routes."""

import re
from datetime import datetime, timedelta
from itertools import count

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import JsonRpcException
from odoo.tools import mute_logger

# "user" owns the records: hosts the meeting, owns the booking link.
# "colleague" is another internal user, acting on the user's records (and
# creating records of their own). "admin" is Meeting Rooms / Administrator.
ACCESS_TABLE = """
model                 operation  public  portal  user  colleague  admin
meeting.event         read       no      no      yes   yes        yes
meeting.event         write      no      no      yes   no         yes
meeting.event         create     no      no      yes   yes        yes
meeting.event         unlink     no      no      yes   no         yes
meeting.rooms         read       no      no      yes   yes        yes
meeting.rooms         write      no      no      no    no         yes
meeting.rooms         create     no      no      no    no         yes
meeting.rooms         unlink     no      no      no    no         yes
room.location         read       no      no      yes   yes        yes
room.location         write      no      no      no    no         yes
room.location         create     no      no      no    no         yes
room.location         unlink     no      no      no    no         yes
virtual.room          read       no      no      yes   yes        yes
virtual.room          write      no      no      no    no         yes
virtual.room          create     no      no      no    no         yes
virtual.room          unlink     no      no      no    no         yes
meeting.booking.link  read       no      no      yes   no         yes
meeting.booking.link  write      no      no      yes   no         yes
meeting.booking.link  create     no      no      yes   yes        yes
meeting.booking.link  unlink     no      no      yes   no         yes
"""
READ_FIELD = {
    "meeting.event": "subject",
    "meeting.rooms": "start_date",
    "room.location": "name",
    "virtual.room": "name",
    "meeting.booking.link": "name",
}
WRITE_VALUES = {
    "meeting.event": {"subject": "Changed"},
    "meeting.rooms": {"state": "cancel"},
    "room.location": {"capacity": 9},
    "virtual.room": {"name": "Renamed"},
    "meeting.booking.link": {"name": "Renamed"},
}
CSRF_RE = re.compile(r'csrf_token: "([^"]+)"')


def parse_table(text):
    """``{(model, operation): {actor: allowed}}`` from ``ACCESS_TABLE``."""
    header, *rows = (line.split() for line in text.strip().splitlines())
    actors = header[2:]
    return {
        (model, operation): {
            actor: answer == "yes"
            for actor, answer in zip(actors, answers, strict=True)
        }
        for model, operation, *answers in rows
    }


@tagged("post_install", "-at_install")
class TestAccessMatrix(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.table = parse_table(ACCESS_TABLE)
        cls.actors = {
            "public": cls.env.ref("base.public_user"),
            "portal": new_test_user(
                cls.env, "mr_matrix_portal", groups="base.group_portal"
            ),
            "user": new_test_user(cls.env, "mr_matrix_user", groups="base.group_user"),
            "colleague": new_test_user(
                cls.env, "mr_matrix_colleague", groups="base.group_user"
            ),
            "admin": new_test_user(
                cls.env,
                "mr_matrix_admin",
                groups="base.group_user,meeting_rooms.meeting_rooms_group_manager",
            ),
        }
        cls.owner = cls.actors["user"]
        cls.room = cls.env["room.location"].create({"name": "Matrix", "tz": "UTC"})
        cls.hours = count()

    # -- records -----------------------------------------------------------

    def next_span(self):
        """A fresh hour far in the future, so no two meetings overlap."""
        start = datetime(2031, 1, 6) + timedelta(hours=next(self.hours))
        return start, start + timedelta(hours=1)

    def new_meeting(self, host, **values):
        start, end = self.next_span()
        return (
            self.env["meeting.event"]
            .sudo()
            .create(
                {
                    "subject": "Owned",
                    "host_user_id": host.id,
                    "start_date": start,
                    "end_date": end,
                    **values,
                }
            )
        )

    def owned_record(self, model):
        """A new record of ``model`` belonging to the user."""
        if model == "meeting.event":
            return self.new_meeting(self.owner)
        if model == "meeting.rooms":
            meeting = self.new_meeting(
                self.owner, room_location_ids=[(6, 0, self.room.ids)]
            )
            return meeting.meeting_room_ids
        if model == "room.location":
            return self.env[model].create({"name": "Owned room", "tz": "UTC"})
        if model == "virtual.room":
            return self.env[model].create(
                {"name": "Owned call", "url": "https://example.com/owned"}
            )
        return self.env[model].create({"name": "Owned link", "user_id": self.owner.id})

    def create_values(self, model, actor):
        """Values of a record ``actor`` creates for themselves, as RPC sends
        them."""
        start, end = map(fields.Datetime.to_string, self.next_span())
        return {
            "meeting.event": {
                "subject": "Created",
                "host_user_id": actor.id,
                "start_date": start,
                "end_date": end,
            },
            "meeting.rooms": {
                "meeting_event_id": self.new_meeting(self.owner).id,
                "room_location_id": self.room.id,
                "start_date": start,
                "end_date": end,
            },
            "room.location": {"name": "Created room", "tz": "UTC"},
            "virtual.room": {"name": "Created", "url": "https://example.com/new"},
            "meeting.booking.link": {"name": "Created link", "user_id": actor.id},
        }[model]

    # -- the ORM -----------------------------------------------------------

    def orm_allows(self, actor, model, operation):
        """Run ``operation`` as ``actor``; whether it went through."""
        target = self.owned_record(model) if operation != "create" else None
        values = self.create_values(model, actor) if operation == "create" else None
        try:
            with self.env.cr.savepoint():
                if operation == "create":
                    self.env[model].with_user(actor).create(values)
                elif operation == "read":
                    target.with_user(actor).read([READ_FIELD[model]])
                elif operation == "write":
                    target.with_user(actor).write(WRITE_VALUES[model])
                else:
                    target.with_user(actor).unlink()
                self.env.flush_all()
        except AccessError:
            return False
        return True

    def test_orm_grants_exactly_the_contract_table(self):
        outcomes = {
            key: {
                name: self.orm_allows(actor, *key)
                for name, actor in self.actors.items()
            }
            for key in self.table
        }
        for key, expected in self.table.items():
            with self.subTest(key):
                self.assertEqual(outcomes[key], expected, f"ORM {key}")

    # -- JSON-RPC ----------------------------------------------------------

    def rpc_error(self, model, operation, actor):
        """Call ``operation`` through ``/web/dataset/call_kw`` in the current
        session; the name of the error it answers, or None."""
        if operation == "create":
            args = [self.create_values(model, actor)]
        else:
            target = self.owned_record(model)
            args = {
                "read": [target.ids, [READ_FIELD[model]]],
                "write": [target.ids, WRITE_VALUES[model]],
                "unlink": [target.ids],
            }[operation]
        params = {"model": model, "method": operation, "args": args, "kwargs": {}}
        try:
            self.make_jsonrpc_request("/web/dataset/call_kw", params)
        except JsonRpcException as error:
            return error.args[0]
        return None

    @mute_logger("odoo.http")
    def test_json_rpc_grants_exactly_the_contract_table(self):
        refusal = {
            "public": "odoo.http.SessionExpiredException",
            "portal": "odoo.exceptions.AccessError",
            "user": "odoo.exceptions.AccessError",
            "colleague": "odoo.exceptions.AccessError",
            "admin": "odoo.exceptions.AccessError",
        }
        for name, actor in self.actors.items():
            if name == "public":
                self.authenticate(None, None)
            else:
                self.authenticate(actor.login, actor.login)
            for key, expected in self.table.items():
                with self.subTest(actor=name, cell=key):
                    error = self.rpc_error(*key, actor)
                    if expected[name]:
                        self.assertIsNone(error, f"RPC {key} by {name}")
                    else:
                        self.assertEqual(
                            error, refusal[name], f"RPC {key} by {name} refused"
                        )

    # -- the routes --------------------------------------------------------

    def csrf(self):
        page = self.url_open("/my")
        return CSRF_RE.search(page.text).group(1)

    def test_routes_show_each_person_only_their_meetings(self):
        user, colleague = self.owner, self.actors["colleague"]
        portal = self.actors["portal"]
        hosted = self.new_meeting(user, subject="Hosted by user")
        attended = self.new_meeting(
            colleague, subject="User attends", attendee=[(6, 0, user.ids)]
        )
        theirs = self.new_meeting(colleague, subject="Colleague only")
        booked = self.new_meeting(
            colleague, subject="Portal booked", partner_id=portal.partner_id.id
        )
        for meeting in hosted | attended | theirs | booked:
            meeting.action_confirm()
        booked_token = booked._portal_ensure_token()
        listed = {
            "user": (hosted | attended, theirs | booked),
            "colleague": (attended | theirs | booked, hosted),
            "portal": (booked, hosted | attended | theirs),
        }
        for name, (shown, hidden) in listed.items():
            actor = self.actors[name]
            self.authenticate(actor.login, actor.login)
            page = self.url_open("/my/meetings").text
            for meeting in shown:
                with self.subTest(f"{name} lists {meeting.subject}"):
                    self.assertIn(f'data-meeting-id="{meeting.id}"', page)
            for meeting in hidden:
                with self.subTest(f"{name} does not list {meeting.subject}"):
                    self.assertNotIn(f'data-meeting-id="{meeting.id}"', page)
                    self.assertNotIn(meeting.subject, page)

        # (who, method, url, expected status)
        hosted_url = f"/my/meetings/{hosted.id}"
        routes = [
            ("public", "GET", "/my/meetings", 303),
            ("public", "GET", hosted_url, 404),
            ("portal", "GET", hosted_url, 404),
            ("portal", "GET", f"{hosted_url}?access_token={booked_token}", 404),
            ("portal", "GET", f"{hosted_url}/ics?access_token={booked_token}", 404),
            ("portal", "POST", f"{hosted_url}/cancel", 404),
            (
                "portal",
                "GET",
                f"/my/meetings/{booked.id}?access_token={booked_token}",
                200,
            ),
            ("colleague", "GET", hosted_url, 200),
            ("colleague", "GET", f"{hosted_url}/ics", 200),
            ("colleague", "POST", f"{hosted_url}/cancel", 404),
            ("admin", "POST", f"{hosted_url}/cancel", 200),
        ]
        session_of = None
        for name, method, url, status in routes:
            with self.subTest(f"{name} {method} {url}"):
                if name != session_of:
                    actor = self.actors[name]
                    if name == "public":
                        self.authenticate(None, None)
                    else:
                        self.authenticate(actor.login, actor.login)
                    session_of = name
                if method == "POST":
                    response = self.url_open(
                        url, data={"csrf_token": self.csrf()}, allow_redirects=False
                    )
                    if response.status_code == 303:
                        response = self.url_open(response.headers["Location"])
                else:
                    response = self.url_open(url, allow_redirects=False)
                self.assertEqual(response.status_code, status, f"{name} {url}")
                if status == 404:
                    self.assertNotIn(hosted.subject, response.text)
        hosted.invalidate_recordset()
        self.assertEqual(hosted.state, "cancel", "only the administrator cancelled")
