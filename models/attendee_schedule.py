"""Each attendance row carries its meeting's time and state, kept by PostgreSQL.

A booking page must know when its host attends someone else's meeting. Asked
of ``meeting_event`` that is a scan of every meeting of the week, or of every
meeting the host ever attended; with the meeting's time on the attendance row
itself, one GiST index on (user, time range) answers it at the same cost for a
thousand or a million meetings.

Triggers keep the copy, not the ORM, so that it holds on every write path: the
ORM, imports, ``copy()`` and plain SQL alike.
"""

from odoo.tools import SQL
from odoo.tools.sql import column_exists

ATTENDEE_BUSY_INDEX = "meeting_event_attendee_rel_busy_index"


def install_attendee_schedule(cr):
    """Add the schedule columns, their triggers and their index (idempotent;
    rows written before the columns existed are filled once)."""
    added = not column_exists(cr, "meeting_event_attendee_rel", "start_date")
    cr.execute(
        """
        ALTER TABLE meeting_event_attendee_rel
            ADD COLUMN IF NOT EXISTS start_date timestamp,
            ADD COLUMN IF NOT EXISTS end_date timestamp,
            ADD COLUMN IF NOT EXISTS state varchar
        """
    )
    # A new attendance row takes its meeting's schedule...
    cr.execute(
        """
        CREATE OR REPLACE FUNCTION meeting_rooms_attendee_copy_schedule()
        RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            SELECT event.start_date, event.end_date, event.state
              INTO NEW.start_date, NEW.end_date, NEW.state
              FROM meeting_event AS event
             WHERE event.id = NEW.meeting_event_id;
            RETURN NEW;
        END
        $$
        """
    )
    # ... and follows it when the meeting moves, is confirmed or cancelled.
    cr.execute(
        """
        CREATE OR REPLACE FUNCTION meeting_rooms_attendee_follow_schedule()
        RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE meeting_event_attendee_rel
               SET start_date = NEW.start_date,
                   end_date = NEW.end_date,
                   state = NEW.state
             WHERE meeting_event_id = NEW.id;
            RETURN NULL;
        END
        $$
        """
    )
    # CREATE OR REPLACE TRIGGER needs PostgreSQL 14; Odoo 17 runs on 12.
    cr.execute(
        """
        DROP TRIGGER IF EXISTS meeting_rooms_attendee_copy_schedule
            ON meeting_event_attendee_rel;
        CREATE TRIGGER meeting_rooms_attendee_copy_schedule
        BEFORE INSERT OR UPDATE OF meeting_event_id ON meeting_event_attendee_rel
        FOR EACH ROW EXECUTE FUNCTION meeting_rooms_attendee_copy_schedule()
        """
    )
    cr.execute(
        """
        DROP TRIGGER IF EXISTS meeting_rooms_attendee_follow_schedule
            ON meeting_event;
        CREATE TRIGGER meeting_rooms_attendee_follow_schedule
        AFTER UPDATE OF start_date, end_date, state ON meeting_event
        FOR EACH ROW
        WHEN (OLD.start_date IS DISTINCT FROM NEW.start_date
              OR OLD.end_date IS DISTINCT FROM NEW.end_date
              OR OLD.state IS DISTINCT FROM NEW.state)
        EXECUTE FUNCTION meeting_rooms_attendee_follow_schedule()
        """
    )
    if added:
        cr.execute(
            """
            UPDATE meeting_event_attendee_rel AS attendance
               SET start_date = event.start_date,
                   end_date = event.end_date,
                   state = event.state
              FROM meeting_event AS event
             WHERE event.id = attendance.meeting_event_id
            """
        )
    # Only confirmed attendance makes a person busy (as confirming a meeting
    # judges it), so only those rows are indexed.
    cr.execute(
        SQL(
            """
            CREATE INDEX IF NOT EXISTS %s
                ON meeting_event_attendee_rel
             USING gist (user_id, tsrange(start_date, end_date, '[)'))
             WHERE state = 'confirm'
            """,
            SQL.identifier(ATTENDEE_BUSY_INDEX),
        )
    )


def drop_attendee_schedule(cr):
    """Drop the trigger functions, which uninstalling the module would leave
    behind (the triggers go with them, the tables with the module)."""
    cr.execute(
        """
        DROP FUNCTION IF EXISTS meeting_rooms_attendee_copy_schedule() CASCADE;
        DROP FUNCTION IF EXISTS meeting_rooms_attendee_follow_schedule() CASCADE
        """
    )
