#!/usr/bin/env bash
# Starts docker-image-sync on this machine: its own Redis (unless REDIS_URL is set), the api and
# web UI on port 5000, and WORKERS worker processes. Ctrl-C stops everything cleanly: workers
# finish or hand back their copies, Redis flushes its append-only file.
#
#   WORKERS=3 ./scripts/up.sh            # more workers
#   REDIS_URL=redis://host:6379 ./scripts/up.sh   # use an existing Redis
#   DOCKER_SYNC_REDIS_PORT=6390 ./scripts/up.sh   # the bundled Redis on another port (default 6380)
#   DOCKER_SYNC_BIN=/opt/docker-sync/bin ./scripts/up.sh   # binaries built elsewhere: no cargo build
#
# Ctrl-C signals the whole foreground process group: the api and workers stop taking work, and
# copies already running go on for the workers' grace (DOCKER_SYNC_SHUTDOWN_GRACE, default 25s).
# skopeo runs in a process group of its own, so the terminal's SIGINT never kills a copy; the
# worker stops the copies still running when the grace ends and hands their tasks back, and the
# next start finishes them without counting a failed attempt.
#
# Data of the bundled Redis lives in ./data/redis (AOF on, noeviction: a queue must not be evicted).
set -euo pipefail
cd "$(dirname "$0")/.."

WORKERS=${WORKERS:-2}
DATA_DIR=${DOCKER_SYNC_DATA:-$PWD/data}
export DOCKER_SYNC_DATA="$DATA_DIR"
REDIS_PORT=${DOCKER_SYNC_REDIS_PORT:-6380}
export DOCKER_SYNC_CONFIG=${DOCKER_SYNC_CONFIG:-$PWD/config}
export DOCKER_SYNC_LISTEN=${DOCKER_SYNC_LISTEN:-0.0.0.0:5000}

missing=()
command -v skopeo >/dev/null || missing+=(skopeo)
if [ -z "${REDIS_URL:-}" ]; then
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v redis-cli >/dev/null || missing+=(redis-tools)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "missing: ${missing[*]}. Install with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -f "$DOCKER_SYNC_CONFIG/registries.yaml" ]; then
  cp config/registries.yaml.example "$DOCKER_SYNC_CONFIG/registries.yaml"
  echo "created $DOCKER_SYNC_CONFIG/registries.yaml from the example: edit it to name your registries"
fi

# The key that seals the passwords of registries added in the UI; api and workers share it.
# Made once (mode 0600) unless one is given; losing it means entering those passwords again.
if [ -z "${DOCKER_SYNC_SECRET_KEY:-}" ] && [ -z "${DOCKER_SYNC_SECRET_KEY_FILE:-}" ]; then
  export DOCKER_SYNC_SECRET_KEY_FILE="$DATA_DIR/secret-key"
  if [ ! -s "$DOCKER_SYNC_SECRET_KEY_FILE" ]; then
    mkdir -p "$DATA_DIR"
    (umask 077 && head -c 32 /dev/urandom | base64 > "$DOCKER_SYNC_SECRET_KEY_FILE")
    echo "created $DOCKER_SYNC_SECRET_KEY_FILE: the key sealing registry passwords stored in Redis (back it up)"
  fi
fi

if [ -n "${DOCKER_SYNC_BIN:-}" ]; then
  BIN=$DOCKER_SYNC_BIN
else
  cargo build --release -p docker-sync-api -p docker-sync-worker
  # Where cargo put them: a CARGO_TARGET_DIR set for every project moves them out of ./target.
  BIN="${CARGO_TARGET_DIR:-target}/release"
fi
for program in docker-sync-api docker-sync-worker; do
  [ -x "$BIN/$program" ] || { echo "no $program in $BIN" >&2; exit 1; }
done

pids=()
redis_pid=
stop() {
  trap - INT TERM EXIT
  echo "stopping..."
  # Workers and api first (workers may still record results), Redis last.
  if [ ${#pids[@]} -gt 0 ]; then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  if [ -n "$redis_pid" ] && kill -TERM "$redis_pid" 2>/dev/null; then
    wait "$redis_pid" 2>/dev/null || true
  fi
}
trap stop INT TERM EXIT

if [ -z "${REDIS_URL:-}" ]; then
  # Another program on the port (often a second Redis) would make our redis-server exit at once
  # while redis-cli below got its answer from the other one: the queue would silently live there.
  if (: <"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null; then
    echo "port $REDIS_PORT is already in use (another Redis?): set DOCKER_SYNC_REDIS_PORT to a free port, or REDIS_URL to use that Redis" >&2
    exit 1
  fi
  mkdir -p "$DATA_DIR/redis"
  # Its own session: Ctrl-C reaches the api and workers, and Redis is stopped after them.
  setsid redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$DATA_DIR/redis" \
    --appendonly yes --appendfsync everysec --save "" --maxmemory-policy noeviction \
    --logfile "$DATA_DIR/redis/redis.log" --daemonize no &
  redis_pid=$!
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
  # Ready when the Redis answering on the port is ours: its process id is the one we started
  # (setsid execs redis-server in place, so $! is its pid). A port taken in the meantime fails here.
  ready=
  for _ in $(seq 100); do
    kill -0 "$redis_pid" 2>/dev/null || { echo "redis-server failed; see $DATA_DIR/redis/redis.log" >&2; exit 1; }
    answering=$(redis-cli -p "$REDIS_PORT" info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p' || true)
    if [ "$answering" = "$redis_pid" ]; then ready=1; break; fi
    if [ -n "$answering" ]; then
      echo "another Redis (pid $answering) answers on port $REDIS_PORT: set DOCKER_SYNC_REDIS_PORT to a free port" >&2
      exit 1
    fi
    sleep 0.1
  done
  [ -n "$ready" ] || { echo "redis-server did not answer on port $REDIS_PORT; see $DATA_DIR/redis/redis.log" >&2; exit 1; }
  echo "redis on $REDIS_URL (data in $DATA_DIR/redis)"
fi

"$BIN/docker-sync-api" &
pids+=($!)
for i in $(seq 1 "$WORKERS"); do
  DOCKER_SYNC_WORKER_NAME="$(hostname)-worker-$i" "$BIN/docker-sync-worker" &
  pids+=($!)
done
echo "docker-image-sync: http://localhost:${DOCKER_SYNC_LISTEN##*:}  ($WORKERS workers; Ctrl-C stops)"
echo "first start: log in as admin with the one-time password in $DATA_DIR/initial-admin-password"

# Stop everything as soon as any part exits on its own (a bad config, say).
wait -n "${pids[@]}" || true
