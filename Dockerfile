# One image for every process of the stack; the compose `command` picks the process
# (`node --import tsx <entry>.ts`: tsx is a runtime dependency, there is no compile step).
# Build:  docker build -t jwt-edge .      Run: see docker-compose.yml.
ARG NODE_IMAGE=node:20-bookworm-slim

# Build stage: the full install (vite and its React plugin are dev dependencies) builds the web app.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Runtime stage: production dependencies only, the sources tsx runs, the built web app; non-root.
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY auth-service/src ./auth-service/src
COPY gateway/src ./gateway/src
COPY services ./services
COPY scripts ./scripts
COPY --from=build /app/services/web/dist ./services/web/dist
# The keys volume is mounted here; a fresh named volume takes this directory's owner and mode.
RUN mkdir -p /app/keys && chown node:node /app/keys && chmod 0700 /app/keys
# Code stays root-owned (read-only for the process); only keys/ is writable.
USER node
ENV KEYS_DIR=/app/keys
EXPOSE 8080
CMD ["node", "--import", "tsx", "gateway/src/server.ts"]
