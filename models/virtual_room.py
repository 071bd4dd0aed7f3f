from odoo import fields, models


class VirtualRoom(models.Model):
    """An online meeting place with a static join link."""

    _name = "virtual.room"
    _description = "Virtual Meeting Room"
    _order = "name, id"

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    provider = fields.Selection(
        [
            ("teams", "Microsoft Teams"),
            ("meet", "Google Meet"),
            ("zoom", "Zoom"),
            ("jitsi", "Jitsi Meet"),
            ("other", "Other"),
        ],
        required=True,
        default="other",
    )
    url = fields.Char(
        string="Join Link",
        required=True,
        help="The address participants open to join; it goes into invitations.",
    )
    # Host keys and dial-in PINs let anyone take over the meeting: only system
    # administrators may read them, never the participants.
    host_key = fields.Char(groups="base.group_system", copy=False)
    dial_in_pin = fields.Char(groups="base.group_system", copy=False)
    company_id = fields.Many2one(
        "res.company", default=lambda self: self.env.company, index=True
    )

    _sql_constraints = [
        (
            "url_is_web_address",
            "CHECK (url ~* '^https?://')",
            "The join link must start with http:// or https://.",
        ),
    ]
