# stcheck as a container image: `docker run --rm -v "$PWD:/data:ro" stcheck -r .`
# Two stages on one pinned Debian base: the build stage compiles and installs stcheck; the final
# stage holds only the runtime libraries, the binary and the shipped policies, and runs as an
# unprivileged user. tests/docker_test.py checks these properties (and builds the image where
# Docker works).
# Pinned by digest (the tag is only a reminder: Docker pulls the digest): the multi-arch index of
# debian:bookworm-20241202-slim (Debian 12.8, also tagged 12.8-slim then). Bump both together.
ARG BASE=debian:bookworm-20241202-slim@sha256:1537a6a1cbc4b4fd401da800ee9480207e7dc1f23560c21259f681db56768f63

FROM ${BASE} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake pkg-config \
       libcjson-dev libmagic-dev libssl-dev zlib1g-dev libbz2-dev liblzma-dev libcurl4-openssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY include/ include/
COPY src/ src/
COPY cli/ cli/
COPY rules/ rules/
COPY docs/ docs/
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DSTCHECK_BUILD_TESTS=OFF \
       -DCMAKE_INSTALL_PREFIX=/usr/local \
    && cmake --build /build -j"$(nproc)" \
    && cmake --install /build \
    && strip /usr/local/bin/stcheck \
    && /usr/local/bin/stcheck --version

FROM ${BASE}
# Runtime libraries only: the ones the binary links (libcjson, zlib, bzip2, xz, libmagic and its
# database, libcurl) and libcrypto (libssl3), which --digest loads on first use.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcjson1 zlib1g libbz2-1.0 liblzma5 \
       libmagic1 libmagic-mgc libcurl4 libssl3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin stcheck
COPY --from=build /usr/local/bin/stcheck /usr/local/bin/stcheck
COPY --from=build /usr/local/share/stcheck/rules/ /usr/local/share/stcheck/rules/
USER 10001:10001
WORKDIR /data
ENTRYPOINT ["/usr/local/bin/stcheck"]
CMD ["--help"]
