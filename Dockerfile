# syntax=docker/dockerfile:1
# Build a static binary, then ship it alone on a minimal non-root image. Herald needs a
# PostgreSQL: set DATABASE_URL (see docker-compose.yml); the image has no server of its
# own, so the embedded-database mode is for bare-metal and development runs.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/herald .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/herald /herald
USER nonroot:nonroot
ENV HERALD_HTTP_ADDR=0.0.0.0:8080 \
    HERALD_DATA_DIR=/tmp/herald \
    LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["/herald", "healthcheck"]
ENTRYPOINT ["/herald"]
CMD ["run"]
