# syntax=docker/dockerfile:1
# The catalog-sync worker. Runs the TypeScript sources directly: Node 24 strips types natively, which is how
# bin/catalog-sync and the tests run them too, so the image runs exactly the code that was tested (no build
# step, no dist/ whose paths could differ from src/). test/runtime/runtime-artefact.test.ts builds what this
# file copies (same Node major, `npm ci --omit=dev`) into an empty folder and runs the worker from it end to
# end against moto and the simulator.
#
#   docker build -t catalog-sync-worker .
#   docker run --rm --init --env-file .env catalog-sync-worker        # the worker
#   docker run --rm catalog-sync-worker validate --help                # any other sub-command
#
# The base image is pinned by tag only. Pin it by digest once you can resolve one from the registry
# (`docker buildx imagetools inspect node:24.21.0-bookworm-slim`, then NODE_IMAGE=node:24.21.0-bookworm-slim@sha256:…);
# no digest could be verified where this file was written, and an unverified one is worse than none.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only, exactly as locked; no install scripts run.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    NODE_OPTIONS="--disable-warning=ExperimentalWarning --max-semi-space-size=8"
WORKDIR /app
# Only what the worker and the CLI load at run time: the production dependencies, package.json ("type":
# "module"), the JSON schemas the sources import, and the runtime sources. The development tools (tools/: the
# catalog simulator, local AWS, the sandbox), tests and bench stay out: src/ never imports them (eslint), and
# the CLI registers the development commands only when tools/commands/register.ts exists. Owned by root and
# not writable by the process; the task also runs with a read-only root filesystem and /tmp as its only
# writable path.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY schemas ./schemas
COPY src ./src
# The launcher: sizes the heap from the container's memory limit (bin/catalog-sync, bench/results/notes.md).
COPY bin ./bin
# The base image's unprivileged user "node", by number so that a runtime can tell it is not root. The
# worker handles SIGTERM itself (flush or release, then exit); ECS runs an init process as PID 1 to
# forward signals and reap zombies (initProcessEnabled in infra/worker-service.yml; `docker run --init`).
USER 1000:1000
ENTRYPOINT ["bin/catalog-sync"]
CMD ["worker"]
