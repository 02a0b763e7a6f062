# syntax=docker/dockerfile:1
# Multi-stage build: static binaries on a distroless base. The last stage is the sandbox
# (what `docker build .` makes); the `paymentapp` stage is the reference payment app
# (`docker build --target paymentapp .`), which docker-compose.yml runs beside it.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/pspsim ./cmd/pspsim \
 && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/paymentapp ./examples/paymentapp/cmd/paymentapp

FROM gcr.io/distroless/static-debian12:nonroot AS paymentapp
COPY --from=build /out/paymentapp /usr/local/bin/paymentapp
EXPOSE 7401
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/paymentapp"]

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/pspsim /usr/local/bin/pspsim
COPY examples/paymentapp/compose/pspsim.yaml /etc/pspsim/paymentapp.yaml
EXPOSE 7357
USER nonroot:nonroot
# distroless has no shell or curl: the binary checks itself (GET /_sim/health; it sends
# PSPSIM_ADMIN_TOKEN when the container has one). Prometheus scrapes GET /metrics.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/pspsim", "health", "--url", "http://127.0.0.1:7357"]
ENTRYPOINT ["/usr/local/bin/pspsim"]
# Listen on every interface inside the container; publish the port to reach it. The control
# API (/_sim) answers only loopback Host names and the public URL's (--allowed-hosts adds
# names); without PSPSIM_ADMIN_TOKEN it has no token, and serve warns at start that it is
# reachable beyond loopback: publish the port on 127.0.0.1, or set the token. State lives in
# memory: a new container starts from the fixtures.
CMD ["serve", "--addr", "0.0.0.0:7357", "--public-url", "http://localhost:7357"]
