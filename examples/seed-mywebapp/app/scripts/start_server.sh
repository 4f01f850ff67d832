#!/usr/bin/env bash
# ApplicationStart: (re)start nginx on the new files.
set -euo pipefail
systemctl enable nginx
systemctl restart nginx
