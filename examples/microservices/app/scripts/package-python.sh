#!/usr/bin/env bash
# Packages one Python service for release: its modules (not its tests), VERSION, manifest.json and
# a start.sh that runs it. The folder becomes the service's output artifact (a zip in its bucket).
#
#   scripts/package-python.sh SERVICE_DIR ENTRY_MODULE OUT_DIR
set -euo pipefail
service="${1:?usage: package-python.sh SERVICE_DIR ENTRY_MODULE OUT_DIR}"
entry="${2:?entry module, e.g. app.py}"
out="${3:?output folder}"
version="${SERVICE_VERSION:-dev}"

[ -f "$service/$entry" ] || { echo "package: $service/$entry does not exist" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
modules=()
for file in "$service"/*.py; do
  case "$(basename "$file")" in test_*) continue ;; esac
  cp "$file" "$out/"
  modules+=("$out/$(basename "$file")")
done
# Every module must at least parse (no __pycache__ left behind, unlike py_compile).
python3 - "${modules[@]}" <<'PY'
import ast, sys
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        ast.parse(f.read(), path)
PY
echo "$version" > "$out/VERSION"
cat > "$out/start.sh" <<SH
#!/usr/bin/env bash
# Starts $(basename "$service") $version; arguments go to $entry.
here="\$(cd "\$(dirname "\$0")" && pwd)"
export SERVICE_VERSION="\$(cat "\$here/VERSION")"
exec python3 "\$here/$entry" "\$@"
SH
chmod +x "$out/start.sh"
printf '{"service": "%s", "version": "%s", "entry": "%s", "modules": %d}\n' \
  "$(basename "$service")" "$version" "$entry" "${#modules[@]}" > "$out/manifest.json"
echo "package: $(basename "$service") $version -> $out (${#modules[@]} module(s))"
