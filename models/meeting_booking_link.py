import secrets

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.base.models.res_partner import _tz_get

from ..tools import timeslots

WEEKDAY_FIELDS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _new_token():
    # 32 random bytes: 256 bits, far beyond guessing, URL-safe as it is.
    return secrets.token_urlsafe(32)


class MeetingBookingLink(models.Model):
    """A host's public booking page and the rules that decide its free slots."""

    _name = "meeting.booking.link"
    _description = "Booking Link"
    _order = "name, id"
    _check_company_auto = True

    name = fields.Char(required=True, default=lambda self: _("Book a meeting"))
    active = fields.Boolean(default=True)
    user_id = fields.Many2one(
        "res.users",
        string="Host",
        required=True,
        index=True,
        default=lambda self: self.env.user,
        domain=[("share", "=", False)],
        ondelete="cascade",
    )
    token = fields.Char(
        required=True,
        copy=False,
        readonly=True,
        default=lambda self: _new_token(),
        groups="base.group_user",
        help="The secret part of the public address. Regenerate it to revoke "
        "the address you shared.",
    )
    url = fields.Char(
        string="Public Address", compute="_compute_url", groups="base.group_user"
    )
    tz = fields.Selection(
        _tz_get,
        string="Timezone",
        required=True,
        default=lambda self: self.env.user.tz or "UTC",
        help="The grid and its working hours are in this timezone.",
    )
    slot_minutes = fields.Integer(
        string="Meeting Length", default=60, help="In minutes."
    )
    step_minutes = fields.Integer(
        string="Time Between Starts", default=60, help="In minutes."
    )
    hour_from = fields.Float(string="Working From", default=9.0)
    hour_to = fields.Float(
        string="Working To",
        default=17.0,
        help="A window that ends at or before its start runs past midnight.",
    )
    mon = fields.Boolean(string="Monday", default=True)
    tue = fields.Boolean(string="Tuesday", default=True)
    wed = fields.Boolean(string="Wednesday", default=True)
    thu = fields.Boolean(string="Thursday", default=True)
    fri = fields.Boolean(string="Friday", default=True)
    sat = fields.Boolean(string="Saturday", default=False)
    sun = fields.Boolean(string="Sunday", default=False)
    days_ahead = fields.Integer(
        string="Days Ahead", default=7, help="How far ahead slots are offered, today included."
    )
    min_notice_minutes = fields.Integer(
        string="Minimum Notice", default=0, help="In minutes."
    )
    room_location_ids = fields.Many2many(
        "room.location",
        "meeting_booking_link_room_location_rel",
        "booking_link_id",
        "room_location_id",
        string="Rooms",
        check_company=True,
        help="A slot is offered only while one of these rooms is free; the "
        "booking takes that room.",
    )
    requires_confirmation = fields.Boolean(
        help="Bookings wait as drafts until the host confirms them."
    )
    meeting_event_ids = fields.One2many(
        "meeting.event", "booking_link_id", string="Bookings", readonly=True
    )
    company_id = fields.Many2one(
        "res.company", index=True, default=lambda self: self.env.company
    )

    _sql_constraints = [
        ("token_unique", "UNIQUE (token)", "A booking link's token must be unique."),
    ]

    @api.constrains(
        "tz",
        "hour_from",
        "hour_to",
        "slot_minutes",
        "step_minutes",
        "days_ahead",
        "min_notice_minutes",
        *WEEKDAY_FIELDS,
    )
    def _check_rules(self):
        for link in self:
            problems = timeslots.validate_rules(
                link.tz,
                link.hour_from,
                link.hour_to,
                link.slot_minutes,
                link.step_minutes,
                link.days_ahead,
                link.min_notice_minutes,
            )
            if not link._get_weekdays():
                problems.append(_("Pick at least one working day."))
            if problems:
                raise ValidationError(
                    _(
                        "The booking link “%(name)s” cannot be saved:\n%(problems)s",
                        name=link.name,
                        problems="\n".join(f"- {p}" for p in problems),
                    )
                )

    @api.depends("token")
    def _compute_url(self):
        for link in self:
            link.url = f"{link.get_base_url()}/book/{link.token}" if link.token else ""

    def _get_weekdays(self):
        """Working weekdays as numbers, Monday being 0."""
        self.ensure_one()
        return [day for day, name in enumerate(WEEKDAY_FIELDS) if self[name]]

    def action_regenerate_token(self):
        """Give the link a new address; the old one stops working at once."""
        for link in self:
            link.sudo().token = _new_token()
        return True
