#!/usr/bin/env bash
# TLS termination side by side: the gateway and nginx, each on one core, as ratios from the same run.
#
#   bench/tls-peers.sh [--rounds N] [--duration S] [--conns C] [--hs-clients P] [--hs-conns C]
#                      [--h2-conns C] [--streams M] [--no-h2] [--gateway 'COMMAND']
#
# Modelled on ../shared/bench/peers.sh (plaintext): nginx backends (plaintext, one worker) and every
# load generator on CPU 1; the balancers, each pinned to CPU 0 and run one at a time against the same
# backends 127.0.0.1:19381-19383:
#   nginx    one worker, TLS terminating (ssl, http2 on the listen), keep-alive upstream pool
#   gateway  COMMAND (default: node dist/server.js --config "$PEERS_CONFIG"), whose ready-made config
#            is one TLS listener (http2: true) and a round-robin pool; otherwise the default config,
#            so access log and metrics are on, as in peers.sh
# Both serve the same self-signed EC P-256 certificate (made here with openssl), TLS 1.2 and 1.3
# (1.3 is what every client here negotiates), session tickets on (nginx's default and the gateway's).
#
# Figures, per target, medians over rounds that alternate the targets:
#   (a) keepalive  HTTPS keep-alive req/s: wrk -t1 -c$conns, GET / (0-byte body from the backends)
#   (b) full       new TLS connections per second with FULL handshakes: $hs_clients parallel
#                  `openssl s_time -new -www /` loops (never offers a session; one GET per
#                  connection, HTTP/1.0), connections counted by s_time, rate over wall time
#   (b') resumed   new TLS connections per second with RESUMED handshakes: wrk -H 'Connection: close'
#                  -c$hs_conns (wrk keeps its last session and offers it on each reconnect; checked on
#                  nginx with $ssl_session_reused: all but the first per connection were resumed)
#   (c) h2         HTTP/2 req/s: h2load -c$h2_conns -m$streams -D (skipped without h2load or with --no-h2)
# For each figure the balancer's CPU use (utime+stime of its processes over wall time, 100% = the
# core) is printed too: below ~90% the load generator, not the balancer, was the limit, and the
# "per core-second" column (rate / CPU use) is the fairer comparison. The last line is
#   RATIOS gateway/nginx keepalive=… full=… full_per_core=… resumed=… h2=…
#
# Needs: nginx, wrk, openssl, taskset; h2load for (c). On Debian, as root:
#   apt-get install -y nginx-light wrk openssl nghttp2-client
# (installing nginx-light on a machine without systemd starts no nginx; this script runs its own).
# Cleanup by PID (the process trees it started), also on errors and Ctrl-C. Only 127.0.0.1.
set -euo pipefail
rounds=3 duration=8 conns=64 hs_clients=4 hs_conns=16 h2_conns=4 streams=16 h2=1
gateway_cmd='node dist/server.js --config "$PEERS_CONFIG"'
while (($#)); do
  case $1 in
    --rounds) rounds=$2; shift 2;; --duration) duration=$2; shift 2;; --conns) conns=$2; shift 2;;
    --hs-clients) hs_clients=$2; shift 2;; --hs-conns) hs_conns=$2; shift 2;;
    --h2-conns) h2_conns=$2; shift 2;; --streams) streams=$2; shift 2;; --no-h2) h2=0; shift;;
    --gateway) gateway_cmd=$2; shift 2;;
    -h|--help) sed -n '2,35p' "$0"; exit 0;;
    *) echo "tls-peers.sh: unknown argument $1" >&2; exit 2;;
  esac
done
for n in rounds duration conns hs_clients hs_conns h2_conns streams; do
  [[ ${!n} =~ ^[1-9][0-9]*$ ]] || { echo "tls-peers.sh: --${n//_/-} must be a positive integer" >&2; exit 2; }
done
for tool in nginx wrk openssl taskset; do
  command -v "$tool" >/dev/null || { echo "tls-peers.sh: $tool is missing (apt-get install nginx-light wrk openssl)" >&2; exit 2; }
done
if ((h2)) && ! command -v h2load >/dev/null; then echo "tls-peers.sh: no h2load (apt-get install nghttp2-client): skipping HTTP/2" >&2; h2=0; fi
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[[ $gateway_cmd != 'node dist/server.js'* || -f dist/server.js ]] || { echo "tls-peers.sh: dist/server.js missing: npm run build first" >&2; exit 2; }
me=tls-peers.sh
# shellcheck source=bench/procs.sh
. "$root/bench/procs.sh"
for p in 19381 19382 19383 19390 19391; do
  if busy "$p"; then echo "tls-peers.sh: port $p is already in use; stop whatever listens there first" >&2; exit 2; fi
done
cpus=$(nproc); lb_cpu=0; load_cpu=$(( cpus > 1 ? 1 : 0 ))
((cpus > 1)) || echo "tls-peers.sh: one core only: balancer and load share it, ratios only" >&2
work=$(mktemp -d /tmp/tls-peers.XXXXXX)
pids=()
trap cleanup EXIT
trap 'exit 130' INT TERM
pin() { local cpu=$1 pid=$2; for t in /proc/"$pid"/task/*; do taskset -pc "$cpu" "${t##*/}" >/dev/null 2>&1 || true; done; for c in $(pgrep -P "$pid" 2>/dev/null); do pin "$cpu" "$c"; done; }
now() { date +%s.%N; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
chmod 755 "$work"; chmod 644 "$work"/*.pem

cat > "$work/backend.conf" <<NGX
worker_processes 1; daemon off; pid $work/backend.pid; error_log $work/backend-error.log warn;
events { worker_connections 8192; }
http { access_log off; keepalive_requests 10000000;
  server { listen 127.0.0.1:19381; location / { return 200 ''; } }
  server { listen 127.0.0.1:19382; location / { return 200 ''; } }
  server { listen 127.0.0.1:19383; location / { return 200 ''; } } }
NGX
taskset -c "$load_cpu" nginx -c "$work/backend.conf" & pids+=($!); wait_port 19381; pin "$load_cpu" "${pids[-1]}"

declare -A port cmd lbpid
order=(nginx gateway)
port[nginx]=19390 port[gateway]=19391
cat > "$work/lb.conf" <<NGX
worker_processes 1; daemon off; pid $work/lb.pid; error_log $work/lb-error.log warn;
events { worker_connections 8192; }
http { access_log off; keepalive_requests 10000000;
  upstream pool { server 127.0.0.1:19381; server 127.0.0.1:19382; server 127.0.0.1:19383; keepalive 128; }
  server { listen 127.0.0.1:${port[nginx]} ssl http2;
    ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3; ssl_session_tickets on; ssl_session_timeout 5m;
    location / { proxy_pass http://pool; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
NGX
cmd[nginx]="exec nginx -c $work/lb.conf"
cat > "$work/gateway.yaml" <<YAML
listen: { host: 127.0.0.1, port: ${port[gateway]}, http2: true, tls: { certificates: [{ cert: $work/cert.pem, key: $work/key.pem }] } }
pools:
  bench:
    algorithm: round-robin
    backends:
      - url: http://127.0.0.1:19381
      - url: http://127.0.0.1:19382
      - url: http://127.0.0.1:19383
YAML
cmd[gateway]=$gateway_cmd
for name in "${order[@]}"; do
  PEERS_PORT=${port[$name]} PEERS_CONFIG=$work/gateway.yaml taskset -c "$lb_cpu" sh -c "${cmd[$name]}" >"$work/$name.log" 2>&1 &
  pids+=($!); lbpid[$name]=$!
  wait_port "${port[$name]}" || { tail -20 "$work/$name.log" >&2; exit 1; }
  pin "$lb_cpu" "${pids[-1]}"
  code=$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:${port[$name]}/" || true)
  [[ $code == 200 ]] || { echo "tls-peers.sh: $name answered $code, not 200, over HTTPS" >&2; tail -20 "$work/$name.log" >&2; exit 1; }
done

declare -A val p50 p99 errs util
# record NAME FIGURE VALUE CPU_TICKS WALL: one round's rate and the balancer's CPU use during it.
record() { val[$1.$2]+="$3 "; util[$1.$2]+="$(awk -v t="$4" -v w="$5" -v hz="$hz" 'BEGIN{ printf "%.3f", t / hz / w }') "; }
errors_of() { awk '/Non-2xx/{n+=$NF} /Socket errors/{gsub(/[^0-9 ]/," "); for(i=1;i<=NF;i++) n+=$i} END{print n+0}'; }
wrk_run() { # NAME FIGURE wrk-args...
  local name=$1 fig=$2; shift 2
  local t0 s0 out; t0=$(ticks "${lbpid[$name]}"); s0=$(now)
  out=$(taskset -c "$load_cpu" timeout $((duration + 15)) wrk -t1 -d"${duration}s" --latency "$@" "https://127.0.0.1:${port[$name]}/" 2>&1 || true)
  record "$name" "$fig" "$(awk '/Requests\/sec/{print $2}' <<<"$out")" $(( $(ticks "${lbpid[$name]}") - t0 )) "$(awk -v a="$s0" -v b="$(now)" 'BEGIN{print b-a}')"
  p50[$name.$fig]+="$(awk '$1=="50%"{print $2}' <<<"$out") "; p99[$name.$fig]+="$(awk '$1=="99%"{print $2}' <<<"$out") "
  errs[$name.$fig]=$(( ${errs[$name.$fig]:-0} + $(errors_of <<<"$out") ))
}
full_run() { # NAME: $hs_clients s_time loops of full handshakes, for $duration seconds
  local name=$1 t0 s0 wall i total clients=()
  t0=$(ticks "${lbpid[$name]}"); s0=$(now)
  for i in $(seq 1 "$hs_clients"); do
    taskset -c "$load_cpu" timeout $((duration + 15)) openssl s_time -connect "127.0.0.1:${port[$name]}" -new -www / -time "$duration" >"$work/stime.$i" 2>&1 &
    clients+=($!)
  done
  wait "${clients[@]}" || true
  wall=$(awk -v a="$s0" -v b="$(now)" 'BEGIN{print b-a}')
  total=$(cat "$work"/stime.* | awk '/connections in [0-9.]+s;/{n+=$1} END{print n+0}')
  record "$name" full "$(awk -v n="$total" -v w="$wall" 'BEGIN{ printf "%.1f", n / w }')" $(( $(ticks "${lbpid[$name]}") - t0 )) "$wall"
  errs[$name.full]=$(( ${errs[$name.full]:-0} + $(cat "$work"/stime.* | grep -ci 'error' || true) ))
  rm -f "$work"/stime.*
}
h2_run() { # NAME
  local name=$1 t0 s0 out
  t0=$(ticks "${lbpid[$name]}"); s0=$(now)
  out=$(taskset -c "$load_cpu" timeout $((duration + 15)) h2load -t1 -c"$h2_conns" -m"$streams" -D"$duration" "https://127.0.0.1:${port[$name]}/" 2>&1 || true)
  record "$name" h2 "$(awk '/^finished in/{gsub(/,/,""); print $4}' <<<"$out")" $(( $(ticks "${lbpid[$name]}") - t0 )) "$(awk -v a="$s0" -v b="$(now)" 'BEGIN{print b-a}')"
  errs[$name.h2]=$(( ${errs[$name.h2]:-0} + $(awk '/^requests:/{print $10 + $12 + $14}' <<<"$out") ))
}

echo "tls-peers.sh: $(nproc) cores, balancers on CPU $lb_cpu, load and backends on CPU $load_cpu; $rounds rounds of ${duration}s; load: $(cut -d' ' -f1-3 /proc/loadavg)"
# Warm-up, not counted: JIT, connection pools, session tickets.
for name in "${order[@]}"; do taskset -c "$load_cpu" timeout 20 wrk -t1 -c"$conns" -d3s "https://127.0.0.1:${port[$name]}/" >/dev/null 2>&1 || true; done
figs=(keepalive full resumed); ((h2)) && figs+=(h2)
for r in $(seq 1 "$rounds"); do
  for name in "${order[@]}"; do
    wrk_run "$name" keepalive -c"$conns"
    full_run "$name"
    wrk_run "$name" resumed -c"$hs_conns" -H 'Connection: close'
    ((h2)) && h2_run "$name"
  done
  echo "  round $r of $rounds done"
done

us() { awk '{ v=$1; if (v ~ /us$/) { sub(/us$/,"",v); print v } else if (v ~ /ms$/) { sub(/ms$/,"",v); print v*1000 } else if (v ~ /s$/) { sub(/s$/,"",v); print v*1000000 } else print v }'; }
printf '%-8s %-10s %12s %9s %9s %9s %14s %7s %9s\n' target figure 'rate(med)' 'p50(us)' 'p99(us)' 'cpu(med)' 'per-core-s' errors 'rss(MiB)'
declare -A med per
for name in "${order[@]}"; do
  rss=$(awk '/VmRSS/{s+=$2} END{printf "%.0f", s/1024}' $(for p in $(tree "${lbpid[$name]}"); do echo /proc/"$p"/status; done) 2>/dev/null || echo -)
  for fig in "${figs[@]}"; do
    med[$name.$fig]=$(median <<<"${val[$name.$fig]:-}")
    u=$(median <<<"${util[$name.$fig]:-}")
    per[$name.$fig]=$(awk -v r="${med[$name.$fig]}" -v u="$u" 'BEGIN{ if (u > 0) printf "%.0f", r / u; else print "nan" }')
    m50=- m99=-
    if [[ -n ${p50[$name.$fig]:-} ]]; then
      m50=$(for v in ${p50[$name.$fig]}; do us <<<"$v"; done | tr '\n' ' ' | median)
      m99=$(for v in ${p99[$name.$fig]}; do us <<<"$v"; done | tr '\n' ' ' | median)
    fi
    printf '%-8s %-10s %12s %9s %9s %8.0f%% %14s %7s %9s\n' "$name" "$fig" "${med[$name.$fig]}" "$m50" "$m99" "$(awk -v u="$u" 'BEGIN{print u*100}')" "${per[$name.$fig]}" "${errs[$name.$fig]:-0}" "$rss"
  done
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.3f", a / b; else print "nan" }'; }
line="RATIOS gateway/nginx keepalive=$(ratio "${med[gateway.keepalive]}" "${med[nginx.keepalive]}")"
line+=" full=$(ratio "${med[gateway.full]}" "${med[nginx.full]}") full_per_core=$(ratio "${per[gateway.full]}" "${per[nginx.full]}")"
line+=" resumed=$(ratio "${med[gateway.resumed]}" "${med[nginx.resumed]}")"
((h2)) && line+=" h2=$(ratio "${med[gateway.h2]}" "${med[nginx.h2]}")"
echo "$line"
