#!/usr/bin/env bash
# Builds the static site into the folder given as $1: every page in src/ wrapped in the layout.
set -euo pipefail
out="${1:?usage: build.sh OUTPUT_DIR}"
mkdir -p "$out"
version="${CODEBUILD_RESOLVED_SOURCE_VERSION:-$(date -u +%Y%m%d%H%M%S)}"
for page in src/*.html; do
  name="$(basename "$page")"
  {
    printf '<!doctype html>\n<html><head><meta charset="utf-8"><title>%s</title></head><body>\n' "${SITE_TITLE:-Site}"
    cat "$page"
    printf '<footer>version %s</footer>\n</body></html>\n' "$version"
  } > "$out/$name"
done
echo "$version" > "$out/version.txt"
echo "built $(ls "$out" | wc -l) files into $out"
