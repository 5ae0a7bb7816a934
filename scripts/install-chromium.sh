#!/usr/bin/env bash
# Installs Debian's Chromium, which the console's browser test drives headless through
# playwright-core. Playwright downloads no browser of its own here: the tests launch
# this one by its path (CHROMIUM_PATH, else /usr/bin/chromium). A font comes along so
# that pages render their text.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "Chromium is installed: /usr/bin/chromium"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "Installing Chromium needs root: run 'sudo npm run install:chromium' (or apt-get install chromium)." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "Chromium installed: $(chromium --version)"
