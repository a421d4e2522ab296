# syntax=docker/dockerfile:1
# Shutter: one image for every process (API, worker, migrations, seed, reindex); the command
# decides. Build: docker build -t shutter .   Run: see compose.yaml and docs/deployment.md.

ARG PYTHON_IMAGE=python:3.12-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/shutter
WORKDIR /app
# Dependencies first, from the production lock alone (requirements/prod.txt: runtime + otel,
# exact versions, every file hash-checked): this layer is reused until the lock changes.
# A C++ compiler, in this stage only: pdqhash (PDQ hashes, docs/moderation.md) publishes no
# Linux wheel, so pip builds it from its (hash-checked) sdist. Not pinned: the base image's
# Debian release fixes the version.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends g++ \
    && rm -rf /var/lib/apt/lists/*
COPY requirements/prod.txt requirements/prod.txt
RUN /opt/shutter/bin/pip install --require-hashes --no-deps -r requirements/prod.txt
# EXTRAS: optional groups of pyproject.toml to add on top, comma-separated (e.g. "moderation").
# They are NOT locked: pip resolves them at build time, the locked versions held as constraints.
ARG EXTRAS=""
COPY pyproject.toml README.md ./
RUN if [ -n "${EXTRAS}" ]; then \
        EXTRAS="${EXTRAS}" /opt/shutter/bin/python -c "import os, tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; groups = [g for g in os.environ['EXTRAS'].split(',') if g]; print('\n'.join(r for g in groups for r in p['optional-dependencies'][g] if not r.startswith(p['name'] + '[')))" > /tmp/extras.txt \
        && /opt/shutter/bin/pip freeze --all --exclude-editable > /tmp/locked.txt \
        && /opt/shutter/bin/pip install -c /tmp/locked.txt -r /tmp/extras.txt; \
    fi
# Then the project. Compat editable mode, as dev.py does: the code runs from /app, where
# migrations/ and static/ sit beside it (they are found relative to the modules). No build
# isolation: setuptools is the locked one (requirements/build.in), nothing is fetched.
COPY app.py cli.py logs.py metrics.py resources.py settings.py tracing.py ./
COPY web/ web/
COPY schema/ schema/
COPY resolvers/ resolvers/
COPY execution/ execution/
COPY services/ services/
COPY dataloaders/ dataloaders/
COPY storage/ storage/
COPY media/ media/
COPY workers/ workers/
COPY migrations/ migrations/
COPY static/ static/
RUN /opt/shutter/bin/pip install --no-deps --no-build-isolation --editable . \
        --config-settings editable_mode=compat \
    && /opt/shutter/bin/python -m compileall -q /app /opt/shutter

FROM ${PYTHON_IMAGE} AS runtime
# Fonts: libvips renders the text of `shutter seed`'s picture cards with them. Not pinned: the
# base image's Debian release fixes the version.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 shutter \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin shutter \
    && mkdir -p /var/lib/shutter \
    && chown shutter:shutter /var/lib/shutter
COPY --from=build /opt/shutter /opt/shutter
COPY --from=build /app /app
ENV PATH=/opt/shutter/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SHUTTER_DATA_DIR=/var/lib/shutter \
    LOG_FORMAT=json
WORKDIR /app
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["shutter", "serve", "--host", "0.0.0.0", "--port", "8000"]
