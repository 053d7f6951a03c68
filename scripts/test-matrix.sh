#!/usr/bin/env bash
# One venv per row of the Airflow matrix, each installed from its pinned set in constraints/, and on each: the fast
# tests, the example-DAG runs (`airflow dags test`), and on the rows named in E2E_ROWS the real scheduler + triggerer
# end-to-end suite. Run by `make test-matrix`; ROWS picks rows (default: every constraints/*.in).
# Prints one line per row and a table at the end; exits non-zero if any row failed.
set -uo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-.venv/bin/uv}
rows=${ROWS:-}; rows=${rows:-$(for f in constraints/*.in; do basename "$f" .in; done)}
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
        # A venv is rebuilt only when its pinned set or pyproject.toml changed (uv's cache makes a rebuild cheap).
        if ! cat "constraints/$row.txt" pyproject.toml | cmp -s - "$venv/.constraints" 2>/dev/null; then
            rm -rf "$venv"
            "$uv" venv --quiet --python python3 "$venv"
            "$uv" pip install --quiet --python "$venv/bin/python" -e '.[test]' -c "constraints/$row.txt"
            cat "constraints/$row.txt" pyproject.toml >"$venv/.constraints"
        fi
        versions=$("$venv/bin/python" -c 'import importlib.metadata as m; print(" ".join(p + "=" + m.version(p) for p in ("apache-airflow", "apache-airflow-providers-amazon")))')
        echo "== $row: $versions"
        "$venv/bin/pytest" -q -p no:cacheprovider -m "not slow" tests --ignore=tests/e2e
        "$venv/bin/pytest" -q -p no:cacheprovider tests/test_example_dags.py
        case " $e2e_rows " in
            *" $row "*) "$venv/bin/pytest" -q -p no:cacheprovider tests/e2e ;;
        esac
    ) >"$log" 2>&1
    status=$?
    seconds=$((SECONDS - start))
    result=$(grep -E '^(=+ )?[0-9]+ (passed|failed)' "$log" | tr '\n' ' ' | sed 's/=//g')
    if [ $status -eq 0 ]; then verdict=ok; else verdict=FAILED; failed=1; fi
    line=$(printf '%-14s %-7s %4ss  %s' "$row" "$verdict" "$seconds" "$result")
    echo "$line"
    [ $status -eq 0 ] || tail -n 40 "$log"
    summary+=("$line")
done
echo
echo "Airflow matrix ($(date -u +%Y-%m-%d)):"
printf '%s\n' "${summary[@]}"
exit $failed
