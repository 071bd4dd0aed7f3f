/** @odoo-module */

import publicWidget from "@web/legacy/js/public/public_widget";

/**
 * The browser's timezone for the booking pages: a "Show in my timezone" link
 * on the grid, and the guest's timezone in the booking form. The pages work
 * without it; it only saves the visitor a choice in a long list.
 */
function browserTimezone() {
    try {
        return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch {
        return "";
    }
}

publicWidget.registry.MeetingRoomsBrowserTimezone = publicWidget.Widget.extend({
    selector: ".o_mr_browser_tz",

    start() {
        const zone = browserTimezone();
        if (zone && zone !== this.el.dataset.currentTz) {
            const url = new URL(this.el.dataset.baseUrl, window.location.origin);
            url.searchParams.set("tz", zone);
            this.el.href = url.pathname + url.search;
            this.el.classList.remove("d-none");
        }
        return this._super(...arguments);
    },
});

publicWidget.registry.MeetingRoomsGuestTimezone = publicWidget.Widget.extend({
    selector: ".o_mr_guest_tz",

    start() {
        if (!this.el.value) {
            this.el.value = browserTimezone();
        }
        return this._super(...arguments);
    },
});
