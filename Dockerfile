# pinnace as a container image: a static (musl) binary on a distroless base, run as non-root.
#   docker run --rm -v "$PWD:/repo" ghcr.io/pinnace-dev/pinnace check .
# The release workflow (.github/workflows/release.yml) builds it and pushes it by digest. Base
# images are pinned by digest, as pinnace asks of every image; `pinnace pin --update Dockerfile`
# does not read Dockerfiles yet, so bump them by hand (tag and digest together).

FROM docker.io/library/rust:1.88-alpine@sha256:9dfaae478ecd298b6b5a039e1f2cc4fc040fc818a2de9aa78fa714dea036574d AS build
# Alpine's own toolchain and OpenSSL build inputs; their versions move with the pinned base.
# hadolint ignore=DL3018
RUN apk add --no-cache musl-dev perl make linux-headers
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY rules ./rules
COPY schema ./schema
# On Alpine the Rust target is musl and links statically; OpenSSL (git's https transport, for
# `pinnace migrate`) is built from source into the binary.
RUN cargo build --release --locked --features vendored-openssl \
    && cp target/release/pinnace /pinnace

FROM gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639
COPY --from=build /pinnace /usr/local/bin/pinnace
# distroless's `nonroot` user, by number so that the host can resolve it.
USER 65532:65532
WORKDIR /repo
ENTRYPOINT ["pinnace"]
CMD ["check", "."]
