# syntax=docker/dockerfile:1
#
# One image, two programs: `docker-sync-api` (the default command) and `docker-sync-worker`
# (pick it with `command:` in compose or Kubernetes). Sharing one image means the api and the
# workers can never run different builds of the task format after a deploy.
#
#   docker build -t docker-image-sync:latest .
#
# Needs BuildKit (the default builder since Docker 23) for the cache mounts below.

# ---------------------------------------------------------------------------------------------
# Builder
# ---------------------------------------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /src

# Copy only what the build reads, never `COPY . .`: the local target/ is gigabytes, and
# config/registries.yaml may hold real passwords that must not end up in an image layer.
COPY Cargo.toml Cargo.lock ./
COPY common common
COPY api api
COPY worker worker
# tests/ is a workspace member: cargo has to read its manifest to resolve the workspace even
# though `-p` never builds it.
COPY tests tests
# The web UI is compiled into the api binary (rust-embed reads ../web at build time).
COPY web web

# The cache mounts keep the crates.io download and compiled dependencies between builds, so a
# source change rebuilds only our crates. Because target/ is a cache mount (not part of the
# layer), the binaries are copied out to /out inside the same RUN.
# --locked: build exactly the dependency versions that were tested, or fail.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p docker-sync-api -p docker-sync-worker \
 && install -D -m 0755 -t /out target/release/docker-sync-api target/release/docker-sync-worker

# ---------------------------------------------------------------------------------------------
# Runtime
# ---------------------------------------------------------------------------------------------
# Same Debian release as the builder, so the binaries link against the glibc they were built for.
FROM debian:bookworm-slim

# skopeo does the image copies; Debian's package also brings /etc/containers/policy.json, which
# skopeo refuses to run without. ca-certificates for HTTPS registries.
# Versions are not pinned: bookworm only receives security fixes, and a pin would break the build
# as soon as Debian publishes one.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates skopeo \
 && rm -rf /var/lib/apt/lists/*

# A fixed numeric uid/gid: Kubernetes' `runAsNonRoot` can only verify a numeric USER, and
# fsGroup/volume permissions in the manifests refer to 10001.
RUN groupadd --system --gid 10001 dsync \
 && useradd --system --uid 10001 --gid dsync --home-dir /home/dsync --create-home \
        --shell /usr/sbin/nologin dsync \
 && mkdir -p /app/config \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/docker-sync \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/docker-sync/downloads

COPY --from=builder /out/ /usr/local/bin/
# For reference only: the real registries.yaml is mounted over /app/config at run time.
COPY config/registries.yaml.example /app/config/registries.yaml.example

# DOCKER_SYNC_DATA: the api writes the first admin's one-time password there. /app stays root-owned
# (the programs never write their config), so the data dir is its own folder owned by 10001;
# compose and Kubernetes mount a volume over it, since the root fs is read-only there.
# TMPDIR: skopeo may buffer layers in a temp dir, by default /var/tmp; point it (and the worker's
# scratch dir) at /tmp, the one place the deployments make writable under a read-only root fs.
ENV DOCKER_SYNC_CONFIG=/app/config \
    DOCKER_SYNC_LISTEN=0.0.0.0:5000 \
    DOCKER_SYNC_DATA=/var/lib/docker-sync \
    DOCKER_SYNC_DOWNLOADS=/var/lib/docker-sync/downloads \
    TMPDIR=/tmp

WORKDIR /app
USER 10001:10001
EXPOSE 5000

# Exec form: the binary is PID 1 and receives SIGTERM itself (a `sh -c` wrapper would swallow
# it, and the worker would be SIGKILLed mid-copy instead of handing its tasks back). Both
# binaries install their own SIGTERM/SIGINT handlers, and the worker waits for its skopeo
# children, so no init process is needed.
# No HEALTHCHECK: Kubernetes probes /health itself, and docker-compose.yml defines its own.
CMD ["docker-sync-api"]
