from odoo import fields, models

from odoo.addons.base.models.res_partner import _tz_get


class RoomLocation(models.Model):
    """A physical room that meetings can book."""

    _name = "room.location"
    _description = "Meeting Room"
    _inherit = ["mail.thread"]
    _order = "sequence, name, id"

    name = fields.Char(required=True, translate=True, tracking=True)
    active = fields.Boolean(default=True, tracking=True)
    sequence = fields.Integer(default=10)
    tz = fields.Selection(
        _tz_get,
        string="Timezone",
        required=True,
        default=lambda self: self.env.user.tz or "UTC",
        help="Local time of the room: meeting times are shown in it.",
    )
    capacity = fields.Integer(help="How many people the room seats.")
    address = fields.Char(help="Where the room is, as guests should read it.")
    description = fields.Text()
    company_id = fields.Many2one(
        "res.company",
        default=lambda self: self.env.company,
        index=True,
        help="Leave empty to share the room between companies.",
    )
    color = fields.Integer()
    booking_ids = fields.One2many(
        "meeting.rooms", "room_location_id", string="Bookings", readonly=True
    )

    _sql_constraints = [
        (
            "capacity_not_negative",
            "CHECK (capacity >= 0)",
            "A room's capacity cannot be negative.",
        ),
    ]

    def action_view_bookings(self):
        """Open this room's bookings in the calendar."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "meeting_rooms.meeting_rooms_action"
        )
        action["domain"] = [("room_location_id", "=", self.id)]
        action["context"] = {"default_room_location_id": self.id}
        return action
