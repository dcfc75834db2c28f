# syntax=docker/dockerfile:1
# The catalog-sync worker. Runs the TypeScript sources directly: Node 24 strips types natively, which is how
# bin/catalog-sync and the tests run them too, so the image runs exactly the code that was tested (no build
# step, no dist/ whose paths could differ from src/).
#
#   docker build -t catalog-sync-worker .
#   docker run --rm --env-file .env catalog-sync-worker            # the worker
#   docker run --rm catalog-sync-worker validate --help             # any other sub-command
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only, exactly as locked; no install scripts run.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force

FROM ${NODE_IMAGE}
# tini is PID 1: it forwards SIGTERM from ECS to node (which then flushes or releases held messages) and
# reaps zombies. Node as PID 1 would get no default signal handling.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    NODE_OPTIONS=--disable-warning=ExperimentalWarning
WORKDIR /app
# Owned by root and not writable by the process: the task also runs with a read-only root filesystem.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY schemas ./schemas
COPY src ./src
USER node
ENTRYPOINT ["/usr/bin/tini", "--", "node", "src/main.ts"]
CMD ["worker"]
