#!/usr/bin/env bash
# The "run it" command: install what is missing (redis-server), install packages, build, then run the
# pipeline on sample events and print outcomes.
source "$(dirname "$0")/lib.sh"
ensure_deps demo
setup
node scripts/demo.mjs "$@"
