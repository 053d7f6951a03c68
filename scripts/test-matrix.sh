#!/usr/bin/env bash
# One venv per row of the Airflow matrix, each installed from its pinned set in constraints/, and on each: the fast
# tests, the example-DAG runs (`airflow dags test`), and on the rows named in E2E_ROWS the real scheduler + triggerer
# end-to-end suite. Run by `make test-matrix`; ROWS picks rows (default: every constraints/*.in, then moto-newest).
# The row moto-newest is the airflow-3.3 set with moto resolved afresh at every run to the newest release the
# `local` extra allows (the local Glue relies on moto's internals): only the fast tests, which hold the local-Glue
# and pytest-fixture tests and drive every hook, trigger, sensor and operator path through the local Glue.
# Prints one line per row and a table at the end; exits non-zero if any row failed.
set -uo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-.venv/bin/uv}
rows=${ROWS:-}; rows=${rows:-$(for f in constraints/*.in; do basename "$f" .in; done) moto-newest}
e2e_rows=${E2E_ROWS:-airflow-3.0 airflow-3.3}
summary=()
failed=0
for row in $rows; do
    venv=.matrix/$row
    log=.matrix/$row.log
    start=$SECONDS
    mkdir -p .matrix
    (
        set -e
        constraints=constraints/$row.txt
        if [ "$row" = moto-newest ]; then
            constraints=.matrix/$row.constraints.txt
            grep -v '^moto==' constraints/airflow-3.3.txt >"$constraints"
        fi
        # A venv is rebuilt only when its pinned set or pyproject.toml changed (uv's cache makes a rebuild cheap).
        if ! cat "$constraints" pyproject.toml | cmp -s - "$venv/.constraints" 2>/dev/null; then
            rm -rf "$venv"
            "$uv" venv --quiet --python python3 "$venv"
            "$uv" pip install --quiet --python "$venv/bin/python" -e '.[test]' -c "$constraints"
            cat "$constraints" pyproject.toml >"$venv/.constraints"
        fi
        if [ "$row" = moto-newest ]; then
            # Ask the index again every run: a moto released since the venv was built is picked up.
            "$uv" pip install --quiet --python "$venv/bin/python" -e '.[test]' -c "$constraints" \
                --upgrade-package moto --refresh-package moto
        fi
        versions=$("$venv/bin/python" -c 'import importlib.metadata as m; print(" ".join(p + "=" + m.version(p) for p in ("apache-airflow", "apache-airflow-providers-amazon", "moto")))')
        echo "== $row: $versions"
        "$venv/bin/pytest" -q -p no:cacheprovider -m "not slow" tests --ignore=tests/e2e
        if [ "$row" != moto-newest ]; then
            "$venv/bin/pytest" -q -p no:cacheprovider tests/test_example_dags.py
        fi
        case " $e2e_rows " in
            *" $row "*) "$venv/bin/pytest" -q -p no:cacheprovider tests/e2e ;;
        esac
    ) >"$log" 2>&1
    status=$?
    seconds=$((SECONDS - start))
    result=$(grep -E '^(=+ )?[0-9]+ (passed|failed)' "$log" | tr '\n' ' ' | sed 's/=//g')
    if [ $status -eq 0 ]; then verdict=ok; else verdict=FAILED; failed=1; fi
    moto=$(grep -m1 -oE '^== .* moto=[^ ]+' "$log" | grep -oE 'moto=[^ ]+$')
    line=$(printf '%-14s %-7s %4ss  %-11s %s' "$row" "$verdict" "$seconds" "$moto" "$result")
    echo "$line"
    [ $status -eq 0 ] || tail -n 40 "$log"
    summary+=("$line")
done
echo
echo "Airflow matrix ($(date -u +%Y-%m-%d)):"
printf '%s\n' "${summary[@]}"
exit $failed
