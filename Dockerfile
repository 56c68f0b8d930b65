# Papillon in a container. Build: docker build -t papillon .
# Run: docker compose up (compose.yaml: Papillon with PostgreSQL), or
#   docker run -e PAPILLON_DOMAIN=example.org -e PAPILLON_PUBLIC_HOST=example.org \
#     -p 1863:1863 -p 1864:1864 -p 5222:5222 -p 5223:5223 -p 8080:8080 -p 8443:8443 \
#     -v papillon-data:/var/lib/papillon papillon
# (PAPILLON_PUBLIC_HOST: where MSN clients are sent for switchboards; unset, they would be
# sent to the container's own address.)
# The CLI in the running container: docker compose exec papillon papillon account list

# Dependencies, with the tools better-sqlite3 and argon2 need to compile where no
# prebuilt binary fits (python3, make, g++).
FROM node:20-bookworm-slim AS deps
WORKDIR /opt/papillon
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

FROM node:20-bookworm-slim
WORKDIR /opt/papillon
ENV NODE_ENV=production \
    PAPILLON_DATA_DIR=/var/lib/papillon \
    PAPILLON_BIND=0.0.0.0
COPY --from=deps /opt/papillon/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
# `papillon …` on the PATH; the data directory owned by the unprivileged `node` user, 0700,
# and its certs/ too: compose.cluster.yaml mounts one volume there for every node, and an
# empty volume takes the owner of the image's directory (without it, root's: `papillon
# certs` could not write).
RUN ln -s /opt/papillon/bin/papillon.js /usr/local/bin/papillon \
  && install -d -o node -g node -m 0700 /var/lib/papillon /var/lib/papillon/certs
USER node
VOLUME ["/var/lib/papillon"]
# MSNP, switchboard, XMPP (STARTTLS), XMPP (direct TLS), HTTP, HTTPS.
EXPOSE 1863 1864 5222 5223 8080 8443
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PAPILLON_HTTP_PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM (docker stop) stops the server politely within 5 s.
STOPSIGNAL SIGTERM
CMD ["node", "bin/papillon.js", "serve"]
