#!/usr/bin/env bash
# Browser tests drive Debian's Chromium through Playwright; install it when it is missing, with the
# fonts the UI needs (DejaVu for text, Noto Color Emoji for the reply box's emoji buttons and customer
# messages, which the README screenshots show).
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]; then exit 0; fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing Debian chromium and fonts for the browser tests" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-dejavu-core fonts-noto-color-emoji >/dev/null
