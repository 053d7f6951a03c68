#!/usr/bin/env bash
# Refresh the pinned dependency sets: constraints/NAME.txt from pyproject.toml (every extra the tests use) and
# constraints/NAME.in (the Airflow patch of that row and the pins that keep it working). Run by `make constraints`.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-.venv/bin/uv}
for source in constraints/*.in; do
    name=$(basename "$source" .in)
    "$uv" pip compile pyproject.toml "$source" --extra test --python-version 3.11 --quiet \
        --custom-compile-command "make constraints" -o "constraints/$name.txt"
    echo "constraints/$name.txt: $(grep -c '==' "constraints/$name.txt") pins"
done
