# shellcheck shell=bash disable=SC2034
# Shared helpers for scripts/run-tests, scripts/serve-demo and .ci/run.
# Source it from bash; it defines functions and a few MR_* variables only.
#
# Environment it reads:
#   PYTHON            interpreter that must import Odoo 17 (default: python3)
#   ODOO_ADDONS_PATH  comma-separated addons directories of that Odoo (default:
#                     found next to the imported odoo package)

MR_PYTHON="${PYTHON:-python3}"
MR_MODULE="meeting_rooms"
MR_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

mr_say() { printf '%s\n' "$*"; }
mr_warn() { printf '%s\n' "$*" >&2; }
mr_die() {
    printf 'error: %s\n' "$*" >&2
    exit 2
}

# The python launcher that odoo-bin is: odoo.cli.main() reads sys.argv, so
# set it to the arguments given here.
MR_ODOO_LAUNCHER='
import os, sys
os.environ["TZ"] = "UTC"  # as odoo-bin does, before Odoo reads the clock
import odoo.cli
sys.argv = ["odoo-bin"] + sys.argv[1:]
sys.exit(odoo.cli.main())
'
mr_odoo() {
    "$MR_PYTHON" -c "$MR_ODOO_LAUNCHER" "$@"
}

# mr_odoo_probe: is an Odoo 17 importable by $MR_PYTHON, with the addons we
# depend on? Sets MR_ODOO_OK (1/0), MR_ODOO_WHY (one sentence when not ok),
# MR_ODOO_VERSION and MR_ODOO_ADDONS (comma-separated, without our module).
mr_odoo_probe() {
    MR_ODOO_OK=0
    MR_ODOO_WHY=""
    MR_ODOO_VERSION=""
    MR_ODOO_ADDONS=""
    if ! command -v "$MR_PYTHON" >/dev/null 2>&1; then
        MR_ODOO_WHY="$MR_PYTHON is not on PATH"
        return 0
    fi
    local out
    out="$(ODOO_ADDONS_PATH="${ODOO_ADDONS_PATH:-}" "$MR_PYTHON" - <<'PY' 2>&1
import os
import sys

try:
    import odoo
    import odoo.cli  # noqa: F401  (pulls in the server stack and its deps)
except Exception as exc:  # any failure means: no usable Odoo here
    print("why\tOdoo is not importable by %s (%s: %s)" % (
        sys.executable, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else ""))
    sys.exit(0)
version = odoo.release.version_info
print("version\t%s" % odoo.release.version)
if version[0] != 17:
    print("why\tthe Odoo importable by %s is %s, not 17" % (
        sys.executable, odoo.release.version))
    sys.exit(0)
root = os.path.dirname(os.path.abspath(odoo.__file__))
override = os.environ.get("ODOO_ADDONS_PATH", "").strip()
# odoo/addons (base) always; then the override, or Odoo's own default: in a
# source checkout, the addons directory next to the package
paths = [os.path.join(root, "addons")]
if override:
    paths += [os.path.abspath(p.strip()) for p in override.split(",") if p.strip()]
else:
    paths.append(os.path.normpath(os.path.join(root, "..", "addons")))
paths = list(dict.fromkeys(paths))
paths = [p for p in paths if os.path.isdir(p)]
found = {m for p in paths for m in os.listdir(p)
         if os.path.isfile(os.path.join(p, m, "__manifest__.py"))}
missing = [m for m in ("base", "web", "mail", "calendar", "portal", "website")
           if m not in found]
if missing:
    print("why\tOdoo %s is importable but its addons %s were not found in %s; "
          "set ODOO_ADDONS_PATH to its addons directories" % (
              odoo.release.version, ", ".join(missing), ",".join(paths) or "(none)"))
    sys.exit(0)
print("addons\t%s" % ",".join(paths))
print("ok\t1")
PY
)"
    MR_ODOO_VERSION="$(printf '%s\n' "$out" | awk -F'\t' '$1=="version"{print $2}')"
    MR_ODOO_ADDONS="$(printf '%s\n' "$out" | awk -F'\t' '$1=="addons"{print $2}')"
    MR_ODOO_WHY="$(printf '%s\n' "$out" | awk -F'\t' '$1=="why"{print $2}')"
    if printf '%s\n' "$out" | grep -q '^ok'; then
        MR_ODOO_OK=1
    elif [ -z "$MR_ODOO_WHY" ]; then
        MR_ODOO_WHY="probing Odoo with $MR_PYTHON failed: $(printf '%s' "$out" | tail -n 1)"
    fi
}

# mr_pg_probe: can Odoo's driver reach PostgreSQL as a role that may create
# databases? Uses psycopg2 (an Odoo dependency) and libpq's defaults (PGHOST,
# PGPORT, PGUSER... are honoured). Sets MR_PG_OK (1/0) and MR_PG_WHY.
mr_pg_probe() {
    MR_PG_OK=0
    MR_PG_WHY=""
    local out
    out="$("$MR_PYTHON" - <<'PY' 2>&1
import getpass
import os

try:
    import psycopg2
except ImportError as exc:
    print("why\tpsycopg2 is not importable (%s)" % exc)
    raise SystemExit(0)
os_user = getpass.getuser()
user = os.environ.get("PGUSER") or os_user
try:
    conn = psycopg2.connect(dbname="postgres", connect_timeout=5)
except psycopg2.OperationalError as exc:
    msg = " ".join(str(exc).split())
    if "does not exist" in msg and "role" in msg:
        print("why\tPostgreSQL has no role for user %s: create one with "
              "'sudo -u postgres createuser -s %s' (%s)" % (user, user, msg))
    else:
        print("why\tPostgreSQL is not answering (%s); start it, e.g. "
              "'pg_ctlcluster --skip-systemctl-redirect <version> main start'" % msg)
    raise SystemExit(0)
with conn, conn.cursor() as cr:
    cr.execute("SELECT current_user, rolsuper OR rolcreatedb FROM pg_roles "
               "WHERE rolname = current_user")
    role, can_create = cr.fetchone()
conn.close()
if role == "postgres":
    if os_user == "postgres":
        hint = "run this as another OS user, with a role of that name"
    else:
        hint = "unset PGUSER and create a role for user %s: 'sudo -u postgres createuser -s %s'" % (os_user, os_user)
    print("why\tOdoo refuses to connect as the postgres role: %s" % hint)
elif not can_create:
    print("why\tPostgreSQL role %s may not create databases: run "
          "'sudo -u postgres psql -c \"ALTER ROLE %s CREATEDB\"'" % (role, role))
else:
    print("ok\t%s" % role)
PY
)"
    MR_PG_WHY="$(printf '%s\n' "$out" | awk -F'\t' '$1=="why"{print $2}')"
    if printf '%s\n' "$out" | grep -q '^ok'; then
        MR_PG_OK=1
    elif [ -z "$MR_PG_WHY" ]; then
        MR_PG_WHY="probing PostgreSQL failed: $(printf '%s' "$out" | tail -n 1)"
    fi
}

# mr_sql DB SQL: run one statement, print the rows tab-separated (psql when it
# is installed, else Odoo's psycopg2).
mr_sql() {
    local db="$1" sql="$2"
    if command -v psql >/dev/null 2>&1; then
        psql -X -q -v ON_ERROR_STOP=1 -At -F $'\t' -d "$db" -c "$sql"
    else
        "$MR_PYTHON" - "$db" "$sql" <<'PY'
import sys

import psycopg2

conn = psycopg2.connect(dbname=sys.argv[1])
conn.autocommit = True
with conn.cursor() as cr:
    cr.execute(sys.argv[2])
    if cr.description:
        for row in cr.fetchall():
            print("\t".join("" if v is None else str(v) for v in row))
conn.close()
PY
    fi
}

# mr_db_exists DB
mr_db_exists() {
    [ "$(mr_sql postgres "SELECT 1 FROM pg_database WHERE datname = '$1'")" = "1" ]
}

# mr_dropdb DB: drop it if it exists, closing its connections.
mr_dropdb() {
    mr_sql postgres "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" >/dev/null
}

# mr_free_port: a TCP port free on 127.0.0.1 right now.
mr_free_port() {
    "$MR_PYTHON" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
'
}

# mr_addons_dir DIR: make DIR/meeting_rooms a link to the repository, because
# Odoo finds a module by its directory name and a clone may be named anything.
# Prints the addons path to give Odoo (Odoo's own addons first).
mr_addons_dir() {
    local dir="$1"
    mkdir -p "$dir"
    ln -sfn "$MR_ROOT" "$dir/$MR_MODULE"
    if [ -n "${MR_ODOO_ADDONS:-}" ]; then
        printf '%s,%s\n' "$MR_ODOO_ADDONS" "$dir"
    else
        printf '%s\n' "$dir"
    fi
}

# mr_log_errors LOG: print the log lines at level ERROR or CRITICAL, test
# failure lines, and the warnings with which Odoo hides a broken module (demo
# data that failed and was skipped, a model nobody may access, modules left
# unloaded); returns 0 when there is at least one.
mr_log_errors() {
    grep -E '^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) |^(FAIL|ERROR): |^[0-9-]+ [0-9:,]+ [0-9]+ WARNING .*(demo data failed to install|has no access rules|Some modules are not loaded|Some modules have inconsistent states|not installable, skipped)' "$1"
}

# mr_log_filter: pass an Odoo log through, keeping warnings, errors (with
# their tracebacks) and the test summaries; everything when VERBOSE=1.
mr_log_filter() {
    awk -v verbose="${VERBOSE:-0}" '
        BEGIN { show = 1 }
        /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9:,]+ [0-9]+ [A-Z]+ / {
            show = (verbose == "1" || $4 == "WARNING" || $4 == "ERROR" \
                    || $4 == "CRITICAL" || /tests when loading database/ \
                    || /post-tests in / || /odoo\.tests\.stats/ \
                    || / odoo\.modules\.loading: Modules loaded/)
            if (show) { print; fflush() }
            next
        }
        { if (show || verbose == "1") { print; fflush() } }
    '
}

# mr_lint_copy DIR: copy the addon's files (tracked and untracked, not the
# ignored ones) to DIR/meeting_rooms. pylint names modules after the real
# directory, and pylint-odoo needs that name to be the module's.
mr_lint_copy() {
    local dest="$1/$MR_MODULE"
    rm -rf "$dest"
    mkdir -p "$dest"
    if git -C "$MR_ROOT" rev-parse --show-toplevel >/dev/null 2>&1 &&
        [ "$(git -C "$MR_ROOT" rev-parse --show-toplevel)" = "$MR_ROOT" ]; then
        (cd "$MR_ROOT" && git ls-files -z -co --exclude-standard |
            xargs -0 -r cp --parents -t "$dest" 2>/dev/null) || true
    else
        tar -C "$MR_ROOT" --exclude-vcs --exclude=__pycache__ \
            --exclude=.hypothesis --exclude=./bench/.work -cf - . |
            tar -C "$dest" -xf -
    fi
}
