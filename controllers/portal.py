"""Meetings in the customer portal: the list under /my and the page a guest
reaches with a meeting's access token to see, download or cancel it."""

import logging
from urllib.parse import urlencode

from werkzeug.exceptions import NotFound

from odoo import _, fields, http
from odoo.exceptions import AccessError, MissingError
from odoo.http import content_disposition, request

from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager

from .booking import (
    NOINDEX_HEADERS,
    describe_meeting,
    describe_span,
    get_locale,
    tokens_match,
)

_logger = logging.getLogger(__name__)


class MeetingRoomsPortal(CustomerPortal):
    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "meeting_count" in counters:
            values["meeting_count"] = (
                request.env["meeting.event"]
                .sudo()
                .search_count(self._my_meetings_domain())
            )
        return values

    def _my_meetings_domain(self):
        """The meetings of the logged-in user: hosted, attended, or booked as
        the guest."""
        user = request.env.user
        return [
            "|",
            "|",
            ("host_user_id", "=", user.id),
            ("attendee", "in", user.ids),
            ("partner_id", "=", user.partner_id.id),
        ]

    # -- routes ------------------------------------------------------------

    @http.route(
        ["/my/meetings", "/my/meetings/page/<int:page>"],
        type="http",
        auth="user",
        website=True,
    )
    def portal_my_meetings(self, page=1, **kwargs):
        """The logged-in user's meetings, newest first."""
        values = self._prepare_portal_layout_values()
        # Read as superuser, but only through the user's own domain: a portal
        # user has no access to the model, yet their meetings are theirs.
        meetings_sudo = request.env["meeting.event"].sudo()
        domain = self._my_meetings_domain()
        pager = portal_pager(
            url="/my/meetings",
            total=meetings_sudo.search_count(domain),
            page=page,
            step=self._items_per_page,
        )
        meetings = meetings_sudo.search(
            domain, limit=self._items_per_page, offset=pager["offset"]
        )
        tz = request.env.user.tz or "UTC"
        locale = get_locale(request.env)
        values.update(
            {
                "meetings": meetings,
                "whens": {
                    meeting.id: describe_span(
                        meeting.start_date, meeting.end_date, tz, locale
                    )
                    for meeting in meetings
                },
                "page_name": "meetings",
                "default_url": "/my/meetings",
                "pager": pager,
            }
        )
        return request.render("meeting_rooms.portal_my_meetings", values)

    @http.route(
        "/my/meetings/<int:meeting_id>",
        type="http",
        auth="public",
        website=True,
        methods=["GET"],
    )
    def portal_meeting_page(self, meeting_id, access_token=None, **kwargs):
        """One meeting, for its guest (access token) or a user who may read it."""
        meeting_sudo = self._get_meeting_or_404(meeting_id, access_token)
        values = self._prepare_meeting_page_values(meeting_sudo, access_token)
        values["notice"] = kwargs.get("notice")
        return request.render(
            "meeting_rooms.portal_meeting_page", values, headers=NOINDEX_HEADERS
        )

    @http.route(
        "/my/meetings/<int:meeting_id>/ics",
        type="http",
        auth="public",
        website=True,
        methods=["GET"],
    )
    def portal_meeting_ics(self, meeting_id, access_token=None, **kwargs):
        """The meeting's calendar file, as a download."""
        meeting_sudo = self._get_meeting_or_404(meeting_id, access_token)
        content = meeting_sudo._get_calendar_file()
        return request.make_response(
            content,
            headers=[
                ("Content-Type", "text/calendar; charset=utf-8"),
                ("Content-Length", len(content)),
                (
                    "Content-Disposition",
                    content_disposition(meeting_sudo.calendar_file_name),
                ),
            ],
        )

    @http.route(
        "/my/meetings/<int:meeting_id>/cancel",
        type="http",
        auth="public",
        website=True,
        methods=["POST"],
    )
    def portal_meeting_cancel(self, meeting_id, access_token=None, **kwargs):
        """Cancel the meeting, then show its page again with a notice."""
        meeting_sudo = self._get_meeting_or_404(meeting_id, access_token)
        if not self._may_cancel(meeting_sudo, access_token):
            raise NotFound()
        if meeting_sudo.state == "cancel":
            notice = "already_cancelled"
        elif meeting_sudo.start_date <= fields.Datetime.now():
            notice = "started"
        else:
            meeting_sudo.action_cancel()
            _logger.info("Meeting %s cancelled from its portal page", meeting_sudo.id)
            notice = "cancelled"
        query = {"notice": notice}
        if access_token:
            query["access_token"] = access_token
        return request.redirect_query(f"/my/meetings/{meeting_sudo.id}", query)

    # -- helpers -----------------------------------------------------------

    def _get_meeting_or_404(self, meeting_id, access_token):
        """The meeting as superuser when the visitor may see it: a valid
        access token (compared in constant time) or read access."""
        if access_token is not None and not (
            isinstance(access_token, str) and access_token.isascii()
        ):
            # No token of ours holds anything else, and Odoo's comparison
            # raises on it (a server error instead of a 404).
            raise NotFound()
        try:
            return self._document_check_access(
                "meeting.event", meeting_id, access_token
            )
        except (AccessError, MissingError):
            raise NotFound() from None

    def _may_cancel(self, meeting_sudo, access_token):
        """The access token's holder (the guest) may cancel; without it, only
        a user allowed to change the meeting."""
        if tokens_match(meeting_sudo.access_token, access_token):
            return True
        meeting = meeting_sudo.with_user(request.env.user)
        try:
            meeting.check_access_rights("write")
            meeting.check_access_rule("write")
        except AccessError:
            return False
        return True

    def _prepare_meeting_page_values(self, meeting_sudo, access_token):
        token_query = (
            "?" + urlencode({"access_token": access_token}) if access_token else ""
        )
        base_url = f"/my/meetings/{meeting_sudo.id}"
        values = self._prepare_portal_layout_values()
        values.update(
            {
                **describe_meeting(meeting_sudo, get_locale(request.env)),
                "page_name": "meeting",
                "access_token": access_token or "",
                "ics_url": f"{base_url}/ics{token_query}",
                "cancel_url": f"{base_url}/cancel",
                "can_cancel": meeting_sudo.state != "cancel"
                and meeting_sudo.start_date > fields.Datetime.now()
                and self._may_cancel(meeting_sudo, access_token),
                "notices": {
                    "cancelled": _("The meeting is cancelled."),
                    "already_cancelled": _("The meeting was already cancelled."),
                    "started": _(
                        "The meeting has started; it can no longer be cancelled."
                    ),
                },
            }
        )
        return values
