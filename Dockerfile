# syntax=docker/dockerfile:1
# defender-relay: build with the Swift toolchain image, run on a slim Debian with libcurl.
#   docker build -t defender-relay .
#   docker run -p 8080:8080 -v relay-data:/var/lib/defender-relay \
#     -e RELAY_API_TOKEN=... -e DEFENDER_TOPIC_ARN=arn:aws:sns:... defender-relay

ARG SWIFT_VERSION=6.3.1

FROM swift:${SWIFT_VERSION}-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcurl4-openssl-dev libsqlite3-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so that a source change does not fetch them again.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product defender-relay --static-swift-stdlib \
    && install -D -s "$(swift build -c release --show-bin-path)/defender-relay" /out/defender-relay

FROM debian:bookworm-slim
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
ENTRYPOINT ["/usr/local/bin/defender-relay"]
CMD ["serve"]
