#!/usr/bin/env bash
# Scaling with worker processes: the gateway with `workers: N` beside nginx with `worker_processes N`,
# same backends, same load, in the same run, as requests per second and CPU per request.
#
#   bench/workers-peers.sh [--workers "1 2 auto"] [--rounds N] [--duration S] [--conns C]
#
# Nothing is pinned: balancer, backends (nginx, one worker, 0-byte answers) and wrk (-t2) share the
# machine's cores, as they would on a small host. So req/s is what the whole machine gives, and
# CPU per request (the balancer's process tree: utime+stime over requests served) is the figure
# that shows what each added worker costs and gains. On a 2-core machine the load generator and the
# backends take a large share of the cores: read req/s scaling with that in mind (docs/workers.md).
# Medians over rounds that alternate the targets. Plain HTTP keep-alive, GET /.
#
# Needs nginx and wrk (apt-get install nginx-light wrk). Cleans up the processes it started, by PID.
# Only 127.0.0.1.
set -euo pipefail
workers_list="1 2 auto" rounds=3 duration=6 conns=128
while (($#)); do
  case $1 in
    --workers) workers_list=$2; shift 2;; --rounds) rounds=$2; shift 2;;
    --duration) duration=$2; shift 2;; --conns) conns=$2; shift 2;;
    -h|--help) sed -n '2,15p' "$0"; exit 0;;
    *) echo "workers-peers.sh: unknown argument $1" >&2; exit 2;;
  esac
done
for tool in nginx wrk; do command -v "$tool" >/dev/null || { echo "workers-peers.sh: $tool is missing (apt-get install nginx-light wrk)" >&2; exit 2; }; done
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[[ -f dist/server.js ]] || { echo "workers-peers.sh: dist/server.js missing: npm run build first" >&2; exit 2; }
me=workers-peers.sh
# shellcheck source=bench/procs.sh
. "$root/bench/procs.sh"
for p in 19581 19582 19583 19590 19591 19599; do
  if busy "$p"; then echo "workers-peers.sh: port $p is in use" >&2; exit 2; fi
done
cores=$(node -p 'require("os").availableParallelism()')
work=$(mktemp -d /tmp/workers-peers.XXXXXX)
pids=()
trap cleanup EXIT
trap 'exit 130' INT TERM

cat > "$work/backend.conf" <<NGX
worker_processes 1; daemon off; pid $work/backend.pid; error_log $work/backend-error.log warn;
events { worker_connections 8192; }
http { access_log off; keepalive_requests 10000000;
  server { listen 127.0.0.1:19581; location / { return 200 ''; } }
  server { listen 127.0.0.1:19582; location / { return 200 ''; } }
  server { listen 127.0.0.1:19583; location / { return 200 ''; } } }
NGX
nginx -c "$work/backend.conf" & pids+=($!); wait_port 19581

# start NAME N: the balancer NAME (nginx|gateway) with N workers on its port; echoes its PID.
start() {
  local name=$1 n=$2
  if [[ $name == nginx ]]; then
    cat > "$work/lb.conf" <<NGX
worker_processes $n; daemon off; pid $work/lb.pid; error_log $work/lb-error.log warn;
events { worker_connections 8192; }
http { access_log off; keepalive_requests 10000000;
  upstream pool { server 127.0.0.1:19581; server 127.0.0.1:19582; server 127.0.0.1:19583; keepalive 128; }
  server { listen 127.0.0.1:19590; location / { proxy_pass http://pool; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
NGX
    nginx -c "$work/lb.conf" >"$work/nginx.log" 2>&1 & echo $!
  else
    cat > "$work/gateway.yaml" <<YAML
listen: { host: 127.0.0.1, port: 19591 }
admin: { host: 127.0.0.1, port: 19599 }
workers: $n
pools:
  bench:
    backends:
      - url: http://127.0.0.1:19581
      - url: http://127.0.0.1:19582
      - url: http://127.0.0.1:19583
YAML
    node dist/server.js --config "$work/gateway.yaml" >"$work/gateway.log" 2>&1 & echo $!
  fi
}
declare -A rate cpu
echo "workers-peers.sh: $cores cores (auto = $cores), nothing pinned; $rounds rounds of ${duration}s; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for r in $(seq 1 "$rounds"); do
  for n in $workers_list; do
    count=$n; [[ $n == auto ]] && count=$cores
    for name in nginx gateway; do
      port=19590; [[ $name == gateway ]] && port=19591
      nginx_n=$count; [[ $name == gateway ]] && nginx_n=$n
      pid=$(start "$name" "$nginx_n"); pids+=("$pid")
      wait_port "$port"; sleep 0.5
      wrk -t2 -c"$conns" -d2s "http://127.0.0.1:$port/" >/dev/null 2>&1 || true
      t0=$(ticks "$pid")
      out=$(timeout $((duration + 15)) wrk -t2 -c"$conns" -d"${duration}s" "http://127.0.0.1:$port/" 2>&1 || true)
      t1=$(ticks "$pid")
      total=$(awk '/requests in/{print $1}' <<<"$out"); rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
      rate[$name.$n]+="$rps "
      cpu[$name.$n]+="$(awk -v t=$((t1 - t0)) -v hz="$hz" -v q="$total" 'BEGIN{ printf "%.1f", (q > 0 ? t / hz / q * 1e6 : 0) }') "
      for p in $(tree "$pid"); do kill "$p" 2>/dev/null || true; done
      while busy "$port"; do sleep 0.1; done
    done
  done
  echo "  round $r of $rounds done" >&2
done
printf '%-8s %-8s %12s %14s\n' target workers 'req/s(med)' 'cpu-us/req'
for n in $workers_list; do
  for name in nginx gateway; do
    printf '%-8s %-8s %12s %14s\n' "$name" "$n" "$(median <<<"${rate[$name.$n]}")" "$(median <<<"${cpu[$name.$n]}")"
  done
done
