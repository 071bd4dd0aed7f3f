from . import controllers
from . import models
from .models.attendee_schedule import drop_attendee_schedule


def uninstall_hook(env):
    drop_attendee_schedule(env.cr)
