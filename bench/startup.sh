#!/usr/bin/env bash
# Start-up time of the CLI and the daemon, beside Node's own floor (`node -e 0`), with hyperfine.
# Run: bench/startup.sh        (installs hyperfine from Debian when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
node=node_modules/node/bin/node
hyperfine -N --warmup 5 --runs 40 \
  "$node -e 0" \
  'bin/berth --version' \
  'bin/berthd --version' \
  'bin/berth config default'
echo "without the compile cache:"
NODE_DISABLE_COMPILE_CACHE=1 hyperfine -N --warmup 5 --runs 40 'bin/berth --version'
