#!/usr/bin/env bash
# Measure a real ZooKeeper ensemble's leader failover on this host, the way
# the zookeeper/fle model's defaults were calibrated (results/zookeeper.md).
#
#   scripts/zk-real-failover.sh SERVERS TICK_MS RUNS [kill|stop]
#
# Needs a ZooKeeper 3.8 server jar and Java: on Debian/Ubuntu
# `apt-get install zookeeper` (3.8.0 in Debian 12); elsewhere set ZK_CLASSPATH
# to the jars of a ZooKeeper 3.8 binary release (lib/*.jar) and a log4j 1.x
# or reload4j configuration with ZK_LOG4J. Nothing here is used by the build
# or the tests.
#
# Each run starts SERVERS servers on 127.0.0.1 (tickTime TICK_MS, initLimit 10,
# syncLimit 5, each with its own data directory), waits until they serve,
# then kills the leader's process (`kill`: SIGKILL, so its connections are
# reset, like the model's process-crash fault) or stops it (`stop`: SIGSTOP,
# like the model's pause), and reads every server's log. One CSV row per
# surviving server per run goes to stdout, times in ms after the fault:
#
#   run,sid,role,detect_ms,looking_ms,decided_ms,election_took_ms,started_ms,
#   ready_ms,refused,newleader_ms,serving_ms
#
# detect_ms: "Exception when following the leader" (the follower noticed);
# looking_ms: "PeerState set to LOOKING", once its follower is shut down;
# decided_ms: "Peer state changed: leading|following" (FLE returned);
# election_took_ms: ZooKeeper's own "LEADER ELECTION TOOK" figure;
# started_ms: that line's time (lead()/followLeader() begins; the leader
#   has bound its learner socket);
# ready_ms: the leader's "Snapshot taken" (loadData done: it accepts
#   learners next), a follower's "Successfully connected to leader";
# refused: a follower's refused connection attempts;
# newleader_ms: the leader's "Have quorum of supporters", a follower's
#   "Learner received NEWLEADER message";
# serving_ms: "Peer state changed: leading|following - broadcast" (the
#   server serves in the new epoch).
set -euo pipefail

servers=${1:?usage: $0 SERVERS TICK_MS RUNS [kill|stop]}
tick=${2:?usage: $0 SERVERS TICK_MS RUNS [kill|stop]}
runs=${3:?usage: $0 SERVERS TICK_MS RUNS [kill|stop]}
mode=${4:-kill}
case $mode in kill | stop) ;; *) echo "$0: fault must be kill or stop, not '$mode'" >&2; exit 2 ;; esac
cp=${ZK_CLASSPATH:-/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar}
log4j=${ZK_LOG4J:-/etc/zookeeper/conf/log4j.properties}
base_port=${ZK_BASE_PORT:-22000}
command -v java >/dev/null || { echo "$0: java not found" >&2; exit 2; }

work=$(mktemp -d /tmp/zk-failover.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null || true; done
    [ -n "${ZK_KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT INT TERM

now_ms() { date +%s%3N; }

# 4-letter word `srvr` over bash's /dev/tcp: prints the server's mode.
mode_of() {
    local port=$1 out
    out=$( (exec 3<>/dev/tcp/127.0.0.1/"$port" && printf srvr >&3 && cat <&3) 2>/dev/null) || return 0
    sed -n 's/^Mode: //p' <<<"$out"
}

# Milliseconds since the epoch of a log line's ISO8601 timestamp.
line_ms() {
    local stamp
    stamp=$(cut -c1-23 <<<"$1" | tr ',' '.')
    date -d "$stamp" +%s%3N
}

echo "run,sid,role,detect_ms,looking_ms,decided_ms,election_took_ms,started_ms,ready_ms,refused,newleader_ms,serving_ms"
for run in $(seq 1 "$runs"); do
    pids=()
    for i in $(seq 1 "$servers"); do
        d=$work/r$run/s$i
        mkdir -p "$d/data"
        echo "$i" >"$d/data/myid"
        {
            echo "tickTime=$tick"
            echo "initLimit=10"
            echo "syncLimit=5"
            echo "dataDir=$d/data"
            echo "clientPort=$((base_port + i))"
            echo "admin.enableServer=false"
            echo "4lw.commands.whitelist=srvr"
            for j in $(seq 1 "$servers"); do
                echo "server.$j=127.0.0.1:$((base_port + 100 + j)):$((base_port + 200 + j))"
            done
        } >"$d/zoo.cfg"
        java -Xmx256m -cp "$cp" -Dzookeeper.root.logger=INFO,CONSOLE \
            -Dlog4j.configuration="file:$log4j" -Dzookeeper.jmx.log4j.disable=true \
            org.apache.zookeeper.server.quorum.QuorumPeerMain "$d/zoo.cfg" >"$d/log" 2>&1 &
        pids+=($!)
    done
    # Wait for a leader and every follower to serve.
    leader=
    for _ in $(seq 1 600); do
        leader=; up=0
        for i in $(seq 1 "$servers"); do
            m=$(mode_of $((base_port + i)))
            [ "$m" = leader ] && leader=$i
            [ -n "$m" ] && up=$((up + 1))
        done
        [ -n "$leader" ] && [ "$up" = "$servers" ] && break
        sleep 0.1
    done
    [ -n "$leader" ] || { echo "$0: run $run: the ensemble never formed; see $work/r$run/s*/log" >&2; exit 1; }
    # Settle, then a random phase within a tick, so the fault does not land
    # at a fixed distance from the leader's last ping (with ZK_PHASE=0: 2 s
    # flat, as the runs in results/zookeeper-real/ did).
    if [ "${ZK_PHASE:-1}" = 1 ]; then
        sleep "$(awk -v r="$RANDOM" -v t="$tick" 'BEGIN { printf "%.3f", 2 + (r % 1000) / 1000 * t / 1000 }')"
    else
        sleep 2
    fi
    for i in $(seq 1 "$servers"); do : >"$work/r$run/s$i/log.mark"; wc -l <"$work/r$run/s$i/log" >"$work/r$run/s$i/log.mark"; done
    t0=$(now_ms)
    if [ "$mode" = kill ]; then kill -9 "${pids[$((leader - 1))]}"; else kill -STOP "${pids[$((leader - 1))]}"; fi
    # Wait until a new leader serves and every survivor has settled.
    for _ in $(seq 1 $((600 + 100 * tick / 200))); do
        settled=0; leaders=0
        for i in $(seq 1 "$servers"); do
            [ "$i" = "$leader" ] && continue
            m=$(mode_of $((base_port + i)))
            [ "$m" = leader ] && leaders=$((leaders + 1))
            { [ "$m" = leader ] || [ "$m" = follower ]; } && settled=$((settled + 1))
        done
        # A survivor leads (a paused leader's followers still say
        # "follower" until their read timeout).
        [ "$leaders" = 1 ] && [ "$settled" = $((servers - 1)) ] && break
        sleep 0.1
    done
    sleep 1
    for i in $(seq 1 "$servers"); do
        [ "$i" = "$leader" ] && continue
        f=$work/r$run/s$i/log
        new=$(tail -n +$(($(cat "$f.mark") + 1)) "$f")
        at() { local l; l=$(grep -m1 -- "$1" <<<"$new" || true); [ -n "$l" ] && echo $(($(line_ms "$l") - t0)); }
        took=$(grep -m1 -o "LEADER ELECTION TOOK - [0-9]*" <<<"$new" | grep -o "[0-9]*$" || true)
        refused=$(grep -c "LeaderConnector.*Unexpected exception, tries=" <<<"$new" || true)
        if grep -q "LEADING - LEADER ELECTION TOOK" <<<"$new"; then
            echo "$run,$i,leader,$(at "Exception when following the leader"),$(at "PeerState set to LOOKING"),$(at "Peer state changed: leading$"),$took,$(at "LEADER ELECTION TOOK"),$(at "Snapshot taken in"),,$(at "Have quorum of supporters"),$(at "Peer state changed: leading - broadcast")"
        else
            echo "$run,$i,follower,$(at "Exception when following the leader"),$(at "PeerState set to LOOKING"),$(at "Peer state changed: following$"),$took,$(at "LEADER ELECTION TOOK"),$(at "Successfully connected to leader"),$refused,$(at "Learner received NEWLEADER"),$(at "Peer state changed: following - broadcast")"
        fi
    done
    for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
done
