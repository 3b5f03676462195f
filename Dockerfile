# syntax=docker/dockerfile:1
# One image for every role: `serve --role api|dispatch|worker|all`, `migrate`, `slo`, `sim`.
#   docker build -t peakride .
#   docker run --rm -p 8080:8080 --read-only --tmpfs /tmp peakride      # the embedded platform
# Kubernetes runs it as deploy/kubernetes describes (docs/deploy.md).

# Pinned by tag; pin by digest too (node:20.20.2-bookworm-slim@sha256:…) for builds that
# must be reproducible bit for bit. Debian slim, not distroless: the pods' preStop hook runs
# `sleep`, which coreutils provides.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# Build: every dependency, then the TypeScript build and the bundle (dist/peakride.js).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would run the build before the sources are copied.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/bundle.mjs ./scripts/
COPY src ./src
RUN npm run build

# Runtime: production dependencies only, the bundle and the data files, nothing else.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts again: `prepare` (the build) needs the dev dependencies left out here. No
# production dependency needs an install script (the PostgreSQL driver's native binding is
# optional and not used).
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund
# The bundle finds its migrations beside it (dist/migrations); the simulator's scenarios and
# trace, and the SLO file `peakride slo` and `peakride sim` read, come along.
COPY --from=build /app/dist/peakride.js /app/dist/peakride.js.map ./dist/
COPY --from=build /app/dist/migrations ./dist/migrations
COPY slo ./slo
COPY scenarios ./scenarios
COPY data ./data

# A numeric, unprivileged user, so Kubernetes can check runAsNonRoot without a passwd lookup.
# The application's files stay root's: the process cannot change its own code.
RUN groupadd --system --gid 10001 peakride \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin peakride
USER 10001:10001

# The root filesystem can be read-only: the process writes only PGlite's data (embedded mode,
# `--role all` without DATABASE_URL) and temporary files, both under /tmp (an emptyDir in
# Kubernetes, --tmpfs with docker run). The distributed roles write nothing at all.
ENV HOST=0.0.0.0 \
    PORT=8080 \
    PEAKRIDE_DATA_DIR=/tmp/peakride
EXPOSE 8080

# node itself is PID 1, in exec form: SIGTERM reaches peakride, which drains and exits
# (docs/operations.md). No npm in between, which would not pass the signal on; no shell.
ENTRYPOINT ["node", "dist/peakride.js"]
CMD ["serve", "--role", "all"]
