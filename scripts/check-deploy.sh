#!/usr/bin/env bash
# Checks every deployment file the way an operator's tools would read them: the Kubernetes
# manifests (both autoscaler variants) against the API schemas and KEDA's CRDs, each documented
# compose mode, the Dockerfile, every shell script, then the monitoring files. Run from
# anywhere; exits non-zero on the first failure. Needs the tools .ci/run installs: a missing one
# is an error, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

# Kubernetes releases to validate against: the oldest one still commonly run and the newest
# kubernetes-validate ships here.
K8S_VERSIONS=(1.33.0 1.37.0)

fail() {
  echo "check-deploy: $*" >&2
  exit 1
}

for tool in kubectl kubernetes-validate python3 docker-compose hadolint shellcheck git; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (see .ci/run)"
done
python3 -c 'import yaml, jsonschema' 2>/dev/null ||
  fail "python3 modules yaml and jsonschema are missing (Debian: python3-yaml python3-jsonschema)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- Kubernetes: the base (CPU HPA) and the KEDA overlay -------------------------------------
for variant in k8s deploy/keda; do
  echo "== kubectl kustomize $variant"
  kubectl kustomize "$variant" >"$work/all.yaml" || fail "kubectl kustomize $variant failed"
  # KEDA's kinds are checked here against the CRDs; everything else goes on to kubernetes-validate.
  python3 scripts/validate-crs.py deploy/keda/schemas <"$work/all.yaml" >"$work/core.yaml" ||
    fail "$variant: custom resources do not match KEDA's CRDs"
  for version in "${K8S_VERSIONS[@]}"; do
    # It only warns about kinds it has no schema for; any warning fails here, so nothing
    # passes unchecked.
    if ! kubernetes-validate --strict --quiet -k "$version" "$work/core.yaml" >"$work/out" 2>&1 ||
      grep -q . "$work/out"; then
      cat "$work/out" >&2
      fail "$variant: kubernetes-validate --strict -k $version failed"
    fi
    echo "kubernetes-validate --strict -k $version: ok"
  done
done

# --- Compose: every mode docker-compose.yml's header documents ---------------------------------
# Neither the user's ./.env nor their shell's Compose settings: the result must not depend on
# the machine. REDIS_URL is set only where a mode needs it.
: >"$work/empty.env"
unset REDIS_URL COMPOSE_FILE COMPOSE_PROFILES
compose() {
  docker-compose --env-file "$work/empty.env" "$@"
}
modes=(
  ""
  "--profile with-redis"
  "--profile with-nginx"
  "--profile with-redis --profile with-nginx"
  "-f docker-compose.yml -f compose.nginx.yml --profile with-nginx"
)
external=(
  "-f docker-compose.yml -f docker-compose.override.yml -f compose.external-redis.yml"
  "-f docker-compose.yml -f compose.nginx.yml -f compose.external-redis.yml --profile with-nginx"
)
for mode in "${modes[@]}"; do
  echo "== docker-compose $mode config -q"
  # shellcheck disable=SC2086 # each mode is a list of words on purpose
  compose $mode config -q || fail "docker-compose $mode config failed"
done
for mode in "${external[@]}"; do
  echo "== docker-compose $mode config -q (REDIS_URL set)"
  # shellcheck disable=SC2086
  REDIS_URL=rediss://:pw@redis.example.com:6380 compose $mode config -q ||
    fail "docker-compose $mode config failed"
  # shellcheck disable=SC2086
  if compose $mode config -q 2>/dev/null; then
    fail "docker-compose $mode accepted a missing REDIS_URL"
  fi
done
# What the nginx mode promises: nginx is the only way in, so the api may trust it.
compose -f docker-compose.yml -f compose.nginx.yml --profile with-nginx config >"$work/nginx.yaml"
python3 - "$work/nginx.yaml" <<'PY' ||
import sys, yaml
api = yaml.safe_load(open(sys.argv[1]))["services"]["api"]
assert not api.get("ports"), f"api publishes {api['ports']}"
assert str(api["environment"].get("DOCKER_SYNC_TRUST_PROXY")).lower() == "true", api["environment"]
PY
  fail "compose.nginx.yml: the api must publish no port and trust the proxy"

# --- Dockerfile ---------------------------------------------------------------------------------
echo "== hadolint Dockerfile"
hadolint Dockerfile || fail "hadolint Dockerfile failed"

# --- Every shell script in the repository -------------------------------------------------------
scripts=()
while IFS= read -r -d '' file; do
  [[ -f $file ]] || continue
  if [[ $file == *.sh ]] || head -n 1 "$file" | grep -Eq '^#!.*\b(ba|da|k)?sh\b'; then
    scripts+=("$file")
  fi
done < <(git ls-files -z)
((${#scripts[@]} > 0)) || fail "git ls-files found no shell script (not a git checkout?)"
echo "== shellcheck ${scripts[*]}"
shellcheck "${scripts[@]}" || fail "shellcheck failed"

# --- Monitoring: Prometheus rules and the Grafana dashboard -------------------------------------
[[ -x scripts/check-monitoring.sh ]] ||
  fail "scripts/check-monitoring.sh is missing or not executable"
echo "== scripts/check-monitoring.sh"
scripts/check-monitoring.sh || fail "scripts/check-monitoring.sh failed"

echo "check-deploy: all checks passed"
