import logging
from datetime import date, datetime, timedelta

from freezegun import freeze_time

from odoo.tests import new_test_user

from odoo.addons.base.tests.test_ir_cron import CronMixinCase

from .common import MeetingRoomsCase

CLEANUP_LOGGER = "odoo.addons.meeting_rooms.models.meeting_event_cleanup"
ACTIVITY_CRON = "meeting_rooms.ir_cron_auto_delete_meeting_activities"
ICS_CRON = "meeting_rooms.ir_cron_cleanup_old_ics_files"
# Late evening in UTC: already tomorrow in Tokyo, still the afternoon in Los
# Angeles, so one deadline is overdue for one assignee and not the other.
NOW = datetime(2026, 6, 10, 23, 30)
TODAY_UTC = date(2026, 6, 10)


class CleanupCase(MeetingRoomsCase, CronMixinCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.meeting = cls.create_meeting(
            room_location_ids=[(6, 0, [cls.room_berlin.id])]
        )
        cls.booking = cls.meeting.meeting_room_ids
        cls.partner = cls.env["res.partner"].create({"name": "Some Customer"})
        cls.todo_type = cls.env.ref("mail.mail_activity_data_todo")

    def setUp(self):
        super().setUp()
        self.set_param("meeting_rooms.cleanup_batch_size", False)
        self.set_param("meeting_rooms.cleanup_time_budget", False)
        self.set_param("meeting_rooms.ics_retention_days", False)

    def set_param(self, key, value):
        self.env["ir.config_parameter"].sudo().set_param(key, value)

    def insert_activities(self, record, user, deadline, count=1, done=False):
        """Insert ``count`` activities on ``record`` in one statement, as an
        old system's backlog would be; return their ids."""
        self.env.cr.execute(
            """
            INSERT INTO mail_activity (
                res_model_id, res_model, res_id, activity_type_id, user_id,
                date_deadline, date_done, active, automated, summary,
                create_uid, write_uid, create_date, write_date
            )
            SELECT %s, %s, %s, %s, %s, %s, %s, %s, false, 'Follow up',
                   1, 1, now(), now()
              FROM generate_series(1, %s)
         RETURNING id
            """,
            [
                self.env["ir.model"]._get_id(record._name),
                record._name,
                record.id,
                self.todo_type.id,
                user.id,
                deadline,
                deadline if done else None,
                not done,
                count,
            ],
        )
        return {row[0] for row in self.env.cr.fetchall()}

    def existing_activity_ids(self, ids):
        self.env.cr.execute(
            "SELECT id FROM mail_activity WHERE id = ANY(%s)", [list(ids)]
        )
        return {row[0] for row in self.env.cr.fetchall()}

    def attach(self, record, name, res_field=False, mimetype="text/calendar", age=0):
        """An attachment on ``record`` created ``age`` days before NOW."""
        attachment = self.env["ir.attachment"].create(
            {
                "name": name,
                "raw": b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
                "mimetype": mimetype,
                "res_model": record._name,
                "res_id": record.id,
                "res_field": res_field,
            }
        )
        self.env.cr.execute(
            "UPDATE ir_attachment SET create_date = %s WHERE id = %s",
            [NOW - timedelta(days=age), attachment.id],
        )
        return attachment.id

    def existing_attachment_ids(self, ids):
        self.env.cr.execute("SELECT id FROM ir_attachment WHERE id = ANY(%s)", [ids])
        return {row[0] for row in self.env.cr.fetchall()}


class TestActivityCleanup(CleanupCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tokyo_user = new_test_user(
            cls.env, "mr_tokyo", groups="base.group_user", tz="Asia/Tokyo"
        )
        cls.la_user = new_test_user(
            cls.env, "mr_la", groups="base.group_user", tz="America/Los_Angeles"
        )

    def run_activity_cron(self):
        with freeze_time(NOW):
            return self.env["meeting.event"]._cron_auto_delete_activities()

    def test_only_overdue_activities_of_meetings_and_bookings_go(self):
        stale = self.insert_activities(self.meeting, self.host, "2026-06-01", 1500)
        stale |= self.insert_activities(self.booking, self.host, "2026-06-01", 1500)
        fresh = self.insert_activities(self.meeting, self.host, "2026-06-20", 1000)
        fresh |= self.insert_activities(self.booking, self.host, "2026-06-20", 1000)
        other_model = self.insert_activities(self.partner, self.host, "2026-06-01", 500)
        done = self.insert_activities(self.meeting, self.host, "2026-06-01", done=True)

        stats = self.run_activity_cron()

        self.assertFalse(self.existing_activity_ids(stale), "overdue ones are removed")
        self.assertEqual(
            self.existing_activity_ids(fresh | other_model | done),
            fresh | other_model | done,
            "future, done and other models' activities stay",
        )
        self.assertEqual(stats["removed"], 3000)
        self.assertEqual(stats["batches"], 3, "3000 in batches of 1000 by default")
        self.assertFalse(stats["backlog"])

    def test_deadline_is_overdue_in_the_assignee_timezone(self):
        # 23:30 UTC on June 10 is June 11 in Tokyo and Berlin, June 10 in
        # Los Angeles and in UTC.
        tokyo = self.insert_activities(self.meeting, self.tokyo_user, TODAY_UTC)
        berlin = self.insert_activities(self.booking, self.host, TODAY_UTC)
        los_angeles = self.insert_activities(self.meeting, self.la_user, TODAY_UTC)
        los_angeles_past = self.insert_activities(
            self.meeting, self.la_user, TODAY_UTC - timedelta(days=1)
        )

        self.run_activity_cron()

        self.assertFalse(
            self.existing_activity_ids(tokyo | berlin | los_angeles_past),
            "due yesterday in the assignee's timezone: overdue",
        )
        self.assertEqual(
            self.existing_activity_ids(los_angeles),
            los_angeles,
            "still due today in Los Angeles",
        )

    def test_unknown_or_empty_timezone_counts_as_utc(self):
        self.env.cr.execute(
            "UPDATE res_partner SET tz = 'Mars/Olympus_Mons' WHERE id = %s",
            [self.tokyo_user.partner_id.id],
        )
        self.la_user.partner_id.tz = False
        self.env.invalidate_all()
        today = self.insert_activities(self.meeting, self.tokyo_user, TODAY_UTC)
        today |= self.insert_activities(self.meeting, self.la_user, TODAY_UTC)
        yesterday = self.insert_activities(
            self.meeting, self.tokyo_user, TODAY_UTC - timedelta(days=1)
        )
        yesterday |= self.insert_activities(
            self.meeting, self.la_user, TODAY_UTC - timedelta(days=1)
        )

        self.run_activity_cron()

        self.assertEqual(self.existing_activity_ids(today), today, "due today in UTC")
        self.assertFalse(self.existing_activity_ids(yesterday), "due yesterday in UTC")

    def test_removal_keeps_what_activity_deletion_cleans_up(self):
        document_file = self.env["ir.attachment"].create(
            {"name": "agenda.txt", "raw": b"agenda", "res_model": "meeting.event"}
        )
        activity = (
            self.env["mail.activity"]
            .with_context(mail_activity_quick_update=True)
            .create(
                {
                    "res_model_id": self.env["ir.model"]._get_id("meeting.event"),
                    "res_id": self.meeting.id,
                    "activity_type_id": self.todo_type.id,
                    "user_id": self.host.id,
                    "date_deadline": "2026-06-01",
                    "attachment_ids": [(6, 0, document_file.ids)],
                }
            )
        )
        own_file = self.env["ir.attachment"].create(
            {
                "name": "note.txt",
                "raw": b"note",
                "res_model": "mail.activity",
                "res_id": activity.id,
            }
        )
        self.env["ir.model.data"].create(
            {
                "module": "__import__",
                "name": "old_activity",
                "model": "mail.activity",
                "res_id": activity.id,
            }
        )
        self.env.cr.precommit.run()  # send the creation's notifications now
        # The assignee has the web client open: its counter must refresh.
        self.env["bus.presence"].create(
            {"user_id": activity.user_id.id, "status": "online"}
        )
        bus_before = self.env["bus.bus"].search([]).ids

        self.run_activity_cron()
        self.env.cr.precommit.run()

        self.assertFalse(activity.exists())
        self.assertFalse(own_file.exists(), "the activity's own files go with it")
        self.assertTrue(document_file.exists(), "the meeting's file stays")
        self.assertFalse(
            self.env.ref("__import__.old_activity", raise_if_not_found=False),
            "no external id is left pointing to a deleted activity",
        )
        notices = self.env["bus.bus"].search([("id", "not in", bus_before)])
        self.assertIn(
            "mail.activity/updated",
            "".join(notices.mapped("message")),
            "the assignee's activity counter is told to refresh",
        )

    def test_batch_never_exceeds_the_size_and_backlog_retriggers(self):
        self.set_param("meeting_rooms.cleanup_batch_size", 50)
        self.set_param("meeting_rooms.cleanup_time_budget", 1)
        stale = self.insert_activities(self.meeting, self.host, "2026-06-01", 120)

        # Every clock reading moves 2 seconds on: the 1 second budget is spent
        # by the first batch.
        with (
            self.capture_triggers(ACTIVITY_CRON) as capture,
            freeze_time(NOW, auto_tick_seconds=2),
        ):
            stats = self.env["meeting.event"]._cron_auto_delete_activities()

        self.assertEqual((stats["removed"], stats["batches"]), (50, 1))
        self.assertEqual(len(self.existing_activity_ids(stale)), 70)
        self.assertTrue(stats["backlog"])
        self.assertEqual(len(capture.records), 1, "the cron runs again soon")

    def test_drained_backlog_does_not_retrigger(self):
        self.set_param("meeting_rooms.cleanup_batch_size", 50)
        self.insert_activities(self.meeting, self.host, "2026-06-01", 120)

        with self.capture_triggers(ACTIVITY_CRON) as capture:
            stats = self.run_activity_cron()

        self.assertEqual((stats["removed"], stats["batches"]), (120, 3))
        self.assertFalse(stats["backlog"])
        self.assertFalse(capture.records, "nothing left, nothing to re-run")

    def test_invalid_parameters_fall_back_to_defaults(self):
        self.set_param("meeting_rooms.cleanup_batch_size", "many")
        self.set_param("meeting_rooms.cleanup_time_budget", "-5")
        self.insert_activities(self.meeting, self.host, "2026-06-01", 1200)

        with self.assertLogs(CLEANUP_LOGGER, logging.WARNING) as logs:
            stats = self.run_activity_cron()

        self.assertEqual(stats["batches"], 2, "batches of the default 1000")
        self.assertEqual(len(logs.output), 2, "one warning per invalid parameter")
        self.assertIn("meeting_rooms.cleanup_batch_size", logs.output[0])

    def test_run_logs_one_summary_without_personal_data(self):
        self.insert_activities(self.meeting, self.tokyo_user, "2026-06-01", 3)

        with self.assertLogs(CLEANUP_LOGGER, logging.INFO) as logs:
            self.run_activity_cron()

        self.assertEqual(len(logs.output), 1, "one line per run")
        line = logs.output[0]
        self.assertIn("removed 3 overdue activities; batches: 1 of at most 1000", line)
        self.assertIn("nothing left", line)
        private = [
            self.tokyo_user.name,
            self.tokyo_user.login,
            self.tokyo_user.email,
            self.meeting.subject,
        ]
        for value in filter(None, private):
            self.assertNotIn(value, line, "no personal data in the log")


class TestIcsCleanup(CleanupCase):
    def run_ics_cron(self):
        with freeze_time(NOW):
            return self.env["meeting.event"]._cron_delete_old_ics_files()

    def test_only_this_addon_calendar_files_past_retention_go(self):
        old = [
            self.attach(self.meeting, "calendar_file", "calendar_file", age=91),
            self.attach(self.booking, "calendar_file", "calendar_file", age=91),
            self.attach(self.meeting, "invitation.ics", age=91),
            self.attach(self.booking, "Invite.ICS", mimetype="text/plain", age=91),
            self.attach(self.meeting, "invite", mimetype="text/calendar", age=91),
        ]
        kept = [
            self.attach(self.meeting, "calendar_file", "calendar_file", age=89),
            self.attach(self.booking, "invitation.ics", age=89),
            self.attach(self.partner, "invitation.ics", age=365),
            self.attach(
                self.meeting, "agenda.pdf", mimetype="application/pdf", age=365
            ),
        ]

        stats = self.run_ics_cron()

        self.assertFalse(self.existing_attachment_ids(old), "old ICS files go")
        self.assertEqual(
            self.existing_attachment_ids(kept),
            set(kept),
            "newer files, other models' and other kinds of files stay",
        )
        self.assertEqual(stats["removed"], len(old))

    def test_retention_days_parameter_is_honoured(self):
        self.set_param("meeting_rooms.ics_retention_days", 10)
        old = self.attach(self.meeting, "invitation.ics", age=11)
        recent = self.attach(self.meeting, "invitation.ics", age=9)

        self.run_ics_cron()

        self.assertEqual(self.existing_attachment_ids([old, recent]), {recent})

    def test_ics_backlog_is_batched_and_retriggers(self):
        self.set_param("meeting_rooms.cleanup_batch_size", 2)
        self.set_param("meeting_rooms.cleanup_time_budget", 1)
        old = [self.attach(self.meeting, "invitation.ics", age=100) for _i in range(3)]

        with (
            self.capture_triggers(ICS_CRON) as capture,
            freeze_time(NOW, auto_tick_seconds=2),
        ):
            stats = self.env["meeting.event"]._cron_delete_old_ics_files()

        self.assertEqual((stats["removed"], stats["batches"]), (2, 1))
        self.assertEqual(len(self.existing_attachment_ids(old)), 1)
        self.assertEqual(len(capture.records), 1, "the cron runs again soon")

    def test_run_logs_one_summary(self):
        self.attach(self.meeting, "invitation.ics", age=100)

        with self.assertLogs(CLEANUP_LOGGER, logging.INFO) as logs:
            self.run_ics_cron()

        self.assertEqual(len(logs.output), 1)
        self.assertIn("removed 1 calendar files older than 90 days", logs.output[0])


class TestCleanupCrons(CleanupCase):
    def test_crons_are_scheduled_daily_and_weekly(self):
        for xmlid, interval, method in (
            (ACTIVITY_CRON, "days", "_cron_auto_delete_activities"),
            (ICS_CRON, "weeks", "_cron_delete_old_ics_files"),
        ):
            cron = self.env.ref(xmlid)
            self.assertTrue(cron.active, xmlid)
            self.assertEqual((cron.interval_number, cron.interval_type), (1, interval))
            self.assertEqual(cron.numbercall, -1, "runs forever")
            self.assertEqual(cron.model_id.model, "meeting.event")
            self.assertEqual(cron.code, f"model.{method}()")
            self.assertEqual(cron.user_id, self.env.ref("base.user_root"))

    def test_run_manually_cleans_up(self):
        admin = new_test_user(self.env, "mr_sysadmin", groups="base.group_system")
        overdue = self.insert_activities(self.meeting, self.host, "2020-01-01")

        self.env.ref(ACTIVITY_CRON).with_user(admin).method_direct_trigger()

        self.assertFalse(self.existing_activity_ids(overdue))
        old_file = self.attach(self.meeting, "invitation.ics", age=3650)
        self.env.ref(ICS_CRON).with_user(admin).method_direct_trigger()
        self.assertFalse(self.existing_attachment_ids([old_file]))

    def test_deleting_attachments_does_not_scan_the_whole_table(self):
        # Every attachment deleted makes PostgreSQL look for attachments that
        # name it as their original; without an index that is a full scan.
        self.env.cr.execute(
            """
            SELECT indexdef FROM pg_indexes
             WHERE tablename = 'ir_attachment' AND indexdef LIKE '%(original_id)%'
            """
        )
        self.assertTrue(self.env.cr.fetchall(), "ir_attachment.original_id is indexed")
