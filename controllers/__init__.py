from . import booking
from . import portal
