#!/usr/bin/env bash
# A real KMS/S3 stand-in for tests: moto_server on a free loopback port.
#   eval "$(scripts/moto.sh start)"   # installs the pinned moto into .venv if needed, starts it,
#                                     # waits until it answers, and exports
#                                     # ENVCRYPT_TEST_MOTO_ENDPOINT=http://127.0.0.1:PORT
#   scripts/moto.sh bucket NAME       # creates an S3 bucket in the running moto
#   scripts/moto.sh stop              # stops it (scripts/test.sh does this on exit, pass or fail);
#                                     # without ENVCRYPT_TEST_MOTO_ENDPOINT, stops every one
# It listens on 127.0.0.1 only; nothing here sends traffic anywhere else.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# One pid file per port, so that several runs (the tests, the docs/s3.md walkthrough) can each stop
# their own.
pidfile() { echo "$root/.venv/moto-$1.pid"; }

case "${1:-}" in
  start)
    if [ ! -x "$root/.venv/bin/moto_server" ]; then
      [ -x "$root/.venv/bin/python" ] || python3 -m venv "$root/.venv" >&2
      "$root/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/scripts/requirements-test.txt" >&2
    fi
    port=$("$root/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$root/.venv/bin/moto_server" -H 127.0.0.1 -p "$port" > "$root/.venv/moto-$port.log" 2>&1 &
    echo $! > "$(pidfile "$port")"
    for _ in $(seq 1 100); do
      if "$root/.venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
        echo "export ENVCRYPT_TEST_MOTO_ENDPOINT=http://127.0.0.1:$port"
        exit 0
      fi
      sleep 0.2
    done
    echo "moto_server did not answer on 127.0.0.1:$port; see .venv/moto-$port.log" >&2
    exit 1
    ;;
  bucket)
    [ -n "${2:-}" ] && [ -n "${ENVCRYPT_TEST_MOTO_ENDPOINT:-}" ] || {
      echo "usage: scripts/moto.sh bucket NAME (after eval \"\$(scripts/moto.sh start)\")" >&2
      exit 2
    }
    "$root/.venv/bin/python" -c 'import boto3, sys
boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
             aws_access_key_id="testing", aws_secret_access_key="testing").create_bucket(Bucket=sys.argv[2])' \
      "$ENVCRYPT_TEST_MOTO_ENDPOINT" "$2"
    echo "created s3://$2 at $ENVCRYPT_TEST_MOTO_ENDPOINT" >&2
    ;;
  stop)
    # The moto this shell started (ENVCRYPT_TEST_MOTO_ENDPOINT), else every one.
    endpoint=${ENVCRYPT_TEST_MOTO_ENDPOINT:-}
    port=${endpoint##*:}
    for file in "$root"/.venv/moto-${port:-*}.pid; do
      [ -f "$file" ] || continue
      kill "$(cat "$file")" 2>/dev/null || true
      rm -f "$file"
    done
    ;;
  *)
    echo "usage: scripts/moto.sh start|bucket NAME|stop" >&2
    exit 2
    ;;
esac
