import logging
import uuid

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from odoo.addons.base.models.res_partner import _tz_get

from .attendee_schedule import install_attendee_schedule
from .overlap import (
    ensure_btree_gist,
    lock_schedules,
    overlap_domain,
    planned_value,
    translate_refusals,
)

_logger = logging.getLogger(__name__)

HOST_OVERLAP_CONSTRAINT = "meeting_event_host_no_overlap"
END_AFTER_START_CONSTRAINT = "meeting_event_end_after_start"
SCHEDULE_FIELDS = ("host_user_id", "start_date", "end_date", "state")
# Changing any of these moves the meeting in the participants' calendars, so the
# invitation's SEQUENCE (our ``version``) must go up for clients to take it.
RESCHEDULE_FIELDS = ("start_date", "end_date", "room_location_ids", "virtual_room_id")
ROOM_BOOKING_FIELDS = ("start_date", "end_date", "room_location_ids", "state")


class MeetingEvent(models.Model):
    """A meeting: who hosts it, who attends, when, and in which rooms."""

    _name = "meeting.event"
    _description = "Meeting"
    _inherit = ["portal.mixin", "mail.thread", "mail.activity.mixin"]
    _order = "start_date desc, id desc"
    _rec_name = "subject"
    _check_company_auto = True

    subject = fields.Char(required=True, tracking=True)
    host_user_id = fields.Many2one(
        "res.users",
        string="Host",
        required=True,
        index=True,
        tracking=True,
        default=lambda self: self.env.user,
        domain=[("share", "=", False)],
    )
    attendee = fields.Many2many(
        "res.users",
        "meeting_event_attendee_rel",
        "meeting_event_id",
        "user_id",
        string="Attendees",
        domain=[("share", "=", False)],
    )
    room_location_ids = fields.Many2many(
        "room.location",
        "meeting_event_room_location_rel",
        "meeting_event_id",
        "room_location_id",
        string="Rooms",
        check_company=True,
    )
    virtual_room_id = fields.Many2one("virtual.room", tracking=True, check_company=True)
    start_date = fields.Datetime(
        string="Start", required=True, index=True, tracking=True
    )
    end_date = fields.Datetime(string="End", required=True, index=True, tracking=True)
    duration = fields.Float(compute="_compute_duration", help="Length in hours.")
    state = fields.Selection(
        [("draft", "Draft"), ("confirm", "Confirmed"), ("cancel", "Cancelled")],
        required=True,
        default="draft",
        index=True,
        tracking=True,
        copy=False,
    )
    description = fields.Text()
    alarm_id = fields.Many2one(
        "calendar.alarm",
        string="Reminder",
        domain=[("alarm_type", "=", "notification")],
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Guest",
        index="btree_not_null",
        tracking=True,
        help="The outside guest who booked or is invited to the meeting.",
    )
    guest_emails = fields.Char(
        string="Other Guest E-mails",
        help="More addresses to invite, separated by commas.",
    )
    guest_tz = fields.Selection(
        _tz_get,
        string="Guest Timezone",
        help="Times in the guest's mails are shown in this timezone.",
    )
    version = fields.Integer(
        default=0,
        readonly=True,
        copy=False,
        help="Raised on every reschedule or cancellation, so calendar clients "
        "replace the event they already have.",
    )
    ics_uid = fields.Char(
        string="Calendar UID",
        readonly=True,
        copy=False,
        default=lambda self: f"{uuid.uuid4()}@meeting-rooms",
        help="Identifies the meeting in every calendar for its whole life.",
    )
    calendar_file = fields.Binary(attachment=True, copy=False, readonly=True)
    calendar_file_name = fields.Char(compute="_compute_calendar_file_name")
    meeting_room_ids = fields.One2many(
        "meeting.rooms", "meeting_event_id", string="Room Bookings", readonly=True
    )
    booking_link_id = fields.Many2one(
        "meeting.booking.link",
        string="Booked Through",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    color = fields.Integer(related="host_user_id.color")

    _sql_constraints = [
        (
            "end_after_start",
            "CHECK (end_date > start_date)",
            "A meeting must end after it starts.",
        ),
        (
            "host_no_overlap",
            "EXCLUDE USING gist (host_user_id WITH =, "
            "tsrange(start_date, end_date, '[)') WITH &&) "
            "WHERE (state != 'cancel')",
            "The host already has a meeting at that time.",
        ),
    ]

    def _auto_init(self):
        ensure_btree_gist(self.env.cr)
        return super()._auto_init()

    def init(self):
        res = super().init()
        install_attendee_schedule(self.env.cr)
        return res

    @api.depends("start_date", "end_date")
    def _compute_duration(self):
        for meeting in self:
            if meeting.start_date and meeting.end_date:
                delta = meeting.end_date - meeting.start_date
                meeting.duration = delta.total_seconds() / 3600
            else:
                meeting.duration = 0.0

    @api.depends("subject")
    def _compute_calendar_file_name(self):
        for meeting in self:
            meeting.calendar_file_name = f"meeting-{meeting.id or 'new'}.ics"

    def _compute_access_url(self):
        result = super()._compute_access_url()
        for meeting in self:
            meeting.access_url = f"/my/meetings/{meeting.id}"
        return result

    @api.model_create_multi
    def create(self, vals_list):
        defaults = self.default_get(["host_user_id", "state"])
        for vals in vals_list:
            self.browse()._check_schedule({**defaults, **vals})
        host_ids = {
            vals.get("host_user_id") or defaults.get("host_user_id")
            for vals in vals_list
        }
        hosts = self.env["res.users"].browse(host_ids)
        lock_schedules(self.env.cr, host_ids=hosts.ids)
        with translate_refusals(self.env.cr, self._refusal_messages(hosts)):
            meetings = super().create(vals_list)
        meetings._sync_room_bookings()
        return meetings

    def write(self, vals):
        if any(name in vals for name in SCHEDULE_FIELDS):
            for meeting in self:
                meeting._check_schedule(vals)
        if any(name in vals for name in RESCHEDULE_FIELDS):
            for meeting in self:
                if meeting._is_rescheduled_by(vals):
                    super(MeetingEvent, meeting).write({"version": meeting.version + 1})
        if any(name in vals for name in SCHEDULE_FIELDS):
            host_ids = set(self.host_user_id.ids)
            if vals.get("host_user_id"):
                host_ids = {vals["host_user_id"]}
            lock_schedules(self.env.cr, host_ids=host_ids)
        with translate_refusals(self.env.cr, self._refusal_messages(self.host_user_id)):
            result = super().write(vals)
        if any(name in vals for name in ROOM_BOOKING_FIELDS):
            self._sync_room_bookings()
        return result

    def action_confirm(self):
        """Confirm draft meetings once every participant is free."""
        for meeting in self:
            if meeting.state != "draft":
                raise UserError(
                    _(
                        "Only a draft meeting can be confirmed; “%(subject)s” is "
                        "%(state)s.",
                        subject=meeting.subject,
                        state=meeting._state_label(),
                    )
                )
            busy = meeting._get_busy_participants()
            if busy:
                raise UserError(
                    _(
                        "“%(subject)s” cannot be confirmed: %(people)s already "
                        "in another confirmed meeting at that time.",
                        subject=meeting.subject,
                        people=", ".join(busy.mapped("name")),
                    )
                )
        self.write({"state": "confirm"})
        return True

    def action_cancel(self):
        """Cancel meetings and free their rooms; calendars get a cancellation."""
        to_cancel = self.filtered(lambda m: m.state != "cancel")
        for meeting in to_cancel:
            meeting.write({"state": "cancel", "version": meeting.version + 1})
        return True

    def action_draft(self):
        """Bring cancelled meetings back as drafts, holding their slot again."""
        for meeting in self:
            if meeting.state != "cancel":
                raise UserError(_("Only a cancelled meeting can be reset to draft."))
            meeting.write({"state": "draft", "version": meeting.version + 1})
        return True

    def _state_label(self):
        self.ensure_one()
        return dict(self._fields["state"]._description_selection(self.env))[self.state]

    def _is_rescheduled_by(self, vals):
        """Whether ``vals`` really moves this meeting in time or place."""
        self.ensure_one()
        for name in RESCHEDULE_FIELDS:
            if name not in vals:
                continue
            field = self._fields[name]
            new_value = self.new({name: vals[name]})[name]
            if field.type == "many2many":
                if set(new_value.ids) != set(self[name].ids):
                    return True
            elif new_value != self[name]:
                return True
        return False

    def _get_busy_participants(self):
        """The host and attendees who are in another confirmed meeting that
        overlaps this one."""
        self.ensure_one()
        people = self.attendee | self.host_user_id
        # Other meetings may be in companies or records the current user cannot
        # read; only the busy people's names are revealed, not the meetings.
        others = self.sudo().search(
            [
                ("id", "!=", self.id),
                ("state", "=", "confirm"),
                ("start_date", "<", self.end_date),
                ("end_date", ">", self.start_date),
                "|",
                ("attendee", "in", people.ids),
                ("host_user_id", "in", people.ids),
            ]
        )
        return people & (others.attendee | others.host_user_id)

    def _check_schedule(self, vals):
        """Refuse values that would make this meeting (a new one when ``self``
        is empty) end before it starts, or overlap another live meeting of its
        host. Checked before writing, so the database constraints only ever
        refuse what two transactions race for."""
        start = planned_value(self, vals, "start_date")
        end = planned_value(self, vals, "end_date")
        if not (start and end):
            return  # required fields report themselves
        if end <= start:
            raise ValidationError(self._dates_message(vals.get("subject")))
        host_id = planned_value(self, vals, "host_user_id")
        if not host_id or planned_value(self, vals, "state") == "cancel":
            return
        domain = overlap_domain("host_user_id", host_id, start, end, self.ids)
        if self.sudo().search_count(domain, limit=1):
            hosts = self.env["res.users"].browse(host_id)
            raise ValidationError(self._host_busy_message(hosts))

    def _refusal_messages(self, hosts):
        return {
            HOST_OVERLAP_CONSTRAINT: lambda: self._host_busy_message(hosts),
            END_AFTER_START_CONSTRAINT: lambda: self._dates_message(),
        }

    def _dates_message(self, subject=None):
        return _(
            "The meeting “%(subject)s” must end after it starts.",
            subject=subject or ", ".join(self.mapped("subject")),
        )

    def _host_busy_message(self, hosts):
        return _(
            "%(host)s already has a meeting at that time. Pick another time or "
            "cancel the other meeting first.",
            host=", ".join(hosts.sudo().mapped("name")),
        )

    def _prepare_room_booking_values(self):
        self.ensure_one()
        return {
            "start_date": self.start_date,
            "end_date": self.end_date,
            "state": self.state,
            "company_id": self.company_id.id,
        }

    def _sync_room_bookings(self):
        """Keep one ``meeting.rooms`` booking per room of each meeting, at the
        meeting's time and state.

        The bookings are derived data of a meeting the user was allowed to
        change, so they are written as superuser.
        """
        bookings_model = self.env["meeting.rooms"].sudo()
        to_create = []
        for meeting in self:
            existing = meeting.sudo().meeting_room_ids
            dropped = existing.filtered(
                lambda b, m=meeting: b.room_location_id not in m.room_location_ids
            )
            dropped.unlink()
            values = meeting._prepare_room_booking_values()
            for booking in existing - dropped:
                current = booking._get_schedule_values()
                changes = {k: v for k, v in values.items() if current[k] != v}
                if changes:
                    booking.write(changes)
            booked_rooms = (existing - dropped).room_location_id
            for room in meeting.room_location_ids - booked_rooms:
                to_create.append(
                    dict(values, meeting_event_id=meeting.id, room_location_id=room.id)
                )
        if to_create:
            bookings_model.create(to_create)
