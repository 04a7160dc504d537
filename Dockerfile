# The Traitlens image: TypeScript run by tsx, no build step. Used by docker-compose.yml.
#   docker build -t traitlens . && docker run -p 8080:8080 -v traitlens-data:/data traitlens
# One data directory (/data) holds the SQLite database, models and index; set TRAITLENS_DB to a
# postgres:// URL to use PostgreSQL instead. test/deploy/dockerfile.test.ts checks the command and
# the variables below against the CLI and the config schema.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund
COPY . .
RUN mkdir -p /data && chown node:node /data
ENV HOST=0.0.0.0 \
    PORT=8080 \
    TRAITLENS_DATA_DIR=/data
VOLUME /data
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/traitlens.mjs"]
CMD ["serve"]
