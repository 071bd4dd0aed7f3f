"""Many guests, one slot: the database keeps the promise across workers."""

import datetime
import re
import threading
import xmlrpc.client
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

CSRF_RE = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


def _slot(days_ahead, hour, minute=0):
    day = datetime.date.today() + datetime.timedelta(days=days_ahead)
    return f"{day.isoformat()} {hour:02d}:{minute:02d}:00"


def _open_form(odoo, time_str):
    """A guest's own session, holding the booking form of ``time_str``."""
    import requests

    session = requests.Session()
    page = session.get(
        f"{odoo.url}/booking/details",
        params={"token": odoo.token, "time_str": time_str},
        timeout=60,
    )
    assert page.status_code == 200, f"the form of {time_str} opens: {page.status_code}"
    return session, CSRF_RE.search(page.text).group(1)


def _submit_all(odoo, forms):
    """POST every prepared form at the same instant; returns the responses."""
    barrier = threading.Barrier(len(forms))

    def submit(index):
        session, csrf, time_str = forms[index]
        barrier.wait()
        return session.post(
            f"{odoo.url}/booking/submit",
            data={
                "csrf_token": csrf,
                "token": odoo.token,
                "time_str": time_str,
                "name": f"Guest {index}",
                "email": f"guest{index}@example.com",
                "subject": "Race",
            },
            allow_redirects=False,
            timeout=120,
        )

    with ThreadPoolExecutor(max_workers=len(forms)) as pool:
        return list(pool.map(submit, range(len(forms))))


def _live_meetings(odoo, time_str):
    return int(
        odoo.sql(
            "SELECT count(*) FROM meeting_event "
            f"WHERE booking_link_id = {odoo.link_id} AND state != 'cancel' "
            f"AND start_date = '{time_str}'"
        )[0][0]
    )


def _is_success(response):
    return response.status_code in (200, 303) and "taken" not in response.text


def test_fifty_guests_for_one_slot_get_one_meeting_twenty_times_over(live_odoo):
    for round_ in range(20):
        time_str = _slot(2 + round_ // 8, 8 + round_ % 8)
        forms = [(*_open_form(live_odoo, time_str), time_str) for _ in range(50)]
        responses = _submit_all(live_odoo, forms)
        statuses = Counter(r.status_code for r in responses)
        winners = [r for r in responses if _is_success(r)]
        assert len(winners) == 1, f"round {round_}: one winner, got {statuses}"
        losers = [r for r in responses if not _is_success(r)]
        assert all(r.status_code == 409 for r in losers), statuses
        assert all("just taken" in r.text for r in losers)
        assert _live_meetings(live_odoo, time_str) == 1, f"round {round_}"


def test_twenty_guests_for_twenty_slots_get_twenty_meetings(live_odoo):
    times = [_slot(10, 0, 0)] + [_slot(10, hour, 0) for hour in range(1, 20)]
    forms = [(*_open_form(live_odoo, time_str), time_str) for time_str in times]
    responses = _submit_all(live_odoo, forms)
    assert all(_is_success(r) for r in responses), [r.status_code for r in responses]
    for time_str in times:
        assert _live_meetings(live_odoo, time_str) == 1, time_str


def test_two_users_booking_one_room_at_once_one_gets_a_clear_message(live_odoo):
    url = f"{live_odoo.url}/xmlrpc/2"
    start = datetime.datetime.combine(
        datetime.date.today() + datetime.timedelta(days=20), datetime.time(9)
    )
    values = {
        "subject": "Room race",
        "room_location_ids": [(6, 0, [live_odoo.room_id])],
        "start_date": start.strftime("%Y-%m-%d %H:%M:%S"),
        "end_date": (start + datetime.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
    }
    logins = [("live_host", "live_host_pw"), ("live_colleague", "live_colleague_pw")]
    barrier = threading.Barrier(len(logins))

    def book(login):
        common = xmlrpc.client.ServerProxy(f"{url}/common")
        uid = common.authenticate(live_odoo.db_name, login[0], login[1], {})
        models = xmlrpc.client.ServerProxy(f"{url}/object")
        barrier.wait()
        try:
            meeting_id = models.execute_kw(
                live_odoo.db_name, uid, login[1], "meeting.event", "create", [values]
            )
            models.execute_kw(
                live_odoo.db_name,
                uid,
                login[1],
                "meeting.event",
                "action_confirm",
                [[meeting_id]],
            )
            return "booked"
        except xmlrpc.client.Fault as fault:
            return fault.faultString

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(book, logins))
    assert outcomes.count("booked") == 1, outcomes
    refusal = next(o for o in outcomes if o != "booked")
    assert "Live Room is already booked" in refusal, refusal
    booked = live_odoo.sql(
        "SELECT count(*) FROM meeting_rooms "
        f"WHERE room_location_id = {live_odoo.room_id} AND state != 'cancel'"
    )
    assert booked == [["1"]]
