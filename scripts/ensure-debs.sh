#!/usr/bin/env bash
# Installs the Debian packages the tests need when they are missing: with
# apt-get when running as root, otherwise prints the exact line and fails.
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
# A package named pkg:i386 (the firmware's 32-bit test build) needs that
# architecture enabled first.
addarch=""
if printf '%s\n' "${missing[@]}" | grep -q ':i386$' && ! dpkg --print-foreign-architectures | grep -qx i386; then
  addarch="dpkg --add-architecture i386"
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages; install them with:" >&2
  echo "  ${addarch:+sudo $addarch && }sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
[ -z "$addarch" ] || $addarch
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
