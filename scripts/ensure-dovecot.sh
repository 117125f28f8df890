#!/usr/bin/env bash
# The e-mail tests run a throwaway Dovecot IMAP server (Debian's dovecot-imapd); install it when missing.
# The package's system service is not needed: the tests start their own unprivileged instance.
set -euo pipefail
if [ -x /usr/sbin/dovecot ]; then exit 0; fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing Debian dovecot-imapd for the e-mail tests" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends dovecot-imapd >/dev/null
