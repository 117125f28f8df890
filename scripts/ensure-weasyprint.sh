#!/usr/bin/env bash
# Weekly report PDFs are rendered by WeasyPrint, which needs Debian's Pango (and a font); install them
# when they are missing.
set -euo pipefail
if ldconfig -p 2>/dev/null | grep -q "libpangoft2-1.0.so.0" && [ -d /usr/share/fonts/truetype/dejavu ]; then
  exit 0
fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing Pango and fonts for WeasyPrint (weekly report PDFs)" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core >/dev/null
