import logging
import time
from datetime import timedelta

import pytz

from odoo import api, fields, models
from odoo.modules import module as odoo_module
from odoo.tools import config
from odoo.tools.sql import create_index

_logger = logging.getLogger(__name__)

# The models whose activities and calendar files this addon cleans up.
CLEANUP_MODELS = ("meeting.event", "meeting.rooms")

BATCH_SIZE_PARAM = "meeting_rooms.cleanup_batch_size"
TIME_BUDGET_PARAM = "meeting_rooms.cleanup_time_budget"
RETENTION_DAYS_PARAM = "meeting_rooms.ics_retention_days"
DEFAULT_BATCH_SIZE = 1000
DEFAULT_TIME_BUDGET = 60
DEFAULT_RETENTION_DAYS = 90

ACTIVITY_CRON_XMLID = "meeting_rooms.ir_cron_auto_delete_meeting_activities"
ICS_CRON_XMLID = "meeting_rooms.ir_cron_cleanup_old_ics_files"
ATTACHMENT_ORIGINAL_INDEX = "meeting_rooms_ir_attachment_original_id_index"


# The cleanup jobs, the invitations and the meeting itself are split by concern
# so that each file reads in one sitting.
class MeetingEvent(models.Model):
    _inherit = "meeting.event"  # pylint: disable=consider-merging-classes-inherited

    def init(self):
        result = super().init()
        # ``ir_attachment.original_id`` (web_editor) references ir_attachment
        # without an index, so PostgreSQL scans the whole table for every
        # attachment deleted: about 10 s per 1000 calendar files on a small
        # database, and worse as it grows. Few attachments have an original,
        # so a partial index is small; the foreign key check uses it.
        create_index(
            self.env.cr,
            ATTACHMENT_ORIGINAL_INDEX,
            "ir_attachment",
            ["original_id"],
            where="original_id IS NOT NULL",
        )
        return result

    @api.model
    def _cron_auto_delete_activities(self):
        """Remove the activities of meetings and room bookings that are overdue
        for the user they are assigned to, batch after batch.

        :return: the run's figures (see :meth:`_run_cleanup_batches`)
        """
        remove_batch = self._remove_activities_in_sql
        if not self._can_remove_activities_in_sql():
            _logger.info(
                "Activity deletion is extended by another module; the cleanup "
                "removes activities through the ORM, more slowly"
            )
            remove_batch = self._remove_activities_orm
        return self._run_cleanup_batches(
            what="overdue activities",
            cron_xmlid=ACTIVITY_CRON_XMLID,
            select_batch=self._select_overdue_activity_ids,
            remove_batch=remove_batch,
        )

    @api.model
    def _cron_delete_old_ics_files(self):
        """Remove the calendar files of meetings and room bookings created
        longer ago than the retention period, batch after batch.

        :return: the run's figures (see :meth:`_run_cleanup_batches`)
        """
        retention_days = self._get_cleanup_setting(
            RETENTION_DAYS_PARAM, DEFAULT_RETENTION_DAYS
        )
        cutoff = fields.Datetime.now() - timedelta(days=retention_days)
        return self._run_cleanup_batches(
            what="calendar files older than %s days" % retention_days,
            cron_xmlid=ICS_CRON_XMLID,
            select_batch=lambda after_id, limit: self._select_old_ics_attachment_ids(
                cutoff, after_id, limit
            ),
            remove_batch=self._remove_attachments,
        )

    # ------------------------------------------------------------------
    # Batch engine
    # ------------------------------------------------------------------

    @api.model
    def _run_cleanup_batches(self, what, cron_xmlid, select_batch, remove_batch):
        """Remove records batch after batch, each in its own transaction,
        until nothing is left or the run's time budget is spent; a run that
        leaves a backlog re-triggers its cron so the backlog drains now rather
        than at the next scheduled call.

        :param str what: what is removed, for the summary log line
        :param str cron_xmlid: the cron to re-trigger while a backlog is left
        :param select_batch: ``(after_id, limit) -> ids``: the next ids above
            ``after_id`` in ascending order, locking the rows it returns and
            skipping the rows another worker has locked
        :param remove_batch: ``ids -> None``, removes those records
        :return: ``removed``, ``batches``, ``longest_batch`` (seconds),
            ``duration`` (seconds) and ``backlog`` (bool)
        :rtype: dict
        """
        batch_size = self._get_cleanup_setting(BATCH_SIZE_PARAM, DEFAULT_BATCH_SIZE)
        budget = self._get_cleanup_time_budget()
        auto_commit = self._can_commit_cleanup()
        if auto_commit:
            # Each batch is its own short transaction, so a run never holds
            # locks for long and a run stopped half way loses nothing.
            self.env.cr.commit()  # pylint: disable=invalid-commit
        started = time.monotonic()
        removed = batches = 0
        longest_batch = 0.0
        backlog = False
        # Each batch starts after the last id removed: the rows just deleted
        # stay in the index as dead entries until vacuum, and scanning them
        # again from the start would make every batch slower than the last.
        last_id = 0
        while True:
            batch_started = time.monotonic()
            self._begin_cleanup_transaction(auto_commit)
            ids = select_batch(last_id, batch_size)
            if not ids:
                break
            remove_batch(ids)
            if auto_commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit
            # Forget the removed records, so memory stays flat on any backlog.
            self.env.invalidate_all()
            last_id = ids[-1]
            removed += len(ids)
            batches += 1
            longest_batch = max(longest_batch, time.monotonic() - batch_started)
            if len(ids) < batch_size:
                break
            if time.monotonic() - started >= budget:
                self._begin_cleanup_transaction(auto_commit)
                backlog = bool(select_batch(last_id, 1))
                break
        duration = time.monotonic() - started
        if backlog:
            cron = self.env.ref(cron_xmlid, raise_if_not_found=False)
            if cron:
                cron.sudo()._trigger()
        _logger.info(
            "Cleanup removed %s %s; batches: %s of at most %s, longest %.3fs; "
            "took %.1fs; %s",
            removed,
            what,
            batches,
            batch_size,
            longest_batch,
            duration,
            "backlog left, cron re-triggered" if backlog else "nothing left",
        )
        return {
            "removed": removed,
            "batches": batches,
            "longest_batch": longest_batch,
            "duration": duration,
            "backlog": backlog,
        }

    @api.model
    def _can_commit_cleanup(self):
        """Whether each batch commits on its own, so no transaction grows
        with the backlog and a run killed half way keeps what it did. Tests
        run in one transaction that must never be committed."""
        return not (odoo_module.current_test or self.env.registry.in_test_mode())

    @api.model
    def _begin_cleanup_transaction(self, auto_commit):
        """Open a batch's transaction in READ COMMITTED when batches commit.

        Odoo's REPEATABLE READ makes locking a row that a concurrent run
        deleted after this transaction's snapshot fail with a serialization
        error; in READ COMMITTED, ``FOR UPDATE SKIP LOCKED`` just passes over
        it, so two runs share a backlog without errors.
        """
        if auto_commit:
            self.env.cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")

    @api.model
    def _get_cleanup_setting(self, key, default):
        """The positive integer stored in system parameter ``key``, or
        ``default`` (with a warning) when it holds anything else."""
        raw = self.env["ir.config_parameter"].sudo().get_param(key)
        if raw in (None, False, ""):
            return default
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value <= 0:
            _logger.warning(
                "System parameter %s is not a positive integer; using %s",
                key,
                default,
            )
            return default
        return value

    @api.model
    def _get_cleanup_time_budget(self):
        """Seconds a run may spend, kept under half the cron worker's time
        limit so a run always ends by itself instead of being killed."""
        budget = self._get_cleanup_setting(TIME_BUDGET_PARAM, DEFAULT_TIME_BUDGET)
        limit = config.get("limit_time_real_cron") or 0
        if limit < 0:
            limit = config.get("limit_time_real") or 0
        if limit > 0 and budget > limit / 2:
            _logger.warning(
                "System parameter %s exceeds half the cron time limit; using %s",
                TIME_BUDGET_PARAM,
                limit // 2,
            )
            budget = limit // 2
        return budget

    # ------------------------------------------------------------------
    # Activities
    # ------------------------------------------------------------------

    @api.model
    def _get_user_today_by_tz(self):
        """Today's date in every timezone users have, as ``(tz, dates, utc)``:
        the timezone names (``''`` for none), their dates, and the UTC date
        for a timezone that is empty or unknown, as Odoo computes an
        activity's state."""
        now = pytz.utc.localize(fields.Datetime.now())
        utc_today = now.date()
        self.env.cr.execute(
            """
            SELECT DISTINCT COALESCE(p.tz, '')
              FROM res_users u
              JOIN res_partner p ON p.id = u.partner_id
            """
        )
        names, dates = [], []
        for (name,) in self.env.cr.fetchall():
            try:
                today = now.astimezone(pytz.timezone(name)).date()
            except pytz.UnknownTimeZoneError:
                today = utc_today
            names.append(name)
            dates.append(today)
        return names, dates, utc_today

    @api.model
    def _select_overdue_activity_ids(self, after_id, limit):
        """Lock and return, in ascending order, up to ``limit`` ids above
        ``after_id`` of open activities of meetings and room bookings whose
        deadline is before today for their assignee.

        An activity is overdue when its deadline is before the assignee's
        today, so the date is compared per timezone. Rows locked by another
        worker are skipped: two runs never remove the same activities.
        """
        names, dates, utc_today = self._get_user_today_by_tz()
        self.env.cr.execute(
            """
            SELECT a.id
              FROM mail_activity a
              JOIN res_users u ON u.id = a.user_id
              JOIN res_partner p ON p.id = u.partner_id
              LEFT JOIN unnest(%s::varchar[], %s::date[]) AS zone(tz, today)
                ON zone.tz = COALESCE(p.tz, '')
             WHERE a.id > %s
               AND a.res_model IN %s
               AND a.date_done IS NULL
               AND a.date_deadline < %s
               AND a.date_deadline < COALESCE(zone.today, %s)
             ORDER BY a.id
             LIMIT %s
               FOR UPDATE OF a SKIP LOCKED
            """,
            [
                names,
                dates,
                after_id,
                CLEANUP_MODELS,
                max([*dates, utc_today]),
                utc_today,
                limit,
            ],
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _can_remove_activities_in_sql(self):
        """Whether :meth:`_remove_activities_in_sql` does all an activity's
        deletion does here: no module but ``mail`` extends ``unlink`` or adds
        deletion checks, and no company-dependent field keeps properties."""
        activity_model = self.env["mail.activity"]
        unlink_owners = {
            getattr(cls, "_module", None)
            for cls in type(activity_model).__mro__
            if "unlink" in vars(cls)
        }
        return (
            unlink_owners <= {"mail", None}
            and not activity_model._ondelete_methods
            and not any(f.company_dependent for f in activity_model._fields.values())
        )

    @api.model
    def _remove_activities_in_sql(self, ids):
        """Delete activities with what ``mail.activity.unlink`` does that
        still matters once they are overdue, in a handful of statements.

        Measured on 2 cores, the ORM's per-record bookkeeping (access checks,
        recompute triggers, property and default lookups, an audit line with
        every id) costs about 70 ms per 1000 activities and caps a run near
        11,000 per second; this costs about 15 ms. Kept from the ORM: the
        assignees' open web clients are told (their activity counters refresh),
        the activities' own attachments and external ids are removed, and
        the attachment links go by their foreign key cascade. Only used while
        :meth:`_can_remove_activities_in_sql` holds.
        """
        self.env.cr.execute(
            "DELETE FROM mail_activity WHERE id = ANY(%s) RETURNING user_id", [ids]
        )
        users = (
            self.env["res.users"]
            .sudo()
            .browse({row[0] for row in self.env.cr.fetchall()})
        )
        # Only a client that is open has a counter to refresh; the others read
        # it afresh when they next log in. Telling every assignee cost two
        # thirds of a batch on a backlog spread over hundreds of users.
        online = users.filtered(lambda user: user.im_status != "offline")
        self.env["bus.bus"]._sendmany(
            [
                [partner, "mail.activity/updated", {"activity_deleted": True}]
                for partner in online.partner_id
            ]
        )
        external_ids = (
            self.env["ir.model.data"]
            .sudo()
            .search([("model", "=", "mail.activity"), ("res_id", "in", ids)])
        )
        # Even an empty unlink of external ids clears every worker's caches.
        if external_ids:
            external_ids.unlink()
        self.env.cr.execute(
            """
            SELECT id
              FROM ir_attachment
             WHERE res_model = 'mail.activity' AND res_id = ANY(%s)
            """,
            [ids],
        )
        attachment_ids = [row[0] for row in self.env.cr.fetchall()]
        if attachment_ids:
            self._remove_attachments(attachment_ids)

    @api.model
    def _remove_activities_orm(self, ids):
        self.env["mail.activity"].sudo().browse(ids).unlink()

    # ------------------------------------------------------------------
    # Calendar files
    # ------------------------------------------------------------------

    @api.model
    def _select_old_ics_attachment_ids(self, cutoff, after_id, limit):
        """Lock and return, in ascending order, up to ``limit`` ids above
        ``after_id`` of the calendar files of meetings and room bookings
        created before ``cutoff``: their stored ``calendar_file`` and the
        ``.ics`` files attached to their messages. Raw SQL, because searching
        attachments hides the ones that store a field."""
        self.env.cr.execute(
            """
            SELECT id
              FROM ir_attachment
             WHERE id > %s
               AND res_model IN %s
               AND create_date < %s
               AND (
                    res_field = 'calendar_file'
                    OR (
                        res_field IS NULL
                        AND (name ILIKE '%%.ics' OR mimetype LIKE 'text/calendar%%')
                    )
               )
             ORDER BY id
             LIMIT %s
               FOR UPDATE SKIP LOCKED
            """,
            [after_id, CLEANUP_MODELS, cutoff, limit],
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _remove_attachments(self, ids):
        # The ORM unlink marks the files for the filestore garbage collector.
        self.env["ir.attachment"].sudo().browse(ids).unlink()
