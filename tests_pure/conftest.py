"""Make the modules of ``tools/`` importable by name, without Odoo.

They live in the addon package, whose ``__init__.py`` imports Odoo, so the tests
import them as top-level modules (``import timeslots``) from ``tools/`` instead.
"""

import sys
from pathlib import Path

TOOLS_DIR = Path(__file__).resolve().parent.parent / "tools"

# Prepended so our modules win over installed packages of the same name (PyPI
# has an "ics", for one). This is also why no module in tools/ may be named
# after a stdlib module.
if str(TOOLS_DIR) not in sys.path:
    sys.path.insert(0, str(TOOLS_DIR))

import timeslots  # noqa: E402

# Fail loudly if some other "timeslots" was imported before this file ran.
assert Path(timeslots.__file__).resolve().parent == TOOLS_DIR, (
    f"imported {timeslots.__file__}, expected the one in {TOOLS_DIR}"
)
