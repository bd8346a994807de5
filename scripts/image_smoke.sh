#!/usr/bin/env bash
# Images built and run: where a Docker engine answers, build the three role images, run Redis,
# router, OpenClaw worker and voice from them with docker-compose.yml's commands and health
# checks (host networking: no bridge network, no compose v2 needed), answer a turn through the
# text console, stop a worker mid-task to see RQ's warm shutdown finish the task, and read the
# queue with the rq-info service's command (RQ's CLI with the jobs' JSON serializer).
#
#   scripts/image_smoke.sh        (after `make test` made .venv; about 2 minutes when cached)
#
# The fake model and OpenClaw gateway (bench/fake_servers.py) run on the host, from .venv.
# Not part of CI: CI has no Docker engine. On this machine: ../shared/tools/docker-local.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
run_id=hb-smoke-$$
docker info >/dev/null 2>&1 || { echo "no Docker engine answers: nothing to smoke-test"; exit 2; }
[ -x "$PY" ] || { echo "run make test first (it makes .venv)"; exit 2; }

say() { printf '\n== %s\n' "$*"; }
fail() { echo "SMOKE FAILED: $*"; for c in redis router worker voice; do echo "--- $c log"; docker logs "$run_id-$c" 2>&1 | tail -20 || true; done; exit 1; }
# Whether a container's log has a line matching; reads it all (`grep -q` would end the pipe early
# and, under pipefail, fail `docker logs` with SIGPIPE).
logs_have() { docker logs "$1" 2>&1 | grep -c -- "$2" >/dev/null; }
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# A service's command (or health check) from docker-compose.yml, one word per line.
compose() { "$PY" -c 'import sys, yaml
s = yaml.safe_load(open("docker-compose.yml"))["services"][sys.argv[1]]
print("\n".join(s["healthcheck"]["test"][1:] if sys.argv[2] == "health" else s["command"]))' "$1" "$2"; }

cleanup() {
  docker rm -f "$run_id-redis" "$run_id-router" "$run_id-worker" "$run_id-voice" \
    "$run_id-console" "$run_id-task" >/dev/null 2>&1 || true
  [ -n "${fakes_pid:-}" ] && kill "$fakes_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
tmp=$(mktemp -d)
trap cleanup EXIT

say "build: one image per role (Dockerfile targets)"
for target in router openclaw_worker voice; do
  DOCKER_BUILDKIT=0 docker build --network host -q --target "$target" -t "hybridbot-${target//_/-}:latest" . >/dev/null
done
for image in router openclaw-worker voice; do
  own=$(docker history --format '{{.Size}} {{.CreatedBy}}' "hybridbot-$image:latest" | grep -E 'COPY|apt-get' | cut -d' ' -f1 | paste -sd+)
  venv=$(docker run --rm --entrypoint du "hybridbot-$image:latest" -sh /venv | cut -f1)
  echo "hybridbot-$image: own layers $own, venv $venv"
done

say "start: fake model and gateway (host), Redis, router, worker, voice (containers)"
mkfifo "$tmp/fakes-in"
FAKE_OPENCLAW_DELAY=6 "$PY" -m bench.fake_servers <"$tmp/fakes-in" >"$tmp/fakes-out" &
fakes_pid=$!
exec 3>"$tmp/fakes-in"  # the fakes serve until this closes
for _ in $(seq 100); do [ -s "$tmp/fakes-out" ] && break; sleep 0.1; done
model=$("$PY" -c 'import json, sys; print(json.load(sys.stdin)["model"])' <"$tmp/fakes-out")
claw=$("$PY" -c 'import json, sys; print(json.load(sys.stdin)["openclaw"])' <"$tmp/fakes-out")
redis_port=$(free_port)
voice_port=$(free_port)
redis_url="redis://127.0.0.1:$redis_port/0"
env=(-e "REDIS_URL=$redis_url" -e "OPENAI_BASE_URL=$model" -e OPENAI_API_KEY=smoke
     -e "OPENCLAW_API_URL=$claw" -e "VOICE_PORT=$voice_port")  # no VOICE_ACCESS_TOKEN, as with no .env
docker run -d --network host --name "$run_id-redis" redis:7.4-alpine \
  redis-server --port "$redis_port" --save '' >/dev/null
mapfile -t router_cmd < <(compose router command)
mapfile -t worker_cmd < <(compose openclaw_worker command)
mapfile -t voice_cmd < <(compose voice command | sed "s/^7860$/$voice_port/")
docker run -d --network host --name "$run_id-router" "${env[@]}" hybridbot-router "${router_cmd[@]}" >/dev/null
docker run -d --network host --name "$run_id-worker" "${env[@]}" hybridbot-openclaw-worker "${worker_cmd[@]}" >/dev/null
docker run -d --network host --name "$run_id-voice" "${env[@]}" hybridbot-voice "${voice_cmd[@]}" >/dev/null

say "health checks (the compose file's)"
for pair in router:router openclaw_worker:worker voice:voice; do
  service=${pair%%:*} container=$run_id-${pair##*:}
  mapfile -t check < <(compose "$service" health)
  ok=
  for _ in $(seq 60); do
    if docker exec "$container" "${check[@]}" >/dev/null 2>&1; then ok=1; break; fi
    sleep 1
  done
  [ -n "$ok" ] || fail "$service health check never passed"
  echo "$service: healthy"
done

say "access with no .env: the voice service generated a token and logged the link carrying it"
token=$(docker logs "$run_id-voice" 2>&1 | grep -o '#token=[0-9a-f]*' | head -1 | cut -d= -f2)
[ -n "$token" ] || fail "the voice service logged no #token= link"
status() { "$PY" - "http://127.0.0.1:$voice_port/session" "$@" <<'PY'
import sys, urllib.error, urllib.request
request = urllib.request.Request(sys.argv[1], data=b"{}", method="POST")
request.add_header("Content-Type", "application/json")
if len(sys.argv) > 2:
    request.add_header("Authorization", f"Bearer {sys.argv[2]}")
try:
    print(urllib.request.urlopen(request, timeout=10).status)
except urllib.error.HTTPError as error:
    print(error.code)
PY
}
[ "$(status)" = 401 ] || fail "a session was issued without the token"
[ "$(status "$token")" = 200 ] || fail "the logged token was refused"
echo "voice: 401 without the token, 200 with the one it logged"

say "a turn through the console (tier 0, then the model)"
console() { docker run -i --rm --name "$run_id-$1" --network host "${env[@]}" hybridbot-voice \
  python -m voice --text --session "smoke-$1"; }
out=$(printf 'volume 30\nhello there\n' | console console 2>&1)
echo "$out" | grep -E '^bot>' || true
grep -q "bot> Volume set to 30." <<<"$out" || fail "no tier-0 answer: $out"
grep -q "bot> Ok, noted. Anything else?" <<<"$out" || fail "no model answer: $out"

say "SIGTERM to a worker mid-task: RQ's warm shutdown finishes the task"
(printf 'bench research the smoke\n' | console task >"$tmp/task-out" 2>&1) &
console_pid=$!
for _ in $(seq 60); do logs_have "$run_id-worker" "openclaw task:" && break; sleep 0.5; done
logs_have "$run_id-worker" "openclaw task:" || fail "the task never started"
docker kill -s TERM "$run_id-worker" >/dev/null
code=$(docker wait "$run_id-worker")
docker logs "$run_id-worker" 2>&1 | grep -iE "warm shut|task done|stopping" || true
[ "$code" = 0 ] || fail "worker exited $code after SIGTERM"
for _ in $(seq 60); do grep -q "Here is what I found." "$tmp/task-out" && break; sleep 0.5; done
docker rm -f "$run_id-task" >/dev/null 2>&1 || true
wait "$console_pid" || true
logs_have "$run_id-worker" "warm shut down requested" || fail "no warm shutdown was logged"
logs_have "$run_id-worker" "task done" || fail "the task did not finish"
grep -q "Here is what I found." "$tmp/task-out" || fail "the answer was not delivered: $(cat "$tmp/task-out")"
echo "worker exited 0 after finishing its task; the answer reached the console"

say "the queue view (compose's rq-info service, one reading)"
mapfile -t info_cmd < <(compose rq-info command | sed "s#redis://redis:6379/0#$redis_url#")
info=$(docker run --rm --network host hybridbot-router "${info_cmd[@]:0:6}" 2>&1) || fail "rq info: $info"
echo "$info"
grep -q "^openclaw" <<<"$info" || fail "rq info shows no openclaw queue"

say "smoke passed"
