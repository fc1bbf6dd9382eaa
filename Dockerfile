# syntax=docker/dockerfile:1
# entractl in a container: a static (musl) binary on distroless/static, which has CA
# certificates and a non-root user and nothing else (no shell, no libc). entractl uses rustls,
# so there is no OpenSSL to ship. Build: `docker build -t entractl .` (the release workflow
# builds and publishes one image per architecture on a native runner).

FROM rust:1.95-alpine AS build
RUN apk add --no-cache musl-dev
# No symbols or line tables in the shipped binary (16 MB instead of 86 MB).
ENV CARGO_PROFILE_RELEASE_STRIP=symbols
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p entractl --bin entractl \
    && cp target/release/entractl /usr/local/bin/entractl

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /usr/local/bin/entractl /usr/local/bin/entractl
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/entractl"]
CMD ["--help"]
