#!/usr/bin/env bash
# Renders deploy/helm/conveyor for both artifact modes with Helm's own engine and validates every
# object against the strict Kubernetes 1.30 and 1.37 schemas (deploy/helm/check.py says what
# exactly), then breaks copies of the chart to show the check catches each fault.
# Usage: deploy/helm/check.sh [CHART_DIR] [--prove-it-fails]   (default: this directory's chart)
# The tools come from PyPI, pinned, into a venv under /tmp (CHART_VENV to move it).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${CHART_VENV:-/tmp/conveyor-chart-venv}"
requirements="helm-python-sdk==0.2.2 kubernetes-validate==1.37.0"
if [[ "$(cat "$venv/.requirements" 2>/dev/null)" != "$requirements" ]]; then
  rm -rf "$venv"
  python3 -m venv "$venv" 2>/dev/null || {
    apt-get update -qq && apt-get install -y -qq python3 python3-venv >/dev/null
    rm -rf "$venv" && python3 -m venv "$venv"
  }
  # shellcheck disable=SC2086  # one word per requirement
  "$venv/bin/pip" install -q --disable-pip-version-check $requirements
  echo "$requirements" >"$venv/.requirements"
fi
exec "$venv/bin/python" "$here/check.py" "$@"
