#!/usr/bin/env sh
# The Studio's browser test drives Debian's Chromium. Install it when it is missing and we can
# (root with apt-get, as on CI and fresh machines of this kind); otherwise say what to install.
# The test itself still fails with the same hint if Chromium is absent: it never skips.
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Chromium is missing: installing Debian's chromium for the Studio test (apt-get install -y chromium)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && exit 0
  echo "apt-get install chromium failed; the Studio test will fail until it is installed" >&2
  exit 0
fi
echo "Chromium is missing: run \`apt-get install -y chromium\` (Debian) — the Studio test drives it" >&2
