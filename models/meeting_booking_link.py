import logging
import secrets
from datetime import timedelta

from werkzeug.urls import url_join

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from odoo.http import request
from odoo.tools import SQL

from odoo.addons.base.models.res_partner import _tz_get
from odoo.addons.http_routing.models.ir_http import url_for

from ..tools import timeslots
from .overlap import quiet_sql_log

_logger = logging.getLogger(__name__)

WEEKDAY_FIELDS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
GRID_DAYS = 7
RATE_LIMIT_PARAMS = {
    "per_email": ("meeting_rooms.booking_rate_limit_per_email", 5),
    "per_link": ("meeting_rooms.booking_rate_limit_per_link", 60),
}


class BookingError(UserError):
    """A booking a guest cannot make; ``status`` is the HTTP status that tells
    the guest why (409 taken, 410 not offered, 429 too many)."""

    def __init__(self, message, status=409):
        super().__init__(message)
        self.status = status


def _new_token():
    # 32 random bytes: 256 bits, far beyond guessing, URL-safe as it is.
    return secrets.token_urlsafe(32)


class MeetingBookingLink(models.Model):
    """A host's public booking page and the rules that decide its free slots."""

    _name = "meeting.booking.link"
    # The page's title and social preview (og:title, og:description) come
    # from the link, through the website's own SEO machinery.
    _inherit = ["website.seo.metadata"]
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
        default=7,
        help="How far ahead slots are offered, today included.",
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

    @api.model
    def _get_public_link(self, token):
        """The active link of ``token`` (as superuser), or an empty recordset.

        Reads at once every field the public pages show, so that a page does
        not pay one query per group of fields.
        """
        return (
            self.sudo()
            .with_context(active_test=True)
            .search_fetch(
                [("token", "=", token)],
                [
                    field.name
                    for field in self._fields.values()
                    if field.store and field.column_type and field.prefetch
                ],
                limit=1,
            )
        )

    def _get_host_name(self):
        """The host's name, read as two one-column queries: the public pages
        need nothing else of the user or the partner."""
        self.ensure_one()
        host = self.user_id
        host.fetch(["partner_id"])
        host.partner_id.fetch(["name"])
        return host.partner_id.name

    def _default_website_meta(self):
        """What a chat or a social network shows of the address: the link's
        name and host, with the host's picture."""
        self.ensure_one()
        website = request.website
        title = f"{self.name} | {website.name}"
        description = _("Pick a time to meet %s.", self._get_host_name())
        url = url_join(
            website.domain or request.httprequest.url_root,
            url_for(request.httprequest.path),
        )
        image = f"/book/avatar/{self.token}"
        return {
            "default_opengraph": {
                "og:type": "website",
                "og:site_name": website.name,
                "og:title": title,
                "og:description": description,
                "og:url": url,
                "og:image": image,
            },
            "default_twitter": {
                "twitter:card": "summary",
                "twitter:title": title,
                "twitter:description": description,
                "twitter:image": image,
            },
            "default_meta_description": description,
        }

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

    # -- the slot grid ----------------------------------------------------

    def _get_horizon(self, now):
        """``(today, last bookable day)`` in the link's timezone at ``now``."""
        self.ensure_one()
        today = timeslots.local_today(self.tz, now)
        return today, today + timedelta(days=max(1, self.days_ahead) - 1)

    def _get_slot_grid(self, start_day=None, now=None):
        """The week of slots a guest sees, each marked free or not.

        :param start_day: first day shown (a ``date`` in the link's timezone);
            today when None, before today or past the horizon
        :param now: the current instant, naive UTC (tests freeze it)
        :returns: dict with ``days`` (seven ``{'day', 'states'}`` dicts, the
            states being ``timeslots.SlotState``), ``today``, ``last_day``
            (end of the horizon), ``previous_start`` and ``next_start`` (first
            day of the neighbouring weeks, None when they offer nothing)
        """
        self.ensure_one()
        now = now or fields.Datetime.now()
        today, last_day = self._get_horizon(now)
        if start_day is None or not today <= start_day <= last_day:
            start_day = today
        states = self._get_slot_states(start_day, GRID_DAYS, now)
        by_day = {}
        for state in states:
            by_day.setdefault(state.slot.day, []).append(state)
        days = []
        for offset in range(GRID_DAYS):
            day = start_day + timedelta(days=offset)
            days.append({"day": day, "states": by_day.get(day, [])})
        previous_start = None
        if start_day > today:
            previous_start = max(today, start_day - timedelta(days=GRID_DAYS))
        next_start = start_day + timedelta(days=GRID_DAYS)
        return {
            "days": days,
            "today": today,
            "last_day": last_day,
            "previous_start": previous_start,
            "next_start": next_start if next_start <= last_day else None,
        }

    def _get_slot_state(self, local_start, now=None):
        """The state of the slot starting at ``local_start`` (naive, link's
        timezone), or None when the link does not offer that time at all.

        Built by the same code as the grid, over the days whose window can hold
        that time (its own day and, for a window past midnight, the day before).
        """
        self.ensure_one()
        now = now or fields.Datetime.now()
        today, last_day = self._get_horizon(now)
        first = max(today, local_start.date() - timedelta(days=1))
        last = min(last_day, local_start.date())
        if first > last:
            return None
        states = self._get_slot_states(first, (last - first).days + 1, now)
        return next((s for s in states if s.slot.local_start == local_start), None)

    def _get_slot_states(self, first_day, num_days, now):
        """Every slot of ``num_days`` days from ``first_day`` that lies inside
        the horizon, marked free, busy, past or without room.

        Reads every busy interval with a single query, whatever the number of
        meetings in the database.
        """
        self.ensure_one()
        _today, last_day = self._get_horizon(now)
        num_days = min(num_days, (last_day - first_day).days + 1)
        slots = timeslots.generate_slots(
            self.tz,
            first_day,
            num_days,
            self.hour_from,
            self.hour_to,
            self._get_weekdays(),
            self.slot_minutes,
            self.step_minutes,
        )
        bounds = timeslots.query_bounds(slots)
        if bounds is None:
            return []
        host_busy, room_busy = self._read_busy_intervals(*bounds)
        return timeslots.mark_slots(
            slots,
            host_busy,
            now_utc=now,
            min_notice_minutes=self.min_notice_minutes,
            room_busy=room_busy,
        )

    def _read_busy_intervals(self, start, end):
        """Busy intervals of the host and of the link's rooms overlapping
        ``[start, end)``: ``(host intervals, {room id: intervals})``.

        The second item is None for a link without rooms; otherwise every
        active room of the link is a key, in the rooms' sequence order, the
        order in which a booking tries them. A link whose rooms are all
        archived gets an empty dict: it offers no slot rather than book
        without a room.
        """
        self.ensure_one()
        for model_name in ("meeting.event", "meeting.rooms", "room.location"):
            self.env[model_name].flush_model()
        self.flush_recordset(["room_location_ids"])
        self.env.cr.execute(self._get_busy_query(start, end))
        host_busy = []
        has_rooms = False
        room_busy = {}
        room_order = {}
        for room_id, active, sequence, busy_start, busy_end in self.env.cr.fetchall():
            if room_id is None:
                host_busy.append((busy_start, busy_end))
                continue
            has_rooms = True
            if not active:
                continue
            room_order[room_id] = (sequence or 0, room_id)
            busy = room_busy.setdefault(room_id, [])
            if busy_start is not None:
                busy.append((busy_start, busy_end))
        if not has_rooms:
            return host_busy, None
        return host_busy, {
            room_id: room_busy[room_id]
            for room_id in sorted(room_busy, key=room_order.get)
        }

    def _get_busy_query(self, start, end):
        """One statement returning ``(room_id, room_active, room_sequence,
        start, end)`` rows: room_id is NULL for the host's own time; a room of
        the link with nothing booked in the window (or archived) comes once,
        with NULL times.

        The host is busy in the meetings they host, unless cancelled, and in
        the confirmed meetings they attend (as confirming a meeting judges
        it). The hosted meetings and the rooms' bookings are filtered with the
        very expressions of their exclusion constraints, and the attendance
        with that of its busy index (see ``attendee_schedule``), so GiST
        indexes answer every part whatever the size of the tables. The link's
        rooms are read here too, so the grid needs no other query.
        """
        self.ensure_one()
        window = SQL("tsrange(%s, %s, '[)')", start, end)
        return SQL(
            """
            SELECT NULL::integer, NULL::boolean, NULL::integer,
                   event.start_date, event.end_date
              FROM meeting_event AS event
             WHERE event.host_user_id = %(host_id)s
               AND event.state != 'cancel'
               AND tsrange(event.start_date, event.end_date, '[)') && %(window)s
            UNION ALL
            SELECT NULL, NULL, NULL,
                   attendance.start_date, attendance.end_date
              FROM meeting_event_attendee_rel AS attendance
             WHERE attendance.user_id = %(host_id)s
               AND attendance.state = 'confirm'
               AND tsrange(attendance.start_date, attendance.end_date, '[)')
                   && %(window)s
            UNION ALL
            SELECT room.id, room.active, room.sequence,
                   booking.start_date, booking.end_date
              FROM meeting_booking_link_room_location_rel AS link_room
              JOIN room_location AS room ON room.id = link_room.room_location_id
              LEFT JOIN meeting_rooms AS booking
                ON room.active
               AND booking.room_location_id = room.id
               AND booking.state != 'cancel'
               AND tsrange(booking.start_date, booking.end_date, '[)')
                   && %(window)s
             WHERE link_room.booking_link_id = %(link_id)s
            """,
            host_id=self.user_id.id,
            window=window,
            link_id=self.id,
        )

    # -- booking ----------------------------------------------------------

    def _book_slot(
        self,
        local_start,
        name,
        emails,
        subject=None,
        description=None,
        guest_tz=None,
        now=None,
    ):
        """Book the slot starting at ``local_start`` for a guest.

        The caller validated the guest's input; this checks that the slot is
        offered and free right now, with the grid's own rules, and that the
        rate limits allow one more booking.

        :param local_start: naive local start in the link's timezone
        :param name: the guest's name
        :param emails: normalized, de-duplicated addresses, the guest's first
        :param guest_tz: IANA name of the guest's timezone, or None
        :returns: the new ``meeting.event`` (as superuser)
        :raises BookingError: slot not offered (410), taken (409) or rate
            limit reached (429); nothing was created then
        """
        self.ensure_one()
        link = self.sudo()
        now = now or fields.Datetime.now()
        state = link._get_slot_state(local_start, now)
        if state is None or state.reason == "past":
            raise BookingError(self._slot_not_offered_message(), status=410)
        if not state.free:
            raise BookingError(self._slot_taken_message(), status=409)
        link._check_rate_limits(emails)
        host = link.user_id
        try:
            # Partner and meeting together or not at all. A refused INSERT is
            # how a lost race ends, and Odoo would log the statement: with the
            # guest's name and addresses in it.
            with self.env.cr.savepoint(), quiet_sql_log():
                partner = link._get_guest_partner(name, emails[0], guest_tz)
                meeting = link._create_booked_meeting(
                    state, partner, emails[1:], subject, description, guest_tz
                )
        except (AccessError, MissingError):
            raise
        except UserError as error:
            # Another booking won the race: the database refused the overlap
            # (ValidationError), or the host got busy before confirming.
            _logger.info(
                "Booking link %s: slot %s refused at write time (%s)",
                link.id,
                state.slot.time_str,
                type(error).__name__,
            )
            raise BookingError(self._slot_taken_message(), status=409) from None
        if link.requires_confirmation:
            meeting.activity_schedule(
                "mail.mail_activity_data_todo",
                user_id=host.id,
                summary=_("Confirm this booked meeting"),
            )
        meeting._notify_host_of_booking()
        _logger.info(
            "Booking link %s: meeting %s booked (%s)",
            link.id,
            meeting.id,
            meeting.state,
        )
        return meeting

    def _create_booked_meeting(
        self, state, partner, other_emails, subject, description, guest_tz
    ):
        """Create the meeting of a free slot and confirm it unless the host
        confirms bookings by hand."""
        self.ensure_one()
        host = self.user_id
        company = self.company_id or host.company_id
        meeting = (
            self.env["meeting.event"]
            .sudo()
            .with_company(company)
            .create(
                {
                    "subject": subject or _("Meeting with %(name)s", name=partner.name),
                    "host_user_id": host.id,
                    "attendee": [fields.Command.set(host.ids)],
                    "partner_id": partner.id,
                    "guest_emails": ", ".join(other_emails) or False,
                    "guest_tz": guest_tz or False,
                    "description": description or False,
                    "start_date": state.slot.start,
                    "end_date": state.slot.end,
                    "booking_link_id": self.id,
                    "room_location_ids": [
                        fields.Command.set([state.room_id] if state.room_id else [])
                    ],
                    "company_id": company.id,
                }
            )
        )
        if not self.requires_confirmation:
            meeting.action_confirm()
        return meeting

    def _get_guest_partner(self, name, email, guest_tz):
        """The partner of ``email`` (normalized), created when unknown."""
        partners = self.env["res.partner"].sudo()
        partner = partners.search([("email_normalized", "=", email)], limit=1)
        if not partner:
            partner = partners.create(
                {"name": name, "email": email, "tz": guest_tz or False}
            )
        return partner

    def _check_rate_limits(self, emails):
        """Refuse a booking past the hourly limits of the guest's addresses
        and of the link (system parameters, 0 or less: no limit)."""
        self.ensure_one()
        since = self.env.cr.now() - timedelta(hours=1)
        meetings = self.env["meeting.event"].sudo().with_context(active_test=False)
        recent = [("create_date", ">=", since), ("booking_link_id", "!=", False)]
        per_email = self._get_rate_limit("per_email")
        if (
            per_email > 0
            and meetings.search_count(
                [*recent, ("partner_id.email_normalized", "in", emails)],
                limit=per_email,
            )
            >= per_email
        ):
            _logger.info("Booking link %s: per-address rate limit reached", self.id)
            raise BookingError(self._rate_limited_message(), status=429)
        per_link = self._get_rate_limit("per_link")
        if (
            per_link > 0
            and meetings.search_count(
                [*recent, ("booking_link_id", "=", self.id)], limit=per_link
            )
            >= per_link
        ):
            _logger.warning("Booking link %s: hourly rate limit reached", self.id)
            raise BookingError(self._rate_limited_message(), status=429)

    def _get_rate_limit(self, key):
        param, default = RATE_LIMIT_PARAMS[key]
        value = self.env["ir.config_parameter"].sudo().get_param(param, default)
        try:
            return int(value)
        except (TypeError, ValueError):
            return default

    def _slot_taken_message(self):
        return _("This slot was just taken. Please pick another time.")

    def _slot_not_offered_message(self):
        return _("This time is not offered on this booking page (any more).")

    def _rate_limited_message(self):
        return _(
            "Too many bookings were made in the last hour. Please try again later."
        )
