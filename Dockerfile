# The Traitlens image: TypeScript run by tsx, no build step. Used by docker-compose.yml.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund
COPY . .
USER node
EXPOSE 8080
CMD ["node", "bin/traitlens.mjs", "serve"]
