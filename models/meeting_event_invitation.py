import dataclasses
import logging
from datetime import timedelta

import pytz

from odoo import _, api, fields, models
from odoo.tools import (
    email_normalize,
    email_split_tuples,
    format_datetime,
    formataddr,
)

from ..tools import ics

_logger = logging.getLogger(__name__)

# What a calendar file says: changing any of these rewrites the stored files.
ICS_FIELDS = (
    "subject",
    "description",
    "start_date",
    "end_date",
    "room_location_ids",
    "virtual_room_id",
    "host_user_id",
    "attendee",
    "partner_id",
    "guest_emails",
    "state",
    "version",
    "alarm_id",
)
MAIL_TEMPLATES = {
    "invitation": "meeting_rooms.mail_template_meeting_invitation",
    "update": "meeting_rooms.mail_template_meeting_update",
    "cancellation": "meeting_rooms.mail_template_meeting_cancellation",
    "host_booking": "meeting_rooms.mail_template_meeting_host_booking",
}
ICS_MIMETYPE = "text/calendar"
# A to-do type of our own, so rebuilding the attendees' to-dos never removes a
# to-do someone else put on the meeting.
ACTIVITY_TYPE_XMLID = "meeting_rooms.mail_activity_type_meeting_todo"
STATUS_BY_STATE = {
    "draft": ics.STATUS_TENTATIVE,
    "confirm": ics.STATUS_CONFIRMED,
    "cancel": ics.STATUS_CANCELLED,
}


@dataclasses.dataclass(frozen=True)
class Recipient:
    """One person who receives the meeting's mails, and how to address them."""

    email: str  # normalized
    name: str
    partner_id: int  # 0 for a bare guest address
    tz: str
    lang: str


class MeetingEvent(models.Model):
    """Calendar files, invitation mails and attendee to-dos of a meeting."""

    _inherit = "meeting.event"  # pylint: disable=consider-merging-classes-inherited

    timezone_summary = fields.Html(
        string="Local Times",
        compute="_compute_timezone_summary",
        # Rendered by QWeb from escaped values; sanitizing would only strip the
        # table's inline styles that mail clients need.
        sanitize=False,
        help="The meeting's time in the host's timezone and in each room's.",
    )

    @api.depends(
        "start_date",
        "end_date",
        "host_user_id.tz",
        "room_location_ids.tz",
        "room_location_ids.name",
    )
    def _compute_timezone_summary(self):
        qweb = self.env["ir.qweb"]
        for meeting in self:
            rows = meeting._get_timezone_summary_rows()
            meeting.timezone_summary = (
                qweb._render(
                    "meeting_rooms.meeting_event_timezone_summary", {"rows": rows}
                )
                if rows
                else False
            )

    @api.model_create_multi
    def create(self, vals_list):
        meetings = super().create(vals_list)
        meetings._refresh_calendar_files()
        meetings._rebuild_attendee_activities()
        for meeting in meetings.filtered(lambda m: m.state == "confirm"):
            meeting._send_calendar_mail("invitation", meeting._get_recipients())
        return meetings

    def write(self, vals):
        if not any(name in vals for name in ICS_FIELDS):
            return super().write(vals)
        before = {meeting.id: meeting._get_invitation_snapshot() for meeting in self}
        result = super().write(vals)
        for meeting in self:
            snapshot = before[meeting.id]
            snapshot["withdrawn"] = meeting._raise_version_if_withdrawn(snapshot)
        self._refresh_calendar_files()
        for meeting in self:
            meeting._notify_changes(before[meeting.id])
        return result

    def _raise_version_if_withdrawn(self, before):
        """Raise the version of a confirmed meeting that lost a participant.

        The person removed gets a cancellation, and calendar clients (Outlook
        first) ignore a cancellation whose SEQUENCE is not above that of the
        invitation they hold. The others are not told: their copy, one version
        behind, stays right, and the next update outranks it anyway.

        :return: whether the version was raised for that reason
        """
        self.ensure_one()
        if not before["state"] == self.state == "confirm":
            return False
        if self.version != before["version"]:
            return False  # rescheduled by the same write: already raised
        current = {recipient.email for recipient in self._get_recipients()}
        if not set(before["recipients"]) - current:
            return False
        # Past this class, so that the bump itself sends nothing.
        super().write({"version": self.version + 1})
        return True

    def _get_invitation_snapshot(self):
        """What the participants' calendars and to-dos currently hold."""
        self.ensure_one()
        return {
            "state": self.state,
            "version": self.version,
            "recipients": {r.email: r for r in self._get_recipients()},
            "activity_key": self._get_activity_key(),
        }

    def _notify_changes(self, before):
        """Tell the participants what a write changed, given the snapshot taken
        before it: invitation, update, cancellation, and to-dos."""
        self.ensure_one()
        if before["activity_key"] != self._get_activity_key():
            self._rebuild_attendee_activities()
        recipients = self._get_recipients()
        if before["state"] != "confirm":
            if self.state == "confirm":
                self._send_calendar_mail("invitation", recipients)
            return
        if self.state == "cancel":
            self._send_calendar_mail("cancellation", recipients)
            return
        if self.state != "confirm":
            # Back to draft: the calendars keep a tentative copy until it is
            # confirmed again or cancelled.
            return
        old = before["recipients"]
        if self.version > before["version"] and not before["withdrawn"]:
            self._send_calendar_mail("update", recipients)
        else:
            added = [r for r in recipients if r.email not in old]
            self._send_calendar_mail("invitation", added)
        current = {r.email for r in recipients}
        removed = [r for email, r in old.items() if email not in current]
        self._send_calendar_mail("cancellation", removed)

    # ------------------------------------------------------------------
    # Participants
    # ------------------------------------------------------------------

    def _get_recipients(self):
        """Everyone invited besides the host, each address once: internal
        attendees, the guest partner, then the extra guest addresses.

        :rtype: list[Recipient]
        """
        self.ensure_one()
        meeting = self.sudo()
        host = meeting.host_user_id
        host_tz = host.tz or "UTC"
        host_lang = host.lang or self.env.lang or "en_US"
        guest_tz = meeting.guest_tz
        candidates = [
            (user.partner_id, user.email, user.name, user.tz, user.lang)
            for user in meeting.attendee
        ]
        guest = meeting.partner_id
        if guest:
            candidates.append(
                (guest, guest.email, guest.name, guest_tz or guest.tz, guest.lang)
            )
        for name, email in email_split_tuples(meeting.guest_emails or ""):
            candidates.append((None, email, name, guest_tz, guest.lang))

        seen = {email_normalize(host.email or "")} - {False}
        recipients = []
        for partner, raw_email, name, tz, lang in candidates:
            email = ics.normalize_email(email_normalize(raw_email or "") or "")
            if not email:
                if raw_email:
                    _logger.debug(
                        "Meeting %s: skipped a participant address that is not valid",
                        self.id,
                    )
                continue
            if email in seen:
                continue
            seen.add(email)
            recipients.append(
                Recipient(
                    email=email,
                    name=name or "",
                    partner_id=partner.id if partner else 0,
                    tz=tz or host_tz,
                    lang=lang or host_lang,
                )
            )
        return recipients

    def _get_activity_key(self):
        """What the attendees' to-dos depend on: time, rooms, attendees and
        whether the meeting still takes place."""
        self.ensure_one()
        return (
            self.start_date,
            self.end_date,
            frozenset(self.room_location_ids.ids),
            frozenset(self.attendee.ids),
            self.state == "cancel",
        )

    # ------------------------------------------------------------------
    # Calendar files
    # ------------------------------------------------------------------

    def _get_ics_method(self):
        """The iTIP method the meeting's calendar file carries now."""
        self.ensure_one()
        return ics.METHOD_CANCEL if self.state == "cancel" else ics.METHOD_REQUEST

    def _prepare_ics_event(self, room=None):
        """The meeting as plain data for :func:`ics.build_calendar`; with a
        ``room``, the same event placed in that room only (a room booking).

        :rtype: ics.IcsEvent
        """
        self.ensure_one()
        meeting = self.sudo()
        host = meeting.host_user_id
        organizer = ics.Person(host.email, host.name) if host.email else None
        rooms = room or meeting.room_location_ids
        places = [
            ", ".join(part for part in (r.name, r.address) if part) for r in rooms
        ]
        join_url = meeting.virtual_room_id.url or ""
        if join_url:
            places.append(join_url)
        description = meeting.description or ""
        if join_url:
            join_line = _("Join online: %(url)s", url=join_url)
            description = f"{description}\n\n{join_line}" if description else join_line
        return ics.IcsEvent(
            uid=meeting.ics_uid,
            sequence=meeting.version,
            start=meeting.start_date,
            end=meeting.end_date,
            summary=meeting.subject,
            organizer=organizer,
            attendees=[ics.Person(r.email, r.name) for r in meeting._get_recipients()],
            tz=(room.tz if room else host.tz) or "UTC",
            description=description,
            location="; ".join(places),
            url=join_url,
            alarm_minutes=meeting.alarm_id.duration_minutes or None,
            status=STATUS_BY_STATE.get(meeting.state, ics.STATUS_CONFIRMED),
        )

    def _build_calendar_file(self, room=None, method=None):
        """The bytes of the meeting's calendar file (see
        :meth:`_prepare_ics_event` for ``room``)."""
        self.ensure_one()
        return ics.build_calendar(
            self._prepare_ics_event(room=room),
            method=method or self._get_ics_method(),
        )

    def _refresh_calendar_files(self):
        """Rebuild and store the calendar files of these meetings and of their
        room bookings."""
        if not self:
            return
        self._store_calendar_files(
            {meeting: meeting._build_calendar_file() for meeting in self}
        )
        bookings = self.sudo().meeting_room_ids
        if bookings:
            self._store_calendar_files(
                {booking: booking._build_calendar_file() for booking in bookings}
            )

    @api.model
    def _store_calendar_files(self, contents):
        """Store ``{record: ics bytes}`` as the records' ``calendar_file``.

        The attachment is replaced rather than updated, so its creation date
        (which the clean-up cron goes by) is the date of the file it holds,
        and it gets a name and type a calendar client understands.
        """
        first = next(iter(contents))
        records = first.browse([record.id for record in contents])
        attachments = self.env["ir.attachment"].sudo()
        attachments.search(
            [
                ("res_model", "=", records._name),
                ("res_field", "=", "calendar_file"),
                ("res_id", "in", records.ids),
            ]
        ).unlink()
        attachments.create(
            [
                {
                    "name": record._get_calendar_file_name(),
                    "res_model": record._name,
                    "res_field": "calendar_file",
                    "res_id": record.id,
                    "raw": data,
                    "mimetype": ICS_MIMETYPE,
                    "public": False,
                }
                for record, data in contents.items()
            ]
        )
        records.invalidate_recordset(["calendar_file"])

    def _get_calendar_file_name(self):
        self.ensure_one()
        return f"meeting-{self.id}.ics"

    def _get_calendar_attachment(self):
        """The attachment holding the stored calendar file, if any is left."""
        self.ensure_one()
        return (
            self.env["ir.attachment"]
            .sudo()
            .search(
                [
                    ("res_model", "=", self._name),
                    ("res_field", "=", "calendar_file"),
                    ("res_id", "=", self.id),
                ],
                limit=1,
            )
        )

    def _get_calendar_file(self):
        """The current ``.ics`` bytes of the meeting, rebuilt and stored again
        when the clean-up cron has removed them."""
        self.ensure_one()
        attachment = self._get_calendar_attachment()
        if not attachment.raw:
            self._store_calendar_files({self: self._build_calendar_file()})
            attachment = self._get_calendar_attachment()
        return attachment.raw

    # ------------------------------------------------------------------
    # Mails
    # ------------------------------------------------------------------

    def _send_calendar_mail(self, kind, recipients):
        """Queue the ``kind`` mail (see ``MAIL_TEMPLATES``) to each of
        ``recipients``, each rendered in that person's timezone and language,
        with the calendar file attached.

        :return: the queued ``mail.mail`` records
        """
        self.ensure_one()
        mails = self.env["mail.mail"].sudo()
        if not recipients or self.env.context.get("install_mode"):
            return mails
        method = ics.METHOD_CANCEL if kind == "cancellation" else ics.METHOD_REQUEST
        event = self._prepare_ics_event()
        if kind == "cancellation":
            # Whoever was just removed is not in the meeting any more but must
            # be in the cancellation, or their client ignores it.
            people = {p.email: p for p in event.attendees}
            for recipient in recipients:
                people.setdefault(
                    recipient.email, ics.Person(recipient.email, recipient.name)
                )
            event = dataclasses.replace(event, attendees=list(people.values()))
        template = self.env.ref(MAIL_TEMPLATES[kind], raise_if_not_found=False)
        if not template:
            _logger.warning(
                "Meeting %s: no %s mail template, nothing sent", self.id, kind
            )
            return mails
        template = template.sudo()
        if not event.organizer:
            # Clients file such an invitation as a plain event: replies and
            # updates cannot be matched to an organizer.
            _logger.warning(
                "Meeting %s: the host has no e-mail, invitations have no organizer",
                self.id,
            )
        attachment = self._create_mail_calendar_attachment(
            ics.build_calendar(event, method=method), method
        )
        for recipient in recipients:
            values = {"attachment_ids": [(4, attachment.id)]}
            if recipient.partner_id:
                values["recipient_ids"] = [(4, recipient.partner_id)]
            else:
                values["email_to"] = formataddr((recipient.name, recipient.email))
            mail_id = template.with_context(
                lang=recipient.lang,
                tz=recipient.tz,
                recipient_name=recipient.name,
                recipient_is_guest=not self._is_internal_partner(recipient),
            ).send_mail(
                self.id,
                force_send=False,
                email_values=values,
                email_layout_xmlid="mail.mail_notification_light",
            )
            mails |= mails.browse(mail_id)
        _logger.info(
            "Meeting %s: queued %s %s mail(s), sequence %s",
            self.id,
            len(mails),
            kind,
            self.version,
        )
        return mails

    def _is_internal_partner(self, recipient):
        if not recipient.partner_id:
            return False
        users = self.env["res.partner"].sudo().browse(recipient.partner_id).user_ids
        return any(not user.share for user in users)

    def _create_mail_calendar_attachment(self, data, method):
        """An ``.ics`` attachment for mails, owned by the meeting so the
        clean-up cron finds it, and never public."""
        self.ensure_one()
        return (
            self.env["ir.attachment"]
            .sudo()
            .create(
                {
                    "name": self._get_calendar_file_name(),
                    "res_model": self._name,
                    "res_id": self.id,
                    "raw": data,
                    # The method parameter makes mail clients offer to add,
                    # update or remove the event instead of showing a file.
                    "mimetype": f"{ICS_MIMETYPE}; method={method}",
                    "public": False,
                }
            )
        )

    def _notify_host_of_booking(self):
        """Queue a mail telling the host about a booking made through their
        booking page, with the calendar file.

        :return: the queued ``mail.mail`` records
        """
        self.ensure_one()
        host = self.sudo().host_user_id
        email = email_normalize(host.email or "")
        if not email:
            _logger.info("Meeting %s: the host has no e-mail to notify", self.id)
            return self.env["mail.mail"].sudo()
        recipient = Recipient(
            email=email,
            name=host.name,
            partner_id=host.partner_id.id,
            tz=host.tz or "UTC",
            lang=host.lang or "en_US",
        )
        return self._send_calendar_mail("host_booking", [recipient])

    # ------------------------------------------------------------------
    # Activities
    # ------------------------------------------------------------------

    def _rebuild_attendee_activities(self):
        """Give each internal attendee one to-do on the meeting, due on the
        meeting's date in that attendee's timezone. A cancelled meeting keeps
        no open activity at all: there is nothing left to do for it."""
        activity_type = self.env.ref(
            ACTIVITY_TYPE_XMLID, raise_if_not_found=False
        ) or self.env.ref("mail.mail_activity_data_todo")
        model_id = self.env["ir.model"]._get_id(self._name)
        to_create = []
        for meeting in self:
            meeting_sudo = meeting.sudo()
            if meeting.state == "cancel":
                meeting_sudo.activity_ids.unlink()
                continue
            # Only our own to-dos are rebuilt: other activities on the meeting
            # (say, the host's reminder to confirm a booking) stay.
            meeting_sudo.activity_ids.filtered(
                lambda a, t=activity_type: a.activity_type_id == t
            ).unlink()
            host_tz = meeting_sudo.host_user_id.tz or "UTC"
            summary = _("Meeting: %(subject)s", subject=meeting.subject)
            to_create += [
                {
                    "res_model_id": model_id,
                    "res_id": meeting.id,
                    "activity_type_id": activity_type.id,
                    "summary": summary,
                    "date_deadline": meeting._get_local_date(user.tz or host_tz),
                    "user_id": user.id,
                    "automated": True,
                }
                for user in meeting_sudo.attendee
            ]
        if to_create:
            # Derived from a change the user was allowed to make; the
            # attendees already get the invitation, so no assignment mail.
            self.env["mail.activity"].sudo().with_context(
                mail_activity_quick_update=True
            ).create(to_create)

    def _get_local_date(self, tz_name):
        """The date the meeting starts on, on the wall clock of ``tz_name``."""
        self.ensure_one()
        start = pytz.utc.localize(self.start_date)
        return start.astimezone(_get_zone(tz_name)).date()

    # ------------------------------------------------------------------
    # Timezone summary
    # ------------------------------------------------------------------

    def _get_timezone_summary_rows(self):
        """One row per timezone the meeting matters in: the host's, then each
        room's (rooms sharing a zone share a row).

        :rtype: list[dict]
        """
        self.ensure_one()
        if not (self.start_date and self.end_date):
            return []
        meeting = self.sudo()
        labels = {}
        host = meeting.host_user_id
        if host:
            labels.setdefault(host.tz or "UTC", []).append(
                _("%(host)s (host)", host=host.name)
            )
        for room in meeting.room_location_ids:
            labels.setdefault(room.tz or "UTC", []).append(room.name)
        return [
            self._prepare_timezone_row(tz_name, ", ".join(names))
            for tz_name, names in labels.items()
        ]

    def _prepare_timezone_row(self, tz_name, label):
        zone = _get_zone(tz_name)
        start = pytz.utc.localize(self.start_date).astimezone(zone)
        return {
            "label": label,
            "tz": zone.zone,
            "offset": _format_offset(start.utcoffset()),
            "start": format_datetime(self.env, self.start_date, zone.zone, "medium"),
            "end": format_datetime(self.env, self.end_date, zone.zone, "medium"),
        }


def _get_zone(tz_name):
    try:
        return pytz.timezone(tz_name or "UTC")
    except pytz.UnknownTimeZoneError:
        return pytz.utc


def _format_offset(offset):
    """``UTC+05:45`` style label of a ``timedelta`` offset."""
    minutes = int(offset / timedelta(minutes=1))
    sign = "+" if minutes >= 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"
