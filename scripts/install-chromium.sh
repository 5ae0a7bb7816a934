#!/usr/bin/env bash
# Installs Debian's Chromium, which the console's browser test drives headless through
# playwright-core. Playwright downloads no browser of its own here: the tests launch
# this one by its path (CHROMIUM_PATH, else /usr/bin/chromium). A font comes along so
# that pages render their text.
set -euo pipefail
source "$(dirname "$0")/debian-packages.sh"
if [ -x /usr/bin/chromium ]; then
  echo "Chromium is installed: /usr/bin/chromium"
  exit 0
fi
require_root_to_install Chromium install:chromium chromium
apt_install chromium fonts-dejavu-core
echo "Chromium installed: $(chromium --version)"
