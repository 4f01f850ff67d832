#!/usr/bin/env bash
# Builds the CodeDeploy bundle into $1: appspec.yml and scripts/ at its root, the site in site/.
set -euo pipefail
out="${1:?usage: build.sh OUTPUT_DIR}"
version="${CODEBUILD_RESOLVED_SOURCE_VERSION:-local}"
rm -rf "$out"
mkdir -p "$out/site"
cp appspec.yml "$out/"
cp -R scripts "$out/"
for page in src/*.html; do
  {
    printf '<!doctype html>\n<html><head><meta charset="utf-8"><title>My Web App</title></head><body>\n'
    cat "$page"
    printf '<footer>version %s</footer>\n</body></html>\n' "$version"
  } > "$out/site/$(basename "$page")"
done
echo "$version" > "$out/site/version.txt"

# The bundle is what CodeDeploy runs: every hook script must exist, be executable and parse.
status=0
for script in $(sed -n 's/^ *- location: *//p' "$out/appspec.yml"); do
  if [ ! -x "$out/$script" ]; then
    echo "appspec.yml: hook script $script is missing or not executable" >&2; status=1
  elif ! bash -n "$out/$script"; then
    echo "appspec.yml: hook script $script does not parse" >&2; status=1
  fi
done
grep -q '^ *- source: site$' "$out/appspec.yml" || { echo "appspec.yml: files must install site/" >&2; status=1; }
[ "$status" = 0 ] && echo "bundle: $(find "$out" -type f | wc -l) files in $out (appspec hooks checked)"
exit "$status"
