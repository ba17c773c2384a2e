#!/usr/bin/env bash
# Fails naming every Python module over LIMIT lines under the given folders.
# Usage: scripts/check-module-size.sh LIMIT DIR...
set -euo pipefail
limit=$1
shift
status=0
while IFS= read -r -d '' file; do
    lines=$(wc -l <"$file")
    if [ "$lines" -gt "$limit" ]; then
        echo "$file: $lines lines (the limit is $limit): split it where the code asks" >&2
        status=1
    fi
done < <(find "$@" -name '*.py' -print0)
exit $status
