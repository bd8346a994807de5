# syntax=docker/dockerfile:1
# One image for every hybridbot service; compose picks the command.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /venv
# Dependencies first, from pyproject.toml alone, so this layer is cached across source changes.
COPY pyproject.toml ./
RUN python -c "import subprocess, tomllib; \
deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; \
subprocess.check_call(['/venv/bin/pip', 'install', *deps])"
COPY README.md ./
COPY shared ./shared
COPY router ./router
COPY openclaw_worker ./openclaw_worker
COPY voice ./voice
RUN /venv/bin/pip install --no-deps .

FROM python:3.11-slim AS runtime
# espeak-ng: the voice service's offline text to speech.
RUN apt-get update \
    && apt-get install -y --no-install-recommends espeak-ng \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 hybridbot
COPY --from=build /venv /venv
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1
USER hybridbot
WORKDIR /home/hybridbot
CMD ["python", "-m", "router"]
