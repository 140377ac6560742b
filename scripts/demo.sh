#!/usr/bin/env bash
# The "run it" command: install, build, then run the pipeline on sample events and print outcomes.
source "$(dirname "$0")/lib.sh"
setup
node scripts/demo.mjs "$@"
