"""A real Odoo 17 server with worker processes, on its own throw-away database.

Used by the live tests and by the benchmark: Odoo is driven through its command
line (install, shell, serve), never imported here, so this module loads even
where Odoo is absent and the tests can skip cleanly.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ADDON_DIR = Path(__file__).resolve().parent.parent
ODOO_MAIN = "import sys, odoo.cli; sys.argv[0] = 'odoo'; odoo.cli.main()"


def odoo_available():
    """Whether ``python3`` here imports an Odoo 17."""
    probe = subprocess.run(
        [sys.executable, "-c", "import odoo.release as r; print(r.version_info[0])"],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.returncode == 0 and probe.stdout.strip() == "17"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def odoo_addons_path():
    """Odoo's own addons folders (as its config computes them), then ours."""
    if os.environ.get("ODOO_ADDONS_PATH"):
        base = os.environ["ODOO_ADDONS_PATH"]
    else:
        code = (
            "import os, odoo; root = os.path.dirname(odoo.__file__); "
            "paths = [os.path.join(root, 'addons'), "
            "os.path.abspath(os.path.join(root, '..', 'addons'))]; "
            "print(','.join(p for p in paths if os.path.isdir(p)))"
        )
        base = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
    return base


class LiveOdoo:
    """One database and one server started from it."""

    def __init__(self, db_name, workers=2, log_dir=None):
        self.db_name = db_name
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._tmp = Path(tempfile.mkdtemp(prefix="mr_live_"))
        self.log_dir = Path(log_dir) if log_dir else self._tmp
        # Odoo loads an addon by its folder's name: link ours as meeting_rooms.
        links = self._tmp / "addons"
        links.mkdir()
        (links / "meeting_rooms").symlink_to(ADDON_DIR)
        self.addons_path = f"{odoo_addons_path()},{links}"
        self._server = None

    def _odoo(self, *args, stdin=None, log_name="odoo.log", timeout=900):
        command = [
            sys.executable,
            "-c",
            ODOO_MAIN,
            *args,
            f"--addons-path={self.addons_path}",
            "-d",
            self.db_name,
        ]
        with open(self.log_dir / log_name, "a") as log:
            done = subprocess.run(
                command,
                input=stdin,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                timeout=timeout,
                check=False,
            )
        if done.returncode:
            raise RuntimeError(
                f"odoo {' '.join(args[:2])} failed ({done.returncode}), see "
                f"{self.log_dir / log_name}"
            )
        return done.stdout

    def create(self, demo=False):
        """Create the database with meeting_rooms installed."""
        subprocess.run(["dropdb", "--if-exists", self.db_name], check=True)
        args = ["-i", "meeting_rooms", "--stop-after-init", "--log-level=warn"]
        if not demo:
            args.append("--without-demo=all")
        self._odoo(*args, "--http-port", str(free_port()))

    def shell(self, code):
        """Run Python in ``odoo shell`` (``env`` is bound); returns its output.

        The code must commit what it wants to keep.
        """
        return self._odoo("shell", "--no-http", "--log-level=warn", stdin=code)

    def sql(self, query):
        """One SQL query through psql; the rows as lists of strings."""
        done = subprocess.run(
            ["psql", "-d", self.db_name, "-At", "-F", "\t", "-c", query],
            capture_output=True,
            text=True,
            check=True,
        )
        return [line.split("\t") for line in done.stdout.splitlines() if line]

    def start(self, extra_args=()):
        """Serve the database with worker processes (prefork mode)."""
        command = [
            sys.executable,
            "-c",
            ODOO_MAIN,
            f"--addons-path={self.addons_path}",
            "-d",
            self.db_name,
            f"--db-filter=^{self.db_name}$",
            "--http-interface=127.0.0.1",
            f"--http-port={self.port}",
            f"--workers={self.workers}",
            "--max-cron-threads=0",
            "--limit-time-real=120",
            "--log-level=warn",
            *extra_args,
        ]
        log = open(self.log_dir / "server.log", "a")  # noqa: SIM115 (kept open)
        self._server = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._server_log = log
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self._server.poll() is not None:
                raise RuntimeError(f"Odoo stopped, see {self.log_dir / 'server.log'}")
            try:
                with urllib.request.urlopen(f"{self.url}/web/health", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("Odoo did not answer within 120 s")

    def stop(self):
        if self._server and self._server.poll() is None:
            os.killpg(self._server.pid, 15)
            try:
                self._server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self._server.pid, 9)
                self._server.wait()
        if self._server:
            self._server_log.close()
        self._server = None

    def drop(self):
        self.stop()
        subprocess.run(["dropdb", "--if-exists", self.db_name], check=False)
        shutil.rmtree(self._tmp, ignore_errors=True)
