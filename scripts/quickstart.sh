#!/usr/bin/env bash
# `make run`: the article's minimal setup on loopback. A demo backend on
# 127.0.0.1:8000, tandem on 127.0.0.1:8080 in front of it.
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o bin/demoweb ./cmd/demoweb
bin/demoweb "servers:server1@127.0.0.1:8000" &
web=$!
trap 'kill $web 2>/dev/null || true' EXIT
echo "tandem: try  curl -s http://127.0.0.1:8080/demo.html  (Ctrl-C stops both)"
bin/tandem run -c deploy/examples/quickstart.toml
