"""The public booking page: a host's week of slots, the booking form, the
booking itself and its confirmation."""

import functools
import logging
import re
import unicodedata
from datetime import date
from urllib.parse import quote, urlencode

import babel.dates
import pytz
from werkzeug.exceptions import BadRequest, NotFound

from odoo import _, http
from odoo.http import request
from odoo.tools import consteq, email_normalize, email_split
from odoo.tools.misc import babel_locale_parse, get_lang

from odoo.addons.http_routing.models.ir_http import url_for

from ..models.meeting_booking_link import BookingError
from ..tools import ics, timeslots

_logger = logging.getLogger(__name__)

# Tokens are URL-safe base64 (``secrets.token_urlsafe``); anything else is
# refused before it reaches the database.
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,128}")
START_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
HONEYPOT_FIELD = "website"
MAX_NAME = 100
MAX_SUBJECT = 200
MAX_DESCRIPTION = 5000
MAX_EMAILS = 10
# Longest address SMTP carries (RFC 5321 path limit minus the brackets).
MAX_EMAIL_LENGTH = 254
# Line breaks and tabs are fine in a description; no other control character.
DESCRIPTION_CONTROLS_ALLOWED = frozenset("\n\r\t")
# Every page of this addon's public routes sits behind a secret address.
NOINDEX_HEADERS = {"X-Robots-Tag": "noindex, nofollow"}


# -- the access log -----------------------------------------------------------

# Werkzeug logs every request line at INFO, query string included. On these
# routes the path or the query holds a booking link's token or a meeting's
# access token, which must never end up in a log file.
SECRET_ROUTE_PREFIXES = ("/book/", "/booking/", "/my/meetings")
SECRET_IN_URL_RE = re.compile(
    r"(?P<keep>/book/(?:avatar/)?|[?&](?:access_token|token)=)[^/?&#\s\"]+"
)


def redact_secrets(text):
    """``text`` with the tokens of this addon's URLs replaced by ``***``."""
    if not any(prefix in text for prefix in SECRET_ROUTE_PREFIXES):
        return text
    return SECRET_IN_URL_RE.sub(r"\g<keep>***", text)


class RedactTokensFilter(logging.Filter):
    """Writes werkzeug's request lines without the tokens they carry."""

    def filter(self, record):
        message = record.getMessage()
        redacted = redact_secrets(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def install_access_log_filter():
    access_logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactTokensFilter) for f in access_logger.filters):
        access_logger.addFilter(RedactTokensFilter())


install_access_log_filter()


# -- presentation helpers, shared with the portal pages ----------------------


def get_locale(env):
    """The babel locale of the visitor's language."""
    # The context's language is the one the website picked for the visitor;
    # ``get_lang`` would read the same code back from the database.
    return babel_locale_parse(env.lang or get_lang(env).code)


def valid_tz(value):
    """``value`` when it names a timezone pytz knows, else None."""
    if isinstance(value, str) and value in pytz.all_timezones_set:
        return value
    return None


def to_local(utc_naive, tz_name):
    """The wall-clock time in ``tz_name`` of a naive UTC instant."""
    return pytz.utc.localize(utc_naive).astimezone(pytz.timezone(tz_name))


def describe_span(start, end, tz_name, locale):
    """``{'date', 'time', 'tz'}`` strings of ``[start, end)`` (naive UTC)
    as seen in ``tz_name``."""
    local_start = to_local(start, tz_name)
    local_end = to_local(end, tz_name)
    end_label = babel.dates.format_time(local_end.time(), "short", locale=locale)
    if local_end.date() != local_start.date():
        end_label = "%s %s" % (
            babel.dates.format_date(local_end.date(), "medium", locale=locale),
            end_label,
        )
    return {
        "date": babel.dates.format_date(local_start.date(), "full", locale=locale),
        "time": "%s – %s"
        % (
            babel.dates.format_time(local_start.time(), "short", locale=locale),
            end_label,
        ),
        "tz": tz_name,
    }


def tokens_match(expected, given):
    """Whether ``given`` is the secret ``expected``, compared in constant time.

    ``consteq`` refuses to compare non-ASCII text (``TypeError``), and no
    token of ours holds any, so such input simply does not match.
    """
    return (
        isinstance(expected, str)
        and isinstance(given, str)
        and bool(expected)
        and bool(given)
        and given.isascii()
        and consteq(expected, given)
    )


def describe_meeting(meeting_sudo, locale):
    """What both the confirmation and the manage page show of a meeting: its
    host, rooms, and its time in the host's and (when other) the guest's zone."""
    host_tz = meeting_sudo.booking_link_id.tz or meeting_sudo.host_user_id.tz or "UTC"
    guest_tz = meeting_sudo.guest_tz
    start, end = meeting_sudo.start_date, meeting_sudo.end_date
    return {
        "meeting": meeting_sudo,
        "host_name": meeting_sudo.host_user_id.name,
        "when_host": describe_span(start, end, host_tz, locale),
        "when_guest": guest_tz
        and guest_tz != host_tz
        and describe_span(start, end, guest_tz, locale),
        "rooms": meeting_sudo.room_location_ids,
    }


def has_control_characters(value, allowed=frozenset()):
    return any(
        unicodedata.category(char) == "Cc" and char not in allowed for char in value
    )


class MeetingBookingController(http.Controller):
    """Thin routes over ``meeting.booking.link``: every rule lives in the
    model, the routes parse input and pick the page."""

    # -- routes ------------------------------------------------------------

    @http.route(
        "/book/<string:token>",
        type="http",
        auth="public",
        website=True,
        sitemap=False,
        methods=["GET"],
    )
    def booking_page(self, token, start=None, tz=None, **kwargs):
        """The week of slots of a booking link."""
        link_sudo = self._get_link_or_404(token)
        visitor_tz = valid_tz(tz)
        grid = link_sudo._get_slot_grid(start_day=self._parse_start(start))
        values = self._prepare_grid_values(link_sudo, token, grid, visitor_tz)
        values["tz_ignored"] = bool(tz) and not valid_tz(tz)
        return self._render_link_page("meeting_rooms.booking_page", link_sudo, values)

    @http.route(
        "/book/avatar/<string:token>",
        type="http",
        auth="public",
        website=True,
        sitemap=False,
        methods=["GET"],
    )
    def booking_avatar(self, token, **kwargs):
        """The host's picture, for the booking page only."""
        link_sudo = self._get_link_or_404(token)
        stream = request.env["ir.binary"]._get_image_stream_from(
            link_sudo.user_id.sudo(), "avatar_128"
        )
        return stream.get_response(max_age=3600)

    @http.route(
        "/booking/details",
        type="http",
        auth="public",
        website=True,
        sitemap=False,
        methods=["GET"],
    )
    def booking_details(self, token=None, time_str=None, tz=None, **kwargs):
        """The booking form of one offered, free slot."""
        link_sudo = self._get_link_or_404(token)
        local_start = self._parse_time_str(time_str)
        if local_start is None:
            return self._render_error(link_sudo, token, self._malformed_message(), 400)
        state = link_sudo._get_slot_state(local_start)
        if state is None or state.reason == "past":
            return self._render_error(
                link_sudo, token, link_sudo._slot_not_offered_message(), 410
            )
        if not state.free:
            return self._render_error(
                link_sudo, token, link_sudo._slot_taken_message(), 409
            )
        values = self._prepare_form_values(
            link_sudo, token, state.slot, {"guest_tz": valid_tz(tz) or ""}, {}
        )
        return self._render_link_page(
            "meeting_rooms.booking_details", link_sudo, values
        )

    @http.route(
        "/booking/submit",
        type="http",
        auth="public",
        website=True,
        sitemap=False,
        methods=["POST"],
        # Checked below instead, so that a guest whose form outlived its
        # session is told so on our page rather than on a bare error page.
        csrf=False,
    )
    def booking_submit(self, token=None, time_str=None, csrf_token=None, **post):
        """Book the slot, then send the guest to its confirmation page.

        Nothing is created unless every check passes: the input here, the
        slot and the rate limits in ``_book_slot``.
        """
        link_sudo = self._get_link_or_404(token)
        # Odoo's check raises on a non-ASCII token instead of refusing it.
        csrf_ok = isinstance(csrf_token, str) and csrf_token.isascii()
        if not (csrf_ok and request.validate_csrf(csrf_token)):
            return self._render_error(
                link_sudo,
                token,
                _(
                    "This form has expired. Please pick your slot again and "
                    "send the form once more."
                ),
                400,
            )
        local_start = self._parse_time_str(time_str)
        if local_start is None:
            return self._render_error(link_sudo, token, self._malformed_message(), 400)
        form, errors = self._validate_booking_form(post)
        if post.get(HONEYPOT_FIELD):
            _logger.info("Booking link %s: honeypot filled, refused", link_sudo.id)
            errors["form"] = _("Your booking could not be sent. Please try again.")
            status = 400
        else:
            status = 422
        if errors:
            slot = self._slot_for_display(link_sudo, local_start)
            if slot is None:
                return self._render_error(
                    link_sudo, token, link_sudo._slot_not_offered_message(), 410
                )
            values = self._prepare_form_values(link_sudo, token, slot, form, errors)
            return self._render_link_page(
                "meeting_rooms.booking_details", link_sudo, values, status=status
            )
        try:
            meeting_sudo = link_sudo._book_slot(
                local_start,
                form["name"],
                form["emails"],
                subject=form["subject"],
                description=form["description"],
                guest_tz=form["guest_tz"] or None,
            )
        except BookingError as error:
            return self._render_error(link_sudo, token, error.args[0], error.status)
        return request.redirect(
            "/booking/confirmed/%s?%s"
            % (
                meeting_sudo.id,
                urlencode({"access_token": meeting_sudo._portal_ensure_token()}),
            )
        )

    @http.route(
        "/booking/confirmed/<int:meeting_id>",
        type="http",
        auth="public",
        website=True,
        sitemap=False,
        methods=["GET"],
    )
    def booking_confirmed(self, meeting_id, access_token=None, **kwargs):
        """What was booked, with the guest's manage and calendar links."""
        meeting_sudo = request.env["meeting.event"].sudo().browse(meeting_id).exists()
        if not (
            meeting_sudo
            and meeting_sudo.booking_link_id
            and tokens_match(meeting_sudo.access_token, access_token)
        ):
            raise NotFound()
        values = self._prepare_meeting_values(meeting_sudo)
        return request.render(
            "meeting_rooms.booking_confirmed", values, headers=NOINDEX_HEADERS
        )

    # -- input -------------------------------------------------------------

    def _get_link_or_404(self, token):
        """The active link of ``token``, as superuser; 404 otherwise."""
        if isinstance(token, str) and "\x00" in token:
            # A 404 makes the website look the URL up in the database, which
            # fails on a NUL byte: refuse the request before it gets there.
            raise BadRequest()
        if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
            raise NotFound()
        link_sudo = request.env["meeting.booking.link"]._get_public_link(token)
        if not link_sudo:
            raise NotFound()
        return link_sudo

    def _parse_start(self, value):
        """The ``?start=`` day, or None when absent or not a date."""
        if not isinstance(value, str) or not START_RE.fullmatch(value):
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None

    def _parse_time_str(self, value):
        try:
            return timeslots.parse_time_str(value)
        except ValueError:
            return None

    def _validate_booking_form(self, post):
        """Check the guest's fields.

        :returns: ``(form, errors)``: the cleaned values (e-mails normalized
            and de-duplicated, under ``emails``) and a message per faulty
            field, empty when all is well
        """
        form = {
            key: (post.get(key) or "").strip()
            for key in ("name", "email", "subject", "description")
        }
        form["guest_tz"] = valid_tz(post.get("guest_tz")) or ""
        errors = {}
        name = form["name"]
        if not name:
            errors["name"] = _("Please tell us your name.")
        elif len(name) > MAX_NAME:
            errors["name"] = _(
                "Your name can be at most %(max)s characters long.", max=MAX_NAME
            )
        elif has_control_characters(name):
            errors["name"] = _("Your name contains characters we cannot accept.")
        form["emails"], email_error = self._parse_emails(form["email"])
        if email_error:
            errors["email"] = email_error
        subject = form["subject"]
        if len(subject) > MAX_SUBJECT:
            errors["subject"] = _(
                "The subject can be at most %(max)s characters long.", max=MAX_SUBJECT
            )
        elif has_control_characters(subject):
            errors["subject"] = _("The subject contains characters we cannot accept.")
        description = form["description"]
        if len(description) > MAX_DESCRIPTION:
            errors["description"] = _(
                "The description can be at most %(max)s characters long.",
                max=MAX_DESCRIPTION,
            )
        elif has_control_characters(description, DESCRIPTION_CONTROLS_ALLOWED):
            errors["description"] = _(
                "The description contains characters we cannot accept."
            )
        return form, errors

    def _parse_emails(self, value):
        """Comma-separated addresses, normalized and de-duplicated.

        :returns: ``(addresses, error message or None)``
        """
        parts = [part.strip() for part in re.split(r"[,;]", value) if part.strip()]
        if not parts:
            return [], _("Please give your e-mail address.")
        emails = []
        for position, part in enumerate(parts, start=1):
            normalized = email_normalize(part)
            if (
                len(part) > MAX_EMAIL_LENGTH
                or has_control_characters(part)
                or len(email_split(part)) != 1
                or not normalized
                # Odoo's normalization keeps "@example.com" or "<b>x@y.z";
                # calendar invitations only take plain addresses.
                or not ics.normalize_email(normalized)
            ):
                return [], _(
                    "E-mail address number %(position)s is not valid.",
                    position=position,
                )
            if normalized not in emails:
                emails.append(normalized)
        if len(emails) > MAX_EMAILS:
            return [], _(
                "Please give at most %(max)s e-mail addresses.", max=MAX_EMAILS
            )
        return emails, None

    # -- pages -------------------------------------------------------------

    def _prepare_grid_values(self, link_sudo, token, grid, visitor_tz):
        """Values of the grid page; ``visitor_tz`` is the zone the visitor
        asked for, None for the link's own."""
        locale = get_locale(request.env)
        display_tz = visitor_tz or link_sudo.tz
        # Built once per page: a week holds a hundred slots or more, and
        # translating or formatting for each of them dominates the page.
        page = {
            "locale": locale,
            "reasons": {
                "free": _("Free"),
                "busy": _("Taken"),
                "no_room": _("No room free"),
                "past": _("Too soon"),
            },
            "format_time": functools.lru_cache(maxsize=None)(
                lambda value: babel.dates.format_time(value, "short", locale=locale)
            ),
            # The website would rewrite every slot link for the visitor's
            # language (a routing lookup per link); they all share one route.
            "details_url": url_for("/booking/details"),
        }
        days = []
        for day in grid["days"]:
            slots = [
                self._prepare_slot_values(state, token, display_tz, visitor_tz, page)
                for state in day["states"]
            ]
            days.append(
                {
                    "weekday": babel.dates.format_date(
                        day["day"], "EEEE", locale=locale
                    ),
                    "date": babel.dates.format_date(
                        day["day"], "medium", locale=locale
                    ),
                    "iso": day["day"].isoformat(),
                    "slots": slots,
                    "bookable": day["day"] <= grid["last_day"],
                }
            )
        tz_query = {"tz": visitor_tz} if visitor_tz else {}
        start = grid["days"][0]["day"]
        return {
            "link": link_sudo,
            "host_name": link_sudo._get_host_name(),
            "token": token,
            "days": days,
            "display_tz": display_tz,
            "timezones": pytz.common_timezones,
            "start": start.isoformat() if start != grid["today"] else "",
            "previous_url": grid["previous_start"]
            and self._grid_url(token, grid["previous_start"], tz_query),
            "next_url": grid["next_start"]
            and self._grid_url(token, grid["next_start"], tz_query),
            "browser_tz_url": self._grid_url(
                token, start if start != grid["today"] else None, {}
            ),
            "has_free_slot": any(slot["free"] for day in days for slot in day["slots"]),
        }

    def _prepare_slot_values(self, state, token, display_tz, visitor_tz, page):
        """One slot's label, link and state; ``page`` holds what every slot of
        the page shares (locale, labels, the form's URL)."""
        slot = state.slot
        local = to_local(slot.start, display_tz)
        label = page["format_time"](local.time())
        if local.date() != slot.day:
            # Past midnight, or another day in the visitor's timezone.
            weekday = babel.dates.format_date(
                local.date(), "EEE", locale=page["locale"]
            )
            label = f"{weekday} {label}"
        query = {"token": token, "time_str": slot.time_str}
        if visitor_tz:
            query["tz"] = visitor_tz
        return {
            "free": state.free,
            "label": label,
            "time_str": slot.time_str,
            "url": f"{page['details_url']}?{urlencode(query, quote_via=quote)}",
            "reason": page["reasons"][state.reason],
        }

    def _grid_url(self, token, start, query):
        query = dict(query)
        if start:
            query["start"] = start.isoformat()
        url = f"/book/{token}"
        return f"{url}?{urlencode(query)}" if query else url

    def _slot_for_display(self, link_sudo, local_start):
        """The slot named by ``local_start`` as the link's rules lay it out,
        free or not, for showing the form again; None when never offered."""
        state = link_sudo._get_slot_state(local_start)
        return state.slot if state else None

    def _prepare_form_values(self, link_sudo, token, slot, form, errors):
        locale = get_locale(request.env)
        guest_tz = form.get("guest_tz") or ""
        return {
            "link": link_sudo,
            "host_name": link_sudo._get_host_name(),
            "token": token,
            "slot": slot,
            "when_link": describe_span(slot.start, slot.end, link_sudo.tz, locale),
            "when_guest": guest_tz
            and guest_tz != link_sudo.tz
            and describe_span(slot.start, slot.end, guest_tz, locale),
            "form": form,
            "errors": errors,
            "grid_url": self._grid_url(
                token, None, {"tz": guest_tz} if guest_tz else {}
            ),
            "honeypot_field": HONEYPOT_FIELD,
            "max_name": MAX_NAME,
            "max_subject": MAX_SUBJECT,
            "max_description": MAX_DESCRIPTION,
        }

    def _prepare_meeting_values(self, meeting_sudo):
        """What the confirmation and manage pages show of a meeting."""
        return {
            **describe_meeting(meeting_sudo, get_locale(request.env)),
            "manage_url": meeting_sudo.get_portal_url(),
            "ics_url": meeting_sudo.get_portal_url(suffix="/ics"),
        }

    def _render_error(self, link_sudo, token, message, status):
        """A page saying why, linking back to the link's grid."""
        values = {
            "link": link_sudo,
            "host_name": link_sudo._get_host_name(),
            "token": token,
            "message": message,
            "status": status,
            "grid_url": self._grid_url(token, None, {}),
        }
        return self._render_link_page(
            "meeting_rooms.booking_error", link_sudo, values, status=status
        )

    def _render_link_page(self, template, link_sudo, values, status=200):
        """A page of a booking link. The link is the page's main object, so
        the title and the preview a chat shows of the address are the link's;
        search engines are asked to keep the secret address out of their index.
        """
        return request.render(
            template,
            {**values, "main_object": link_sudo},
            status=status,
            headers=NOINDEX_HEADERS,
        )

    def _malformed_message(self):
        return _("This booking address is incomplete or damaged.")
