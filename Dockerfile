# One image for every process of the stack; the command picks the process.
# Build stage: full install to build the web app.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Runtime: production dependencies only (tsx runs the TypeScript sources), non-root.
FROM node:20-bookworm-slim AS runtime
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY auth-service ./auth-service
COPY gateway ./gateway
COPY services ./services
COPY scripts ./scripts
COPY --from=build /app/services/web/dist ./services/web/dist
RUN mkdir -p /app/keys && chown node:node /app/keys
USER node
ENV KEYS_DIR=/app/keys
CMD ["node", "--import", "tsx", "gateway/src/server.ts"]
