# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Meeting Rooms",
    "summary": "Book rooms and meetings, share a public booking page, send "
    "invitations every calendar accepts",
    "version": "17.0.1.0.0",
    "category": "Productivity",
    "website": "https://github.com/meeting-rooms/meeting_rooms",
    "author": "Meeting Rooms Contributors",
    "license": "LGPL-3",
    "application": True,
    "installable": True,
    "depends": ["mail", "calendar", "portal", "website"],
    "external_dependencies": {"python": ["icalendar", "pytz"]},
    "data": [
        "security/meeting_rooms_groups.xml",
        "security/ir.model.access.csv",
        "security/meeting_rooms_rules.xml",
        "data/cron_job.xml",
        "data/mail_templates.xml",
        "views/room_location_views.xml",
        "views/virtual_room_views.xml",
        "views/meeting_event_views.xml",
        "views/meeting_rooms_views.xml",
        "views/meeting_booking_link_views.xml",
        "views/booking_templates.xml",
        "views/portal_templates.xml",
        "views/meeting_rooms_menus.xml",
    ],
    "demo": [
        "demo/meeting_rooms_demo.xml",
    ],
    "uninstall_hook": "uninstall_hook",
    "assets": {
        "web.assets_frontend": [
            "meeting_rooms/static/src/scss/booking.scss",
            "meeting_rooms/static/src/js/booking_timezone.js",
        ],
        "web.assets_tests": [
            "meeting_rooms/static/src/js/tours/*.js",
        ],
    },
}
