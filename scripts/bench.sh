#!/usr/bin/env bash
# `npm run bench`: install, build, then every benchmark (bench/run-all.mjs; its flags pass through).
source "$(dirname "$0")/lib.sh"
setup
node bench/run-all.mjs "$@"
