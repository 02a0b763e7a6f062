# syntax=docker/dockerfile:1
# Multi-stage build: a static pspsim binary on a distroless base.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/pspsim ./cmd/pspsim

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/pspsim /usr/local/bin/pspsim
EXPOSE 7357
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/pspsim"]
# Listen on every interface inside the container; publish the port to reach it.
CMD ["serve", "--addr", "0.0.0.0:7357", "--public-url", "http://localhost:7357"]
