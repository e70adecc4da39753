# OneStop Python image: one image for the `hub` and `nodes` services of
# docker-compose.yml (and any other `onestop` sub-command).
#
#   docker build -t onestop .
#   docker run --rm onestop --help
#
# The hub and the nodes only talk to Kafka over the network, so the image
# needs no Java. A build stage with a compiler installs the project into a
# virtualenv (in case a dependency has no wheel for this platform); the
# runtime stage copies only that virtualenv.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY . .
RUN pip install --no-cache-dir . \
 && onestop --help >/dev/null

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="onestop" \
      org.opencontainers.image.description="OneStop hub and simulated police nodes" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib
COPY --from=build /opt/venv /opt/venv
# Non-root user; /app is its writable working directory (Faust keeps its
# local table data in "<app id>-data/" under the working directory).
RUN groupadd --system --gid 10001 onestop \
 && useradd --system --uid 10001 --gid onestop --home-dir /home/onestop --create-home onestop \
 && install -d -o onestop -g onestop /app
USER onestop
WORKDIR /app
# hub web/metrics port, nodes metrics port
EXPOSE 6066 9100
ENTRYPOINT ["onestop"]
CMD ["--help"]
