from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from .overlap import (
    ensure_btree_gist,
    lock_schedules,
    overlap_domain,
    planned_value,
    translate_refusals,
)

ROOM_OVERLAP_CONSTRAINT = "meeting_rooms_room_no_overlap"
SCHEDULE_FIELDS = ("room_location_id", "start_date", "end_date", "state")


class MeetingRooms(models.Model):
    """One room booked for one meeting; it follows its meeting's time and state."""

    _name = "meeting.rooms"
    _description = "Room Booking"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "start_date desc, id desc"
    _check_company_auto = True

    meeting_event_id = fields.Many2one(
        "meeting.event",
        string="Meeting",
        required=True,
        index=True,
        ondelete="cascade",
    )
    room_location_id = fields.Many2one(
        "room.location",
        string="Room",
        required=True,
        index=True,
        ondelete="restrict",
        tracking=True,
        check_company=True,
    )
    start_date = fields.Datetime(
        string="Start", required=True, index=True, tracking=True
    )
    end_date = fields.Datetime(string="End", required=True, index=True, tracking=True)
    state = fields.Selection(
        [("draft", "Draft"), ("confirm", "Confirmed"), ("cancel", "Cancelled")],
        required=True,
        default="draft",
        index=True,
        tracking=True,
    )
    calendar_file = fields.Binary(attachment=True, copy=False, readonly=True)
    subject = fields.Char(related="meeting_event_id.subject")
    host_user_id = fields.Many2one(related="meeting_event_id.host_user_id")
    room_tz = fields.Selection(related="room_location_id.tz", string="Room Timezone")
    duration = fields.Float(
        compute="_compute_duration",
        store=True,
        group_operator="sum",
        help="Hours booked, for the utilisation reports.",
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )

    _sql_constraints = [
        (
            "end_after_start",
            "CHECK (end_date > start_date)",
            "A room booking must end after it starts.",
        ),
        (
            "room_no_overlap",
            "EXCLUDE USING gist (room_location_id WITH =, "
            "tsrange(start_date, end_date, '[)') WITH &&) "
            "WHERE (state != 'cancel')",
            "The room is already booked at that time.",
        ),
    ]

    def _auto_init(self):
        ensure_btree_gist(self.env.cr)
        return super()._auto_init()

    @api.depends("meeting_event_id.subject", "room_location_id.name")
    def _compute_display_name(self):
        for booking in self:
            booking.display_name = _(
                "%(room)s: %(subject)s",
                room=booking.room_location_id.name or "",
                subject=booking.meeting_event_id.subject or "",
            )

    @api.depends("start_date", "end_date")
    def _compute_duration(self):
        for booking in self:
            if booking.start_date and booking.end_date:
                delta = booking.end_date - booking.start_date
                booking.duration = delta.total_seconds() / 3600
            else:
                booking.duration = 0.0

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self.browse()._check_room_free(vals)
        room_ids = {vals.get("room_location_id") for vals in vals_list}
        rooms = self.env["room.location"].browse(room_ids)
        lock_schedules(self.env.cr, room_ids=rooms.ids)
        with translate_refusals(self.env.cr, self._refusal_messages(rooms)):
            return super().create(vals_list)

    def write(self, vals):
        if any(name in vals for name in SCHEDULE_FIELDS):
            for booking in self:
                booking._check_room_free(vals)
        rooms = self.room_location_id
        if vals.get("room_location_id"):
            rooms = self.env["room.location"].browse(vals["room_location_id"])
        if any(name in vals for name in SCHEDULE_FIELDS):
            lock_schedules(self.env.cr, room_ids=rooms.ids)
        with translate_refusals(self.env.cr, self._refusal_messages(rooms)):
            return super().write(vals)

    def _check_room_free(self, vals):
        """Refuse values that would book a room already booked at that time
        (checked before writing; the exclusion constraint settles races)."""
        room_id = planned_value(self, vals, "room_location_id")
        start = planned_value(self, vals, "start_date")
        end = planned_value(self, vals, "end_date")
        if not (room_id and start and end):
            return
        if planned_value(self, vals, "state", "draft") == "cancel":
            return
        domain = overlap_domain("room_location_id", room_id, start, end, self.ids)
        if self.sudo().search_count(domain, limit=1):
            rooms = self.env["room.location"].browse(room_id)
            raise ValidationError(self._room_busy_message(rooms))

    def _refusal_messages(self, rooms):
        return {ROOM_OVERLAP_CONSTRAINT: lambda: self._room_busy_message(rooms)}

    def _get_schedule_values(self):
        """The values a meeting copies onto its bookings, as they are now."""
        self.ensure_one()
        return {
            "start_date": self.start_date,
            "end_date": self.end_date,
            "state": self.state,
            "company_id": self.company_id.id,
        }

    def _get_ics_method(self):
        """The iTIP method the booking's calendar file carries now."""
        self.ensure_one()
        return "CANCEL" if self.state == "cancel" else "REQUEST"

    def _get_calendar_file_name(self):
        self.ensure_one()
        return f"meeting-{self.meeting_event_id.id}-room-{self.id}.ics"

    def _build_calendar_file(self):
        """The booking's calendar file: its meeting's event, in this room."""
        self.ensure_one()
        return self.meeting_event_id._build_calendar_file(
            room=self.sudo().room_location_id, method=self._get_ics_method()
        )

    def _get_calendar_file(self):
        """The current ``.ics`` bytes of the booking, rebuilt and stored again
        when the clean-up cron has removed them."""
        self.ensure_one()
        domain = [
            ("res_model", "=", self._name),
            ("res_field", "=", "calendar_file"),
            ("res_id", "=", self.id),
        ]
        attachments = self.env["ir.attachment"].sudo()
        attachment = attachments.search(domain, limit=1)
        if not attachment.raw:
            self.env["meeting.event"]._store_calendar_files(
                {self: self._build_calendar_file()}
            )
            attachment = attachments.search(domain, limit=1)
        return attachment.raw

    def _room_busy_message(self, rooms):
        return _(
            "%(rooms)s is already booked at that time. Pick another room or "
            "another time.",
            rooms=", ".join(rooms.sudo().mapped("name")),
        )
