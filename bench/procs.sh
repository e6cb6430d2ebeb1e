# Shared by the peers scripts (bench/tls-peers.sh, bench/workers-peers.sh); sourced, not run.
# The sourcing script sets `me` (its name, for messages) and fills `pids` with the process
# trees it starts and `work` with its temp folder; cleanup() ends those trees by PID and
# removes the folder (trap it on EXIT).

# busy PORT: something accepts on 127.0.0.1:PORT.
busy() { (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }
# tree PID: the PID and all its descendants.
tree() { local p=$1; echo "$p"; for c in $(pgrep -P "$p" 2>/dev/null); do tree "$c"; done; }
cleanup() {
  local all=(); for p in "${pids[@]}"; do all+=($(tree "$p")); done
  for p in "${all[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5
  for p in "${all[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
wait_port() { for _ in $(seq 1 100); do busy "$1" && return 0; sleep 0.1; done; echo "$me: nothing listens on port $1" >&2; return 1; }
# CPU ticks (utime + stime) of a process tree; $hz per second.
ticks() { local n=0; for p in $(tree "$1"); do n=$(( n + $(awk '{print $14 + $15}' /proc/"$p"/stat 2>/dev/null || echo 0) )); done; echo "$n"; }
hz=$(getconf CLK_TCK)
# median of the numbers on stdin (space separated); nan for none.
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{a[NR]=$1} END{ if (NR==0) print "nan"; else print a[int((NR+1)/2)] }'; }
