# syntax=docker/dockerfile:1
# UltraBalancer image: the gateway (default CMD) and the demo backend (dist/demo/backend.js),
# so docker-compose.yml runs every service from this one image.
# Node 24: the newest line the suite runs on in CI (.ci/run tests 20 and 24; docs/tooling.md).

# --- build: compile TypeScript with the dev dependencies, then drop them ----------------------
FROM node:24-bookworm-slim AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused while only sources change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

# --- runtime: only what `node dist/...` needs ------------------------------------------------
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Files stay owned by root: the process (user node) can read them but not change them.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/config ./config
# The config store's folder (config/docker.yaml store.file.path), the one place the gateway writes.
RUN mkdir -p /var/lib/ultrabalancer && chown node:node /var/lib/ultrabalancer
VOLUME /var/lib/ultrabalancer
# The official image's unprivileged user (uid 1000); ports above 1024 need no capability.
USER node
# 8080: client traffic; 9901: admin API.
EXPOSE 8080 9901
# Exec form: node is PID 1 and receives SIGTERM from `docker stop` directly (it drains, then exits 0).
CMD ["node", "dist/server.js", "--config", "config/docker.yaml"]
