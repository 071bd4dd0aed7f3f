from . import room_location
from . import virtual_room
from . import meeting_event
from . import meeting_event_cleanup
from . import meeting_event_invitation
from . import meeting_rooms
from . import meeting_booking_link
