/** @odoo-module */

import { registry } from "@web/core/registry";

// A guest books the first free slot of a booking page and lands on the
// confirmation page. Start it on /book/<token>.
registry.category("web_tour.tours").add("meeting_rooms_guest_booking", {
    test: true,
    steps: () => [
        {
            content: "Pick the first free slot",
            trigger: ".o_mr_grid a.o_mr_slot_free:first",
        },
        {
            content: "Give a name",
            trigger: ".o_mr_booking_form input[name='name']",
            run: "text Tour Guest",
        },
        {
            content: "Give two addresses",
            trigger: ".o_mr_booking_form input[name='email']",
            run: "text tour.guest@example.com, tour.colleague@example.com",
        },
        {
            content: "The browser's timezone is filled in",
            trigger: ".o_mr_booking_form",
            run() {
                if (!this.$anchor[0].querySelector("input.o_mr_guest_tz").value) {
                    throw new Error("The guest's timezone was not filled in.");
                }
            },
        },
        {
            content: "Book",
            trigger: ".o_mr_booking_form button.o_mr_submit",
        },
        {
            content: "The confirmation shows the booked meeting",
            trigger: ".o_mr_booking_confirmed .o_mr_state[data-state='confirm']",
            isCheck: true,
        },
        {
            content: "It offers the calendar file and the manage page",
            trigger: ".o_mr_booking_confirmed a.o_mr_ics + a.o_mr_manage",
            isCheck: true,
        },
    ],
});

// An employee finds their meeting from the portal home. Start it on /my.
registry.category("web_tour.tours").add("meeting_rooms_my_meetings", {
    test: true,
    steps: () => [
        {
            content: "Open the meetings from the portal home",
            trigger: "a[href='/my/meetings']",
        },
        {
            content: "Open the meeting",
            trigger: ".o_mr_my_meeting a:contains('Tour planning')",
        },
        {
            content: "Its page shows it",
            trigger: ".o_mr_meeting_page .o_mr_subject:contains('Tour planning')",
            isCheck: true,
        },
    ],
});
