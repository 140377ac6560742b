# What the README's two commands need besides Node.js (sourced by scripts/lib.sh).
#   ensure_deps demo   redis-server (unless REDIS_URL points at a Redis to use)
#   ensure_deps test   redis-server; prometheus + promtool (alert-rule tests, dashboard and KEDA queries
#                      against a real Prometheus); chromium (the bull-board browser test); kubectl (deploy/k8s
#                      renders)
# Missing Debian packages are installed with apt-get when running as root on Debian/Ubuntu; otherwise the
# command stops with one line naming what is missing and how to get it. kubectl has no Debian package recent
# enough (kustomize v5 needs kubectl >= 1.27), so it is never installed here, only asked for.

# has <command> [absolute path…]: on PATH, or executable at one of the paths.
has() {
  local name=$1
  shift
  command -v "$name" >/dev/null 2>&1 && return 0
  local path
  for path in "$@"; do [ -x "$path" ] && return 0; done
  return 1
}

ensure_deps() {
  local purpose=$1
  local -a missing=() packages=()
  if [ "$purpose" = test ] || [ -z "${REDIS_URL:-}" ]; then
    has redis-server || { missing+=(redis-server); packages+=(redis-server); }
  fi
  if [ "$purpose" = test ]; then
    { has promtool && has prometheus; } || { missing+=(prometheus/promtool); packages+=(prometheus); }
    has chromium /usr/bin/chromium || { missing+=(chromium); packages+=(chromium); }
  fi
  if [ ${#packages[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && has apt-get; then
      echo "== apt-get install ${packages[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends "${packages[@]}"
    else
      local how="sudo apt-get install -y ${packages[*]} (Debian/Ubuntu), or run this command as root to have it installed"
      [ "$purpose" = demo ] && how+=", or set REDIS_URL to a running Redis"
      echo "missing: ${missing[*]}; install it: ${how}" >&2
      exit 1
    fi
  fi
  if [ "$purpose" = test ] && ! has kubectl; then
    echo "missing: kubectl >= 1.27 (the deploy/k8s tests render the manifests with kubectl kustomize; no cluster needed); install it: https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/ (Debian's kubernetes-client is too old)" >&2
    exit 1
  fi
}
