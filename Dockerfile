# syntax=docker/dockerfile:1
# One image per role, sharing their common layers; compose picks the target per service:
#   router, openclaw_worker: the core dependencies only (no Pipecat, no audio stack)
#   voice: the core plus the `voice` extra and espeak-ng
# docker build --target router -t hybridbot-router .   (also openclaw_worker, voice)

FROM python:3.11-slim AS deps-core
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /venv
# Dependencies first, from pyproject.toml alone, so these layers are cached across source changes.
COPY pyproject.toml ./
RUN python -c "import subprocess, tomllib; \
deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; \
subprocess.check_call(['/venv/bin/pip', 'install', *deps])"

FROM deps-core AS deps-voice
RUN python -c "import subprocess, tomllib; \
deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['voice']; \
subprocess.check_call(['/venv/bin/pip', 'install', *deps])"

# The source on top of each (.dockerignore keeps tests, bench and docs out), then pip removed.
FROM deps-core AS build-core
COPY . ./
RUN /venv/bin/pip install --no-deps . && rm -rf /venv/lib/python*/site-packages/pip /venv/bin/pip*

FROM deps-voice AS build-voice
COPY . ./
RUN /venv/bin/pip install --no-deps . && rm -rf /venv/lib/python*/site-packages/pip /venv/bin/pip*

FROM python:3.11-slim AS runtime
RUN useradd --create-home --uid 10001 hybridbot
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1
WORKDIR /home/hybridbot

FROM runtime AS core
COPY --from=build-core /venv /venv
USER hybridbot

FROM core AS router
CMD ["python", "-m", "router"]

FROM core AS openclaw_worker
CMD ["python", "-m", "openclaw_worker"]

FROM runtime AS voice
# espeak-ng: the voice service's offline text to speech.
RUN apt-get update \
    && apt-get install -y --no-install-recommends espeak-ng \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build-voice /venv /venv
USER hybridbot
CMD ["python", "-m", "voice", "-t", "webrtc", "--host", "0.0.0.0", "--port", "7860"]
