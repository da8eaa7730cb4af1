# syntax=docker/dockerfile:1
# memcg-sim server image. Build stage: full Node 22 image (it carries python3, make and g++, which
# better-sqlite3 needs when no prebuilt binary matches); runtime: node:22-slim, non-root.

FROM node:22-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY proto ./proto
COPY openapi.yaml ./
COPY scripts/openapi-json.mjs ./scripts/
RUN npm run build && npm prune --omit=dev

FROM node:22-slim AS runtime
ENV NODE_ENV=production \
    MEMCG_SIM_HOST=0.0.0.0 \
    MEMCG_SIM_HTTP_PORT=8080 \
    MEMCG_SIM_GRPC_PORT=50051 \
    MEMCG_SIM_DATA_DIR=/data
WORKDIR /app
# dist/ finds openapi.yaml and proto/ by walking up to the folder holding package.json
COPY --from=build --chown=node:node /app/package.json /app/openapi.yaml ./
COPY --from=build --chown=node:node /app/proto ./proto
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080 50051
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# the compiled server directly, as `npm start` runs it: one process, so `docker stop`'s SIGTERM reaches node
CMD ["node", "dist/src/main.js"]
