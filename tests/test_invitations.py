from datetime import date, datetime

from icalendar import Calendar

from odoo.tests import new_test_user
from odoo.tools import email_normalize, format_datetime

from odoo.addons.mail.tests.common import MailCase

from .common import MeetingRoomsCase


class TestInvitations(MeetingRoomsCase):
    """Mails and to-dos that put a meeting in each participant's calendar."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # ``new_test_user`` gives every login starting with "m" the same address.
        cls.host.email = "hanna.host@example.com"
        cls.colleague.email = "colin.colleague@example.com"
        cls.tokyo = new_test_user(
            cls.env,
            "mr_tokyo",
            groups="base.group_user",
            tz="Asia/Tokyo",
            email="toshi.tokyo@example.com",
        )
        cls.guest = cls.env["res.partner"].create(
            {"name": "Gwen Guest", "email": "Gwen@Example.com", "tz": "Asia/Tokyo"}
        )

    def queued_mails(self, meeting):
        return self.env["mail.mail"].search(
            [("model", "=", "meeting.event"), ("res_id", "=", meeting.id)],
            order="id",
        )

    def new_mails(self, meeting, before):
        return self.queued_mails(meeting) - before

    def address_of(self, mail):
        """The one address a queued mail goes to."""
        addresses = mail.recipient_ids.mapped("email") or [mail.email_to]
        self.assertEqual(len(addresses), 1, "one recipient per mail")
        return email_normalize(addresses[0])

    def mail_to(self, mails, address):
        found = mails.filtered(lambda m: self.address_of(m) == address.lower())
        self.assertEqual(len(found), 1, f"one mail to {address}")
        return found

    def calendar_of(self, mail):
        """The parsed calendar file attached to ``mail``."""
        (attachment,) = mail.attachment_ids
        self.assertTrue(attachment.mimetype.startswith("text/calendar"))
        self.assertTrue(attachment.name.endswith(".ics"))
        return Calendar.from_ical(attachment.raw)

    def create_confirmed(self, **values):
        meeting = self.create_meeting(**values)
        meeting.with_user(self.host).action_confirm()
        return meeting

    def test_confirm_queues_one_request_per_participant(self):
        meeting = self.create_meeting(
            attendee=[(6, 0, [self.colleague.id])],
            partner_id=self.guest.id,
            guest_emails="Otto <otto@example.com>",
        )
        self.assertFalse(self.queued_mails(meeting), "a draft invites nobody")
        meeting.with_user(self.host).action_confirm()
        mails = self.queued_mails(meeting)
        self.assertEqual(
            sorted(self.address_of(m) for m in mails),
            sorted([self.colleague.email, "gwen@example.com", "otto@example.com"]),
            "attendee, guest partner and extra guest; not the host",
        )
        for mail in mails:
            self.assertEqual(mail.state, "outgoing", "queued, not sent in request")
            calendar = self.calendar_of(mail)
            self.assertEqual(str(calendar["method"]), "REQUEST")
            self.assertEqual(
                mail.attachment_ids.mimetype, "text/calendar; method=request"
            )
            (event,) = calendar.walk("VEVENT")
            self.assertEqual(str(event["uid"]), meeting.ics_uid)
            attachment = mail.attachment_ids
            self.assertEqual(
                (attachment.res_model, attachment.res_id),
                ("meeting.event", meeting.id),
                "owned by the meeting, where the cleanup cron looks",
            )
            self.assertFalse(attachment.public)

    def test_guest_listed_as_partner_and_extra_address_gets_one_mail(self):
        meeting = self.create_confirmed(
            partner_id=self.guest.id, guest_emails="gwen@EXAMPLE.com, gwen@example.com"
        )
        mails = self.queued_mails(meeting)
        self.assertEqual(len(mails), 1, "one person, one mail")
        self.assertEqual(mails.recipient_ids, self.guest)

    def test_each_recipient_reads_the_time_in_their_own_timezone(self):
        tokyo = self.tokyo
        meeting = self.create_confirmed(
            attendee=[(6, 0, [self.colleague.id, tokyo.id])],
            guest_emails="otto@example.com",
        )
        mails = self.queued_mails(meeting)
        expected = {
            self.colleague.email: "America/New_York",
            tokyo.email: "Asia/Tokyo",
            # a bare address has no zone: the host's
            "otto@example.com": "Europe/Berlin",
        }
        for address, tz_name in expected.items():
            body = str(self.mail_to(mails, address).body_html)
            local_start = format_datetime(
                self.env, meeting.start_date, tz=tz_name, dt_format="medium"
            )
            self.assertIn(local_start, body, f"{address} reads {tz_name} time")
            self.assertIn(tz_name, body)
        ny_body = str(self.mail_to(mails, self.colleague.email).body_html)
        self.assertIn("6:00:00", ny_body, "10:00 UTC is 06:00 in New York")
        self.assertNotIn(
            format_datetime(self.env, meeting.start_date, tz="Asia/Tokyo"),
            ny_body,
        )

    def test_guest_timezone_of_the_meeting_wins_for_guests(self):
        meeting = self.create_confirmed(
            partner_id=self.guest.id, guest_tz="America/Sao_Paulo"
        )
        body = str(self.queued_mails(meeting).body_html)
        self.assertIn(
            format_datetime(
                self.env, meeting.start_date, tz="America/Sao_Paulo", dt_format="medium"
            ),
            body,
        )

    def test_reschedule_of_confirmed_meeting_sends_updates_with_next_sequence(self):
        meeting = self.create_confirmed(
            attendee=[(6, 0, [self.colleague.id])], partner_id=self.guest.id
        )
        invitations = self.queued_mails(meeting)
        (first,) = self.calendar_of(invitations[0]).walk("VEVENT")
        meeting.with_user(self.host).write(
            {"start_date": self.at(13), "end_date": self.at(14)}
        )
        updates = self.new_mails(meeting, invitations)
        self.assertEqual(len(updates), 2, "every participant is told")
        for mail in updates:
            self.assertIn("Updated", mail.subject)
            calendar = self.calendar_of(mail)
            self.assertEqual(str(calendar["method"]), "REQUEST")
            (event,) = calendar.walk("VEVENT")
            self.assertEqual(str(event["uid"]), str(first["uid"]))
            self.assertEqual(event.decoded("sequence"), first.decoded("sequence") + 1)

    def test_reschedule_of_a_draft_sends_nothing(self):
        meeting = self.create_meeting(attendee=[(6, 0, [self.colleague.id])])
        meeting.write({"start_date": self.at(13), "end_date": self.at(14)})
        self.assertFalse(self.queued_mails(meeting))

    def test_cancel_of_confirmed_meeting_sends_cancellations(self):
        meeting = self.create_confirmed(
            attendee=[(6, 0, [self.colleague.id])], partner_id=self.guest.id
        )
        invitations = self.queued_mails(meeting)
        meeting.with_user(self.host).action_cancel()
        cancellations = self.new_mails(meeting, invitations)
        self.assertEqual(len(cancellations), 2)
        for mail in cancellations:
            calendar = self.calendar_of(mail)
            self.assertEqual(str(calendar["method"]), "CANCEL")
            self.assertEqual(
                mail.attachment_ids.mimetype, "text/calendar; method=cancel"
            )
            (event,) = calendar.walk("VEVENT")
            self.assertEqual(str(event["status"]), "CANCELLED")
            self.assertEqual(str(event["uid"]), meeting.ics_uid)
            self.assertEqual(event.decoded("sequence"), meeting.version)

    def test_cancel_of_a_draft_sends_nothing(self):
        meeting = self.create_meeting(attendee=[(6, 0, [self.colleague.id])])
        meeting.action_cancel()
        self.assertFalse(self.queued_mails(meeting))

    def test_added_attendee_is_invited_and_removed_one_gets_a_cancellation(self):
        tokyo = self.tokyo
        meeting = self.create_confirmed(attendee=[(6, 0, [self.colleague.id])])
        invitations = self.queued_mails(meeting)
        version = meeting.version
        meeting.with_user(self.host).write({"attendee": [(6, 0, [tokyo.id])]})
        mails = self.new_mails(meeting, invitations)
        self.assertEqual(len(mails), 2, "nobody else is bothered")
        added = self.mail_to(mails, tokyo.email)
        self.assertEqual(str(self.calendar_of(added)["method"]), "REQUEST")
        removed = self.mail_to(mails, self.colleague.email)
        calendar = self.calendar_of(removed)
        self.assertEqual(str(calendar["method"]), "CANCEL")
        (event,) = calendar.walk("VEVENT")
        self.assertIn(
            f"mailto:{self.colleague.email.lower()}",
            [str(a).lower() for a in event["attendee"]],
            "the cancellation names the person it removes",
        )
        # Outlook ignores a cancellation that does not outrank the invitation.
        self.assertEqual(meeting.version, version + 1)
        self.assertEqual(event.decoded("sequence"), version + 1)
        (invited,) = self.calendar_of(added).walk("VEVENT")
        self.assertEqual(invited.decoded("sequence"), version + 1)

    def test_withdrawn_guest_address_outranks_its_invitation(self):
        meeting = self.create_confirmed(
            guest_emails="Ann <ann@example.com>, bob@example.com"
        )
        invitations = self.queued_mails(meeting)
        version = meeting.version
        meeting.with_user(self.host).write({"guest_emails": "ann@example.com"})
        (mail,) = self.new_mails(meeting, invitations)
        self.assertIn("bob@example.com", mail.email_to)
        calendar = self.calendar_of(mail)
        self.assertEqual(str(calendar["method"]), "CANCEL")
        (event,) = calendar.walk("VEVENT")
        self.assertEqual(event.decoded("sequence"), version + 1)
        self.assertEqual(meeting.version, version + 1)

    def test_only_adding_people_keeps_the_version(self):
        meeting = self.create_confirmed()
        version = meeting.version
        meeting.write({"attendee": [(4, self.colleague.id)]})
        meeting.write({"guest_emails": "new.guest@example.com"})
        self.assertEqual(meeting.version, version, "no one holds an outdated copy")

    def test_description_only_edit_sends_no_mail_and_keeps_the_to_dos(self):
        meeting = self.create_confirmed(attendee=[(6, 0, [self.colleague.id])])
        mails = self.queued_mails(meeting)
        activities = meeting.activity_ids
        self.assertEqual(len(activities), 1)
        meeting.with_user(self.host).write({"description": "New agenda"})
        self.assertEqual(self.queued_mails(meeting), mails, "no mail")
        self.assertEqual(meeting.activity_ids, activities, "no new to-do")
        _calendar_event = Calendar.from_ical(meeting._get_calendar_file())
        self.assertIn(
            "New agenda",
            str(next(iter(_calendar_event.walk("VEVENT")))["description"]),
            "the stored file still says what the meeting is about",
        )

    def test_to_do_is_due_on_each_attendees_local_date(self):
        tokyo = self.tokyo
        # 23:30 UTC on 10 June is 08:30 on 11 June in Tokyo, 19:30 on 10 June in
        # New York.
        meeting = self.create_meeting(
            start_date=datetime(2031, 6, 10, 23, 30),
            end_date=datetime(2031, 6, 11, 0, 30),
            attendee=[(6, 0, [self.colleague.id, tokyo.id])],
        )
        due = {a.user_id: a.date_deadline for a in meeting.activity_ids}
        self.assertEqual(due[tokyo], date(2031, 6, 11), "next day in Tokyo")
        self.assertEqual(due[self.colleague], date(2031, 6, 10), "same day in NY")
        self.assertEqual(len(meeting.activity_ids), 2, "one to-do per attendee")
        self.assertEqual(
            meeting.activity_ids.activity_type_id.category,
            "default",
            "a to-do, not a calendar meeting",
        )

    def test_to_dos_follow_the_meeting_and_go_when_it_is_cancelled(self):
        meeting = self.create_meeting(attendee=[(6, 0, [self.colleague.id])])
        meeting.write(
            {
                "start_date": datetime(2031, 6, 12, 10),
                "end_date": datetime(2031, 6, 12, 11),
            }
        )
        self.assertEqual(meeting.activity_ids.date_deadline, date(2031, 6, 12))
        meeting.write({"attendee": [(5,)]})
        self.assertFalse(meeting.activity_ids, "a removed attendee keeps no to-do")
        meeting.write({"attendee": [(6, 0, [self.colleague.id])]})
        meeting.action_cancel()
        self.assertFalse(meeting.activity_ids, "a cancelled meeting is no to-do")

    def test_rebuilding_to_dos_keeps_other_activities_until_cancel(self):
        meeting = self.create_meeting(attendee=[(6, 0, [self.colleague.id])])
        reminder = meeting.activity_schedule(
            "mail.mail_activity_data_todo",
            user_id=self.host.id,
            summary="Confirm this booked meeting",
        )
        meeting.write({"start_date": self.at(13), "end_date": self.at(14)})
        self.assertTrue(reminder.exists(), "someone else's to-do survives")
        self.assertEqual(len(meeting.activity_ids), 2)
        meeting.action_cancel()
        self.assertFalse(reminder.exists(), "nothing is left to do when cancelled")

    def test_to_dos_do_not_mail_the_attendees(self):
        meeting = self.create_meeting(attendee=[(6, 0, [self.colleague.id])])
        self.assertTrue(meeting.activity_ids)
        self.assertFalse(
            self.env["mail.mail"].search(
                [("recipient_ids", "in", self.colleague.partner_id.ids)]
            ),
            "the invitation is the only mail, not an assignment notice",
        )

    def test_subject_markup_is_escaped_in_the_mail_body(self):
        meeting = self.create_confirmed(
            subject="<script>alert('x')</script>",
            attendee=[(6, 0, [self.colleague.id])],
        )
        body = str(self.queued_mails(meeting).body_html)
        self.assertNotIn("<script>", body, "no markup from a subject")
        self.assertIn("&lt;script&gt;", body, "shown as text")

    def test_line_breaks_in_subject_do_not_reach_the_mail_header(self):
        meeting = self.create_confirmed(
            subject="Sync\r\nBcc: x@example.com", attendee=[(6, 0, [self.colleague.id])]
        )
        subject = self.queued_mails(meeting).subject
        self.assertNotIn("\n", subject)
        self.assertNotIn("\r", subject)

    def test_host_is_notified_of_a_booking_with_the_calendar_file(self):
        meeting = self.create_meeting(partner_id=self.guest.id)
        mails = meeting._notify_host_of_booking()
        self.assertEqual(len(mails), 1)
        self.assertEqual(mails.recipient_ids, self.host.partner_id)
        self.assertIn("Gwen Guest", str(mails.body_html))
        self.assertIn(
            format_datetime(
                self.env, meeting.start_date, tz="Europe/Berlin", dt_format="medium"
            ),
            str(mails.body_html),
            "in the host's timezone",
        )
        self.assertEqual(str(self.calendar_of(mails)["method"]), "REQUEST")

    def test_new_confirmed_meeting_invites_at_once(self):
        meeting = self.create_meeting(state="confirm", partner_id=self.guest.id)
        mails = self.queued_mails(meeting)
        self.assertEqual(len(mails), 1)
        self.assertIn("Invitation", mails.subject)


class TestInvitationDelivery(MeetingRoomsCase, MailCase):
    """What leaves the mail queue: the message a calendar client receives."""

    def test_sent_message_carries_the_calendar_part_with_its_method(self):
        self.colleague.email = "colin.colleague@example.com"
        meeting = self.create_meeting(attendee=[(6, 0, [self.colleague.id])])
        meeting.action_confirm()
        meeting.action_cancel()
        mails = self.env["mail.mail"].search(
            [("model", "=", "meeting.event"), ("res_id", "=", meeting.id)],
            order="id",
        )
        self.assertEqual(len(mails), 2, "an invitation, then a cancellation")
        # Only the SMTP connection is faked: the message is built for real.
        with self.mock_mail_gateway():
            mails.send()
        messages = [call.args[1] for call in self.send_email_mocked.call_args_list]
        self.assertEqual(len(messages), 2)
        for message, method in zip(messages, ("REQUEST", "CANCEL"), strict=True):
            parts = [
                part
                for part in message.walk()
                if part.get_content_type() == "text/calendar"
            ]
            self.assertEqual(len(parts), 1, "one calendar part per mail")
            self.assertEqual(
                parts[0].get_param("method").upper(),
                method,
                "the part says what to do with the event",
            )
            calendar = Calendar.from_ical(parts[0].get_payload(decode=True))
            self.assertEqual(str(calendar["method"]), method)
            self.assertTrue(parts[0].get_filename().endswith(".ics"))
