from datetime import timedelta

from odoo import fields
from odoo.tests import new_test_user, tagged

from .test_booking_routes import BookingHttpCase


@tagged("post_install", "-at_install")
class TestBookingTours(BookingHttpCase):
    def test_guest_books_from_the_grid_to_the_confirmation(self):
        self.start_tour(
            f"/book/{self.token}", "meeting_rooms_guest_booking", login=None
        )
        meeting = (
            self.env["meeting.event"]
            .sudo()
            .search([("booking_link_id", "=", self.link.id)])
        )
        self.assertEqual(len(meeting), 1, "one meeting booked by the tour")
        self.assertEqual(meeting.partner_id.email, "tour.guest@example.com")
        self.assertEqual(meeting.guest_emails, "tour.colleague@example.com")
        self.assertTrue(meeting.guest_tz, "the browser's timezone was sent")

    def test_employee_finds_their_meeting_in_the_portal(self):
        employee = new_test_user(self.env, "mr_tour_employee", groups="base.group_user")
        start = fields.Datetime.now() + timedelta(days=2)
        self.env["meeting.event"].sudo().create(
            {
                "subject": "Tour planning",
                "host_user_id": employee.id,
                "start_date": start,
                "end_date": start + timedelta(hours=1),
            }
        )
        self.start_tour("/my", "meeting_rooms_my_meetings", login="mr_tour_employee")
