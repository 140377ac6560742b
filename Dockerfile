# One image for every app of the workspace; docker-compose.yml picks the app with `command`
# (node apps/<app>/dist/main.js). Build: docker build -t vod-callbacks:local .
FROM node:20-bookworm-slim AS build
WORKDIR /app
ARG PNPM_VERSION=10.34.9
# Manifests first, so dependency installs are cached while only sources change.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml turbo.json tsconfig.json ./
COPY packages ./packages
COPY apps ./apps
RUN npm exec --yes "pnpm@${PNPM_VERSION}" -- install --frozen-lockfile \
 && npm exec --yes "pnpm@${PNPM_VERSION}" -- run build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# The app only reads /app: nothing it runs writes to the filesystem (logs go to stdout), so it runs with
# a read-only root filesystem (deploy/k8s). Files stay root-owned, so the process cannot change its own code.
COPY --from=build /app /app
# The image's `node` user, by number: Kubernetes can verify runAsNonRoot only for a numeric USER
# (deploy/k8s pods set the same runAsUser; test/k8s-manifests.test.ts keeps them equal).
USER 1000:1000
# The ingress by default; compose overrides the command per service.
EXPOSE 3000 9464
CMD ["node", "apps/ingress/dist/main.js"]
