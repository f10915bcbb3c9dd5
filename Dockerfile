# syntax=docker/dockerfile:1
# The Chorus image: one `chorus` CLI whose subcommands run each service (history, orchestrator,
# agent, llm-sim) and check them (health). Build at the repository root:
#   docker build -t chorus:0.1.0 .
#   docker run --rm --read-only --tmpfs /tmp -v chorus-data:/data -p 50051:50051 chorus:0.1.0 up
#
# Node 24 is an LTS line (supported to April 2028) and satisfies every runtime dependency's
# engines; the tag pins the major and the Debian release and takes its security patches on
# rebuild. Both stages use the same image, so better-sqlite3's native module matches the runtime.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# better-sqlite3 downloads a prebuilt binary; these build it from source when none matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# Manifests first: the dependency layer is rebuilt only when one of them changes.
COPY package.json package-lock.json ./
COPY proto/package.json proto/
COPY config/package.json config/
COPY services/agent/package.json services/agent/
COPY services/history/package.json services/history/
COPY services/orchestrator/package.json services/orchestrator/
COPY services/shared/package.json services/shared/
COPY tools/cli/package.json tools/cli/
COPY tools/dev-ca/package.json tools/dev-ca/
COPY tools/llm-sim/package.json tools/llm-sim/
COPY tools/testenv/package.json tools/testenv/
COPY e2e/package.json e2e/
COPY bench/package.json bench/
RUN npm ci --no-audit --no-fund
COPY . .
# The bundle holds every @chorus package; only third-party modules stay in node_modules.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/@chorus node_modules/.bin \
 && find node_modules -type d -empty -delete

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
# A fixed non-root uid/gid (the chart's runAsUser/fsGroup); /data is its only writable directory.
RUN groupadd --system --gid 10001 chorus \
 && useradd --system --uid 10001 --gid chorus --home-dir /data --no-create-home --shell /usr/sbin/nologin chorus \
 && mkdir /data \
 && chown chorus:chorus /data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/tools/cli/dist ./tools/cli/dist
USER 10001:10001
# Relative paths in the default config (./data/chorus.db) land on the /data volume.
WORKDIR /data
ENTRYPOINT ["node", "/app/tools/cli/dist/chorus.mjs"]
CMD ["--help"]
