from . import test_meeting_event
from . import test_room_bookings
from . import test_access
