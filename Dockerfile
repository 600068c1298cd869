# syntax=docker/dockerfile:1
# defender-relay: built with the Swift toolchain image, run on a slim Debian with libcurl.
#   docker build -t defender-relay .          (first build ~18 min on 2 cores; see docs/OPERATIONS.md)
#   docker compose up -d                      (with PostgreSQL: compose.yaml, .env.example)
# The build stage's steps run on the host in the test command (scripts/check-image-build.sh).

ARG SWIFT_VERSION=6.3.1

FROM swift:${SWIFT_VERSION}-bookworm AS build
# Versions are not pinned (DL3008): Debian's security updates replace a pinned version, which
# then no longer installs; the base image is pinned by its tag instead.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcurl4-openssl-dev libsqlite3-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The pinned dependency versions first: this layer (every dependency's sources) is reused
# until Package.swift or Package.resolved change.
COPY Package.swift Package.resolved ./
RUN swift package resolve
# Sources only: without Tests/ the manifest declares no test targets.
COPY Sources ./Sources
COPY scripts/build-binary.sh ./scripts/
RUN scripts/build-binary.sh /out

FROM debian:bookworm-slim
ARG VERSION=0.10.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="defender-relay" \
      org.opencontainers.image.description="Receives AWS IoT Device Defender audits and Detect alarms from Amazon SNS, verifies and stores them, and forwards alerts." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
# Not pinned, for the reason given in the build stage.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcurl4 libsqlite3-0 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 relay \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/defender-relay --no-create-home relay \
    && install -d -o relay -g relay -m 0750 /var/lib/defender-relay
COPY --from=build /out/defender-relay /usr/local/bin/defender-relay
COPY config/defender-relay.yaml /etc/defender-relay/defender-relay.yaml
ENV DEFENDER_RELAY_CONFIG=/etc/defender-relay/defender-relay.yaml \
    RELAY_HOST=0.0.0.0 \
    RELAY_STORAGE_URL=sqlite:///var/lib/defender-relay/defender-relay.sqlite
VOLUME ["/var/lib/defender-relay"]
USER 10001:10001
EXPOSE 8080
# The image has no curl: the relay GETs its own /readyz (store reachable) through libcurl.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["defender-relay", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/defender-relay"]
CMD ["serve"]
