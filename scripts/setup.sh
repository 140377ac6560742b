#!/usr/bin/env bash
# Install dependencies (lockfile) and build all packages.
source "$(dirname "$0")/lib.sh"
setup
