# syntax=docker/dockerfile:1
# Multi-stage build of the `portcullis` binary: a Rust builder, then a small Debian runtime that
# runs as a non-root user with a health check on /readyz.
#
#   docker build -t portcullis .
#   docker run -p 8080:8080 -e PORTCULLIS_ISSUER=http://localhost:8080 portcullis
#
# PORTCULLIS_ISSUER is required: the image listens on 0.0.0.0, which says nothing about the URL
# clients use. The image keeps its SQLite database in the /var/lib/portcullis volume; set
# PORTCULLIS_DATABASE_URL (and PORTCULLIS_REDIS_URL) to use PostgreSQL and Redis instead.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --locked --profile dist -p portcullis-cli \
    && install -Dm755 target/dist/portcullis /out/portcullis

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 portcullis \
    && useradd --system --uid 10001 --gid portcullis --home-dir /var/lib/portcullis --shell /usr/sbin/nologin portcullis \
    && install -d -o portcullis -g portcullis -m 0700 /var/lib/portcullis
COPY --from=build /out/portcullis /usr/local/bin/portcullis
USER 10001:10001
WORKDIR /var/lib/portcullis
VOLUME ["/var/lib/portcullis"]
# The key-encryption key that seals the private signing keys is given at run time, never baked
# in: `docker run -e PORTCULLIS_KEY_ENCRYPTION_KEY=...` (make one with `openssl rand -base64 32`)
# or a mounted secret file named by `[keys] encryption_key_file`. Without one `serve` refuses to
# start unless PORTCULLIS_ALLOW_PLAINTEXT_KEYS=1 is set.
ENV PORTCULLIS_LISTEN=0.0.0.0:8080 \
    PORTCULLIS_DATABASE_URL=sqlite:///var/lib/portcullis/portcullis.db
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/usr/local/bin/portcullis"]
CMD ["serve"]
