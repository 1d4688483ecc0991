#!/usr/bin/env bash
# Installs SoftHSM2 (the PKCS#11 tokens the HSM tests run against) if it is missing.
# Debian/Ubuntu: apt-get, as root or through sudo. Tests create their own token directories;
# nothing here touches the machine's default SoftHSM2 configuration.
set -euo pipefail

if command -v softhsm2-util >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "softhsm2 is missing and this is not a Debian-like system: install SoftHSM2 2.6 with your package manager" >&2
  exit 1
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq softhsm2 >/dev/null
softhsm2-util --version
