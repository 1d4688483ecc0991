#!/usr/bin/env bash
# Installs the Debian packages envcrypt needs, when they are missing:
#   scripts/packages.sh build   # libssl-dev and pkg-config: the openssl crate (envcrypt-s3
#                               # streams AES-GCM through the system OpenSSL)
#   scripts/packages.sh test    # the above, SoftHSM2 (the PKCS#11 tokens of the HSM tests) and
#                               # nginx (the load balancer in front of two `envcrypt serve`)
# apt-get, as root or through sudo. Tests create their own token directories; nothing here
# touches the machine's default SoftHSM2 configuration.
set -euo pipefail

missing=()
if ! pkg-config --exists openssl 2>/dev/null; then
  missing+=(libssl-dev pkg-config)
fi
if [ "${1:-build}" = test ] && ! command -v softhsm2-util >/dev/null 2>&1; then
  missing+=(softhsm2)
fi
if [ "${1:-build}" = test ] && ! [ -x /usr/sbin/nginx ]; then
  missing+=(nginx-light)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "missing ${missing[*]} and this is not a Debian-like system: install OpenSSL's headers and SoftHSM2 2.6 with your package manager" >&2
  exit 1
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
# RUNLEVEL=1: the packages' scripts start no service (nginx on port 80); tests start their own.
"${as_root[@]}" env RUNLEVEL=1 apt-get install -y -qq "${missing[@]}" >/dev/null
echo "installed ${missing[*]}"
