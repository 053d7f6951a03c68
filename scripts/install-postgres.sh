#!/usr/bin/env bash
# Make sure the PostgreSQL server binaries (initdb, postgres) that tests/e2e/test_postgres.py starts are installed:
# found on PATH or in Debian's versioned folder /usr/lib/postgresql/<major>/bin, or else installed with apt-get
# (Debian's `postgresql` package, which also creates the `postgres` user the tests run the server as under root).
# The package may start a cluster of its own on 5432; the tests never use it. Run by .ci/run before the tests.
set -euo pipefail

found() {
    local dir
    local on_path
    on_path=$(command -v initdb 2>/dev/null || true)
    for dir in ${on_path:+"$(dirname "$(readlink -f "$on_path")")"} /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

if dir=$(found); then
    echo "PostgreSQL server binaries: $dir ($("$dir/postgres" --version))"
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "PostgreSQL server binaries (initdb, postgres) are missing and there is no apt-get to install them:" >&2
    echo "install your distribution's PostgreSQL server package (14 or newer), then run this again." >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
    if ! command -v sudo >/dev/null; then
        echo "PostgreSQL server binaries are missing; installing them needs root (apt-get install postgresql)." >&2
        exit 1
    fi
    sudo=(sudo)
fi
echo "PostgreSQL server binaries not found: apt-get install postgresql"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends postgresql >/dev/null
if ! dir=$(found); then
    echo "apt-get installed postgresql but initdb/postgres are still not found" >&2
    exit 1
fi
echo "PostgreSQL server binaries: $dir ($("$dir/postgres" --version))"
