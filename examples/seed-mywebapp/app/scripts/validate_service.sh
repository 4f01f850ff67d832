#!/usr/bin/env bash
# ValidateService: the instance serves this revision (version.txt is written by the build).
set -euo pipefail
expected="$(cat /var/www/my-app/version.txt)"
for attempt in 1 2 3 4 5; do
  served="$(curl -fsS http://localhost/version.txt || true)"
  [ "$served" = "$expected" ] && { echo "serving $expected"; exit 0; }
  sleep 2
done
echo "expected version $expected, served '${served:-nothing}'" >&2
exit 1
