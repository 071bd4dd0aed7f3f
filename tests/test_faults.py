"""Failures half way: an interrupted clean-up, a booking refused after its
partner was created, a mail server that is down. Nothing is lost and nothing
is left half done."""

import re
import socket
import threading
from contextlib import contextmanager
from datetime import timedelta

import psycopg2
from freezegun import freeze_time

from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged
from odoo.tools import mute_logger

from .common import create_open_link, free_slots
from .test_cleanup import ICS_CRON, NOW, CleanupCase
from .test_privacy import capture_logs

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
ICS = b"BEGIN:VCALENDAR\r\nX-FILE:%d\r\nEND:VCALENDAR\r\n"


@contextmanager
def database_trigger(cr, table, timing, body):
    """A PL/pgSQL trigger on ``table`` for the block: a fault injected by the
    database itself, not a mock. DDL is transactional, so the test's rollback
    removes it even when the block fails."""
    cr.execute(
        f"""
        CREATE FUNCTION mr_test_fault() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN {body} END $$;
        CREATE TRIGGER mr_test_fault {timing} ON {table}
           FOR EACH ROW EXECUTE FUNCTION mr_test_fault();
        """
    )
    try:
        yield
    finally:
        cr.execute(
            f"""
            DROP TRIGGER IF EXISTS mr_test_fault ON {table};
            DROP FUNCTION IF EXISTS mr_test_fault();
            """
        )


def counts(cr):
    result = {}
    for table in ("res_partner", "meeting_event", "mail_mail", "ir_attachment"):
        cr.execute(f"SELECT count(*) FROM {table}")
        result[table] = cr.fetchone()[0]
    return result


class TestCleanupFaults(CleanupCase):
    def old_files(self, how_many, age=100):
        """Calendar files of the meeting, each with its own content (so its
        own file in the filestore), created ``age`` days before NOW."""
        ids = []
        for _index in range(how_many):
            attachment = self.env["ir.attachment"].create(
                {
                    "name": "invitation.ics",
                    "raw": ICS % (self.next_file_number()),
                    "mimetype": "text/calendar",
                    "res_model": self.meeting._name,
                    "res_id": self.meeting.id,
                }
            )
            self.env.cr.execute(
                "UPDATE ir_attachment SET create_date = %s WHERE id = %s",
                [NOW - timedelta(days=age), attachment.id],
            )
            ids.append(attachment.id)
        return ids

    def next_file_number(self):
        self.file_number = getattr(self, "file_number", 0) + 1
        return self.file_number

    def readable(self, ids):
        """The ids whose row and file both survive a filestore clean-up."""
        self.env.flush_all()
        self.env["ir.attachment"]._gc_file_store_unsafe()
        self.env.invalidate_all()
        attachments = self.env["ir.attachment"].browse(ids)
        return {a.id for a in attachments.exists() if a.raw.startswith(b"BEGIN")}

    def test_interrupted_run_leaves_exactly_the_rest_for_the_next_run(self):
        self.set_param("meeting_rooms.cleanup_batch_size", 3)
        self.set_param("meeting_rooms.cleanup_time_budget", 1)
        old = self.old_files(8)
        fresh = self.old_files(2, age=10)

        # Every clock reading moves 2 seconds on, so the 1 second budget runs
        # out after the first batch: the run stops as a killed one would,
        # between two committed batches.
        with (
            self.capture_triggers(ICS_CRON) as capture,
            freeze_time(NOW, auto_tick_seconds=2),
        ):
            first = self.env["meeting.event"]._cron_delete_old_ics_files()

        self.assertEqual((first["removed"], first["backlog"]), (3, True))
        self.assertEqual(
            self.readable(old + fresh),
            set(old[3:] + fresh),
            "the oldest ids went first; everything else is whole",
        )
        self.assertEqual(len(capture.records), 1, "the cron comes back for the rest")

        with freeze_time(NOW):
            second = self.env["meeting.event"]._cron_delete_old_ics_files()

        self.assertEqual((second["removed"], second["backlog"]), (5, False))
        self.assertEqual(self.readable(old + fresh), set(fresh), "the job is done")

    def test_a_batch_that_fails_half_way_loses_nothing(self):
        self.set_param("meeting_rooms.cleanup_batch_size", 4)
        old = self.old_files(6)
        fresh = self.old_files(1, age=10)
        # The third file of the first batch cannot be deleted: the batch dies
        # after its first rows went, as on a full disk or a killed worker. The
        # cron's transaction rolls back to its last commit, taken just before
        # the batch: the savepoint below.
        refuse = f"IF OLD.id = {old[2]} THEN RAISE EXCEPTION 'disk full'; END IF;"
        with database_trigger(
            self.env.cr, "ir_attachment", "BEFORE DELETE", refuse + " RETURN OLD;"
        ):
            with (
                mute_logger("odoo.sql_db"),
                self.assertRaises(psycopg2.errors.RaiseException),
                self.env.cr.savepoint(),
                freeze_time(NOW),
            ):
                self.env["meeting.event"]._cron_delete_old_ics_files()
            self.assertEqual(
                self.readable(old + fresh),
                set(old + fresh),
                "no row and no file of the failed batch is lost",
            )

        with freeze_time(NOW):
            stats = self.env["meeting.event"]._cron_delete_old_ics_files()

        self.assertEqual((stats["removed"], stats["backlog"]), (6, False))
        self.assertEqual(self.readable(old + fresh), set(fresh), "the next run")


class BookingFaultCase:
    """A host whose link is open around the clock, with an e-mail address so
    that a booking queues mails to both sides."""

    @classmethod
    def setup_link(cls):
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.host = new_test_user(
            cls.env,
            "mr_fault_host",
            groups="base.group_user",
            tz="UTC",
            email="fault.host@example.com",
        )
        cls.link = create_open_link(cls.env, cls.host)

    def free_slot(self):
        return free_slots(self.link)[0]

    def guest_partner(self, email):
        return (
            self.env["res.partner"]
            .with_context(active_test=False)
            .search([("email_normalized", "=", email)])
        )


class TestMailServerDown(BookingFaultCase, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_link()

    @contextmanager
    def smtp_server_down(self):
        """An outgoing mail server on a loopback port that refuses every
        connection, reached for real.

        Odoo never connects in test mode (``ir.mail_server._is_test_mode``
        reads the thread's ``testing`` flag); the flag is lifted for the
        block only, so the real ``smtplib`` connection fails the real way.
        A bound socket that does not listen keeps the port refused and free
        of any other process.
        """
        closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        closed.bind(("127.0.0.1", 0))
        server = self.env["ir.mail_server"].create(
            {
                "name": "Down",
                "smtp_host": "127.0.0.1",
                "smtp_port": closed.getsockname()[1],
                "smtp_encryption": "none",
                "sequence": 1,
            }
        )
        thread = threading.current_thread()
        testing = getattr(thread, "testing", False)
        thread.testing = False
        try:
            yield server
        finally:
            thread.testing = testing
            closed.close()

    def test_booking_stands_and_its_mails_wait_while_the_smtp_server_is_down(self):
        slot = self.free_slot()
        meeting = self.link._book_slot(
            slot.local_start, "Mallory Guest", ["mallory@example.com"]
        )
        mails = self.env["mail.mail"].search(
            [("model", "=", "meeting.event"), ("res_id", "=", meeting.id)]
        )
        self.assertEqual(len(mails), 2, "the guest's invitation and the host's note")
        self.assertEqual(set(mails.mapped("state")), {"outgoing"})
        files = mails.attachment_ids
        self.assertTrue(files, "calendar files attached")

        with self.smtp_server_down():
            # What the mail queue cron runs; ``process_email_queue`` itself
            # would commit after each mail once test mode is lifted.
            mails.send(auto_commit=False)

        self.assertEqual(meeting.state, "confirm", "the booking stands")
        self.assertTrue(self.guest_partner("mallory@example.com"), "the guest stays")
        self.assertEqual(len(mails.exists()), 2, "no mail is lost")
        self.assertEqual(set(mails.mapped("state")), {"exception"}, "kept to retry")
        for mail in mails:
            self.assertRegex(
                mail.failure_reason or "", r"(?i)refused|errno", "the reason is kept"
            )
        self.assertEqual(mails.attachment_ids, files, "with their calendar files")

        # The server is back: Odoo 17 retries failed mails on request (the
        # "Retry" button), then the queue sends them.
        mails.mark_outgoing()
        self.env["mail.mail"].process_email_queue(ids=mails.ids)
        self.assertFalse(
            mails.exists().filtered(lambda m: m.state != "sent"), "all delivered"
        )


@tagged("post_install", "-at_install")
class TestBookingFaults(BookingFaultCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_link()

    def submit(self, slot, email):
        form = self.url_open(
            f"/booking/details?token={self.link.token}"
            f"&time_str={slot.time_str.replace(' ', '+')}"
        )
        self.assertEqual(form.status_code, 200, "the form opens")
        return self.url_open(
            "/booking/submit",
            data={
                "csrf_token": CSRF_RE.search(form.text).group(1),
                "token": self.link.token,
                "time_str": slot.time_str,
                "name": "Fault Guest",
                "email": email,
            },
            allow_redirects=False,
        )

    def test_meeting_refused_after_its_partner_was_created_leaves_nothing(self):
        slot = self.free_slot()
        before = counts(self.env.cr)
        # The database refuses the meeting as it refuses the loser of a race,
        # by the host's exclusion constraint, and only once the guest's
        # partner exists (any other order fails the test with another error).
        refuse = """
            IF NEW.partner_id IS NULL THEN
                RAISE EXCEPTION 'the partner should exist by now';
            END IF;
            RAISE EXCEPTION 'conflicting key value'
                USING ERRCODE = 'exclusion_violation',
                      CONSTRAINT = 'meeting_event_host_no_overlap';
        """
        with (
            database_trigger(self.env.cr, "meeting_event", "BEFORE INSERT", refuse),
            capture_logs() as logs,
        ):
            response = self.submit(slot, "late.guest@example.com")
        self.assertEqual(response.status_code, 409, "told the slot was taken")
        self.assertTrue(logs.lines, "the refusal was logged")
        for line in logs.lines:
            self.assertNotIn("Fault Guest", line, "the refused statement is not")
            self.assertNotIn("late.guest", line, "the refused statement is not")
        self.assertIn("This slot was just taken", response.text)
        self.assertFalse(self.guest_partner("late.guest@example.com"), "no partner")
        self.assertEqual(counts(self.env.cr), before, "nothing at all is left")

    def test_failure_after_the_meeting_was_created_leaves_nothing(self):
        slot = self.free_slot()
        before = counts(self.env.cr)
        # The host's notice is the last thing a booking writes: by then the
        # partner, the meeting, its calendar files and the guest's invitation
        # exist. The whole request must roll back.
        refuse = """
            IF NEW.subject LIKE 'New booking:%' THEN
                RAISE EXCEPTION 'mail queue unavailable';
            END IF;
            RETURN NEW;
        """
        with (
            database_trigger(self.env.cr, "mail_message", "BEFORE INSERT", refuse),
            mute_logger("odoo.http", "odoo.sql_db"),
        ):
            response = self.submit(slot, "unlucky.guest@example.com")
        self.assertEqual(response.status_code, 500, "an error page, no booking")
        self.assertFalse(self.guest_partner("unlucky.guest@example.com"))
        self.assertEqual(counts(self.env.cr), before, "nothing at all is left")

        retry = self.submit(slot, "unlucky.guest@example.com")
        self.assertEqual(retry.status_code, 303, "the slot was never held")
