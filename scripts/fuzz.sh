#!/usr/bin/env bash
# Runs every Fuzz target of the module for a short time each.
set -euo pipefail
fuzztime=${1:-4s}
status=0
while IFS= read -r file; do
  dir=$(dirname "$file")
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
    echo "== fuzz ./$dir $target ($fuzztime)"
    if ! go test "./$dir" -run "^$target\$" -fuzz "^$target\$" -fuzztime "$fuzztime" >/tmp/fuzz.$$.log 2>&1; then
      cat /tmp/fuzz.$$.log; status=1
    fi
  done
done < <(git ls-files '*_test.go' | xargs grep -l '^func Fuzz' || true)
rm -f /tmp/fuzz.$$.log
exit $status
