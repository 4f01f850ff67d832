#!/usr/bin/env bash
# Smoke test of a deployed stack: its website (the stack output WebsiteURL, passed in as $URL by the
# pipeline) answers 200 with the app's page, for the environment expected.
#
#   scripts/smoke-test.sh [URL]     (default: $URL)
#   SMOKE_ATTEMPTS, SMOKE_DELAY     retries while the endpoint comes up (default 10 x 6 s)
#   EXPECTED_ENVIRONMENT            if set, the page must say "Environment: <it>"
set -uo pipefail
url="${1:-${URL:-}}"
attempts="${SMOKE_ATTEMPTS:-10}"
delay="${SMOKE_DELAY:-6}"

fail() { echo "smoke: FAIL: $*" >&2; exit 1; }

[ -n "$url" ] || fail "no URL given (the pipeline passes the stack output WebsiteURL as \$URL)"
case "$url" in
  *'#{'*) fail "URL is an unresolved pipeline variable: $url" ;;
  http://*|https://*) ;;
  *) fail "URL is not http(s): $url" ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=000
for attempt in $(seq 1 "$attempts"); do
  status="$(curl --silent --show-error --location --max-time 10 \
    --output "$work/body" --dump-header "$work/headers" --write-out '%{http_code}' "$url" 2>"$work/error")" || status=000
  [ "$status" = 200 ] && break
  reason="HTTP $status"
  [ "$status" = 000 ] && reason="$(tr -d '\n' < "$work/error")"
  echo "smoke: attempt $attempt/$attempts: $url: $reason"
  [ "$attempt" -lt "$attempts" ] && sleep "$delay"
done

if [ "$status" != 200 ]; then
  if [ "$status" = 403 ] && grep -qi '^server: AmazonS3' "$work/headers"; then
    fail "$url answers 403 from S3: index.html is missing or the bucket policy does not allow public reads"
  fi
  fail "$url did not answer 200 after $attempts attempts (last: HTTP $status)"
fi
grep -qi '^content-type: text/html' "$work/headers" || fail "$url is not served as text/html: $(grep -i '^content-type' "$work/headers")"
grep -q '<title>My App' "$work/body" || fail "$url does not serve the app's page (no <title>My App...)"
if [ -n "${EXPECTED_ENVIRONMENT:-}" ]; then
  grep -q "Environment: $EXPECTED_ENVIRONMENT<" "$work/body" || fail "$url is not the $EXPECTED_ENVIRONMENT environment"
fi
echo "smoke: OK: $url answers 200 with the app's page ($(wc -c < "$work/body") bytes)"
