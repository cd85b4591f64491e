#!/usr/bin/env bash
# PersonaStream local infrastructure: Kafka (KRaft, single node), Redis and ClickHouse on 127.0.0.1,
# all state under <repo>/.infra/ (git-ignored). No Docker; Kafka runs from the Maven Central jars.
#
# Usage (from anywhere; `personastream infra …` execs this):
#   bash tools/infra/infra.sh up [--with-browser]   install what is missing, start, wait healthy, create topics
#   bash tools/infra/infra.sh down [--purge]        stop what `up` started; --purge also deletes the data dirs
#   bash tools/infra/infra.sh status                one line per component; exit 0 only when all are healthy
#   bash tools/infra/infra.sh env                   print the env file (KAFKA_BROKERS, REDIS_URL, CLICKHOUSE_URL)
#   bash tools/infra/infra.sh start COMPONENT…      start kafka / redis / clickhouse if not running, wait healthy
#                                                   (after a crash: `up` already ran; no topics, no installs)
#   bash tools/infra/infra.sh pid COMPONENT         print the pid of a running component (exit 1 when stopped)
#
# Environment:
#   PS_TOPIC_PARTITIONS   partitions of the 4-partition topics (default 4; the DLQ always has 1)
#   PS_INFRA_CHECK=1      after `up`, run tools/infra/check-kafka.mjs (kafkajs produce + consumer group)
#   PS_KAFKA_HEAP         Kafka heap, default 512m
#   PS_INFRA_TIMEOUT      seconds to wait for each component to become healthy, default 120
#   PS_INFRA_DIR          state folder (default <repo>/.infra): a second, private set of servers, e.g.
#                         for a chaos run that kills them, with the ports below
#   PS_KAFKA_PORT, PS_KAFKA_CONTROLLER_PORT, PS_REDIS_PORT, PS_CH_HTTP_PORT, PS_CH_TCP_PORT
#                         ports (defaults 19092, 19093, 16379, 18123, 19000)
#   PS_KAFKA_LIBS         folder of the Kafka jars (default <repo>/.infra/kafka/libs, shared by every state folder)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
INFRA=${PS_INFRA_DIR:-$ROOT/.infra}

HOST=127.0.0.1
KAFKA_VERSION=4.1.1
LOG4J_VERSION=2.24.3
KAFKA_PORT=${PS_KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${PS_KAFKA_CONTROLLER_PORT:-19093}
REDIS_PORT=${PS_REDIS_PORT:-16379}
CH_HTTP_PORT=${PS_CH_HTTP_PORT:-18123}
CH_TCP_PORT=${PS_CH_TCP_PORT:-19000}
for _port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$REDIS_PORT" "$CH_HTTP_PORT" "$CH_TCP_PORT"; do
  [[ $_port =~ ^[1-9][0-9]{0,4}$ ]] && ((_port <= 65535)) || {
    echo "[infra] ERROR: PS_KAFKA_PORT, PS_KAFKA_CONTROLLER_PORT, PS_REDIS_PORT, PS_CH_HTTP_PORT and PS_CH_TCP_PORT must be port numbers, got '$_port'" >&2
    exit 2
  }
done

KDIR=$INFRA/kafka
RDIR=$INFRA/redis
CDIR=$INFRA/clickhouse
ENV_FILE=$INFRA/env

TIMEOUT=${PS_INFRA_TIMEOUT:-120}
KAFKA_HEAP=${PS_KAFKA_HEAP:-512m}
PARTITIONS=${PS_TOPIC_PARTITIONS:-4}
[[ $PARTITIONS =~ ^[1-9][0-9]*$ ]] || {
  echo "[infra] ERROR: PS_TOPIC_PARTITIONS must be a positive integer, got '$PARTITIONS'" >&2
  exit 2
}
# topic:partitions
TOPICS=(
  "behavior.events.v1:$PARTITIONS"
  "behavior.events.dlq.v1:1"
  "behavior.windows.v1:$PARTITIONS"
  "persona.updates.v1:$PARTITIONS"
  "hpr.truth.v1:$PARTITIONS"
)

# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
say() { echo "[infra] $*"; }
warn() { echo "[infra] WARNING: $*" >&2; }
die() {
  echo "[infra] ERROR: $*" >&2
  exit 1
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Sanity: the script must be able to find ClickHouse's server binary wherever Debian put it.
ch_server_bin() {
  if command -v clickhouse-server >/dev/null 2>&1; then
    command -v clickhouse-server
  elif [[ -x /usr/sbin/clickhouse-server ]]; then
    echo /usr/sbin/clickhouse-server
  elif command -v clickhouse >/dev/null 2>&1; then
    echo "$(command -v clickhouse) server"
  else
    return 1
  fi
}

cmdline() { tr "\0" " " <"/proc/$1/cmdline" 2>/dev/null | sed "s/ *$//" || true; }

# pid_of COMPONENT -> prints the pid from its pidfile if that process is alive and is ours.
pidfile_of() {
  case $1 in
    kafka) echo "$KDIR/kafka.pid" ;;
    redis) echo "$RDIR/redis.pid" ;;
    clickhouse) echo "$CDIR/clickhouse.pid" ;;
  esac
}
# What a component's command line contains, to tell our process from a recycled pid.
signature_of() {
  case $1 in
    kafka) echo "$KDIR/server.properties" ;;
    redis) echo "$RDIR/redis.conf" ;;
    clickhouse) echo "$CDIR/config.xml" ;;
  esac
}
pid_of() {
  local f pid
  f=$(pidfile_of "$1")
  [[ -s $f ]] || return 1
  pid=$(tr -dc '0-9' <"$f")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  [[ $(cmdline "$pid") == *"$(signature_of "$1")"* ]] || return 1
  echo "$pid"
}
# Processes that are ours by command line, even without a pidfile (e.g. a lost pidfile).
orphans_of() { pgrep -f -- "$(signature_of "$1")" 2>/dev/null || true; }

# port_holder PORT -> "name (pid N): cmdline" of whatever listens on PORT, empty when free.
port_holder() {
  local line pid name
  line=$(ss -Hltnp "sport = :$1" 2>/dev/null | head -n 1) || true
  [[ -n $line ]] || return 0
  pid=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' <<<"$line" | head -n 1)
  name=$(sed -n 's/.*(("\([^"]*\)".*/\1/p' <<<"$line" | head -n 1)
  if [[ -n $pid ]]; then
    echo "${name:-?} (pid $pid): $(cmdline "$pid" | cut -c1-160)"
  else
    echo "an unknown process (ss: ${line//  / })"
  fi
}
# port_pid PORT -> pid listening on PORT (empty if free or unknown).
port_pid() { ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1; }

require_ports_free() { # COMPONENT PORT...
  local comp=$1 port holder
  shift
  for port in "$@"; do
    holder=$(port_holder "$port")
    if [[ -n $holder ]]; then
      local hint="stop it, or free the port, then run 'infra up' again"
      [[ $holder == *"$INFRA"* ]] && hint="it looks like a PersonaStream infra process whose pidfile is gone: run 'infra down' first"
      die "$comp: port $HOST:$port is already in use by $holder — $hint. (ss -ltnp \"sport = :$port\")"
    fi
  done
}

show_tail() { # FILE [N]
  local f=$1 n=${2:-30}
  if [[ -s $f ]]; then
    echo "----- last $n lines of $f -----" >&2
    tail -n "$n" "$f" >&2
    echo "-----" >&2
  fi
}

# stop_pid NAME PID TIMEOUT: SIGTERM, wait, SIGKILL.
stop_pid() {
  local name=$1 pid=$2 limit=$3 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < limit * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  warn "$name (pid $pid) did not stop within ${limit}s after SIGTERM; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  warn "$name (pid $pid) still alive after SIGKILL"
  return 1
}

write_env() {
  mkdir -p "$INFRA"
  cat >"$ENV_FILE.tmp" <<EOF
# PersonaStream local infrastructure (written by tools/infra/infra.sh up). Use: source .infra/env
export KAFKA_BROKERS=$HOST:$KAFKA_PORT
export REDIS_URL=redis://$HOST:$REDIS_PORT
export CLICKHOUSE_URL=http://$HOST:$CH_HTTP_PORT
EOF
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

lock() {
  mkdir -p "$INFRA"
  exec 9>"$INFRA/.lock"
  if ! flock -n 9; then
    say "another infra up/down is running; waiting for it (lock $INFRA/.lock)"
    flock -w 600 9 || die "timed out waiting for the lock $INFRA/.lock"
  fi
}

# ---------------------------------------------------------------------------------------------
# Kafka
# ---------------------------------------------------------------------------------------------
KAFKA_LIBS=${PS_KAFKA_LIBS:-$ROOT/.infra/kafka/libs}
KAFKA_MARKER=$KAFKA_LIBS/.complete

kafka_pom() {
  cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by tools/infra/infra.sh: the Kafka broker + tools jars, fetched from Maven Central with
     mvn dependency:copy-dependencies. Kafka 4.x logs through log4j2; its code uses slf4j 1.7, so the
     binding is log4j-slf4j-impl (the slf4j-1.x bridge), not log4j-slf4j2-impl. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>personastream.infra</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
}

kafka_libs_ok() {
  [[ -f $KAFKA_MARKER && $(cat "$KAFKA_MARKER") == "$(kafka_pom | sha256sum | cut -c1-64)" ]] || return 1
  local j
  for j in "kafka_2.13-$KAFKA_VERSION.jar" "kafka-tools-$KAFKA_VERSION.jar" "kafka-clients-$KAFKA_VERSION.jar" \
    "log4j-slf4j-impl-$LOG4J_VERSION.jar" "log4j-core-$LOG4J_VERSION.jar"; do
    [[ -s $KAFKA_LIBS/$j ]] || return 1
  done
}

kafka_fetch() {
  mkdir -p "$KDIR"
  kafka_pom >"$KDIR/pom.xml"
  if kafka_libs_ok; then return 0; fi
  local t0 tmp
  t0=$(now)
  say "kafka: fetching Kafka $KAFKA_VERSION jars from Maven Central (mvn dependency:copy-dependencies)…"
  tmp=$KAFKA_LIBS.partial
  mkdir -p "$(dirname "$KAFKA_LIBS")"
  rm -rf "$tmp"
  if ! mvn -B -q -f "$KDIR/pom.xml" dependency:copy-dependencies -DoutputDirectory="$tmp" \
    -DincludeScope=runtime >"$KDIR/mvn.log" 2>&1; then
    show_tail "$KDIR/mvn.log" 40
    die "kafka: fetching the jars from Maven Central failed (full log: $KDIR/mvn.log)"
  fi
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
  kafka_pom | sha256sum | cut -c1-64 >"$KAFKA_MARKER"
  kafka_libs_ok || die "kafka: jars fetched but some are missing in $KAFKA_LIBS (see $KDIR/mvn.log)"
  say "kafka: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars fetched in $(elapsed "$t0") s"
}

kafka_write_config() {
  mkdir -p "$KDIR/data"
  cat >"$KDIR/server.properties" <<EOF
# Written by tools/infra/infra.sh — single-node KRaft (combined broker + controller) on $HOST.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KDIR/data
# single node: internal topics at replication factor 1 (kafkajs groups and transactions need these)
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
num.partitions=4
# small machine
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=72
log.segment.bytes=268435456
EOF
  # Broker log: log4j2, warnings only plus the "started" line, rolled at 10 MB.
  cat >"$KDIR/log4j2.properties" <<EOF
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = $KDIR/kafka.log
appender.file.filePattern = $KDIR/kafka.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 10MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = warn
rootLogger.appenderRef.file.ref = file
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = info
EOF
  # Command-line tools: errors only, to stderr (never into the broker's log).
  cat >"$KDIR/tools-log4j2.properties" <<EOF
status = warn
appender.err.type = Console
appender.err.name = err
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = error
rootLogger.appenderRef.err.ref = err
EOF
  printf 'default.api.timeout.ms=8000\nrequest.timeout.ms=4000\n' >"$KDIR/admin.properties"
}

# Short-lived JVM for the Kafka command-line tools: C1 only, serial GC, small heap (fast start).
kafka_tool() {
  java -Xshare:auto -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xms32m -Xmx256m \
    -Dlog4j2.configurationFile="$KDIR/tools-log4j2.properties" -cp "$KAFKA_LIBS/*" "$@"
}
topic_cmd() {
  kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$KAFKA_PORT" \
    --command-config "$KDIR/admin.properties" "$@"
}

kafka_format() {
  if [[ -f $KDIR/data/meta.properties ]]; then return 0; fi
  local id
  # A Kafka Uuid: 16 random bytes, URL-safe base64 without padding, not starting with '-'.
  id=-
  while [[ $id == -* ]]; do id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'); done
  say "kafka: formatting storage (cluster id $id)…"
  if ! kafka_tool kafka.tools.StorageTool format -t "$id" -c "$KDIR/server.properties" >"$KDIR/format.log" 2>&1; then
    show_tail "$KDIR/format.log"
    die "kafka: storage format failed (see $KDIR/format.log)"
  fi
  echo "$id" >"$KDIR/cluster.id"
}

kafka_start() {
  : >"$KDIR/kafka.out"
  # setsid: own session, so Ctrl-C in the terminal that ran `up` does not reach the broker.
  setsid nohup java -Xms128m -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KDIR/log4j2.properties" -cp "$KAFKA_LIBS/*" \
    kafka.Kafka "$KDIR/server.properties" >>"$KDIR/kafka.out" 2>&1 </dev/null 9>&- &
  echo $! >"$KDIR/kafka.pid"
  say "kafka: started (pid $!), waiting until healthy…"
}

# Raw Kafka ApiVersions v0 request over bash's /dev/tcp: answers only once the broker serves
# requests. Cheap (no JVM), used for status and for the first phase of waiting.
kafka_probe() {
  local out
  out=$(timeout 3 bash -c "exec 3<>/dev/tcp/$HOST/$KAFKA_PORT || exit 1
    printf '\\x00\\x00\\x00\\x0c\\x00\\x12\\x00\\x00\\x50\\x53\\x00\\x01\\x00\\x02ps' >&3
    head -c 10 <&3 | od -An -tx1" 2>/dev/null) || return 1
  out=${out//[[:space:]]/}
  # bytes 4..9: correlation id 0x50530001, error code 0
  [[ ${#out} == 20 && ${out:8:12} == 505300010000 ]]
}

# Phase 1 of waiting: the broker answers the Kafka protocol (dies when it exits or TIMEOUT passes).
kafka_wait_probe() {
  local pid deadline
  pid=$(pid_of kafka) || true
  deadline=$(($(date +%s) + TIMEOUT))
  until kafka_probe; do
    if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then
      show_tail "$KDIR/kafka.log" 40
      show_tail "$KDIR/kafka.out" 20
      die "kafka: the broker process exited during start-up (logs above: $KDIR/kafka.log, $KDIR/kafka.out)"
    fi
    if (($(date +%s) > deadline)); then
      show_tail "$KDIR/kafka.log" 40
      show_tail "$KDIR/kafka.out" 20
      die "kafka: not answering on $HOST:$KAFKA_PORT after ${TIMEOUT}s (PS_INFRA_TIMEOUT); logs above, broker pid $pid left running — run 'infra down' to stop it"
    fi
    sleep 0.3
  done
}

kafka_wait_and_topics() {
  local t0=$1 deadline described="" i
  kafka_wait_probe
  deadline=$(($(date +%s) + TIMEOUT))
  # phase 2: metadata works (describe all topics: the health check and the list of topics at once)
  for ((i = 0; ; i++)); do
    if described=$(topic_cmd --describe --exclude-internal 2>"$KDIR/tools.err"); then break; fi
    if (($(date +%s) > deadline)); then
      show_tail "$KDIR/tools.err" 10
      show_tail "$KDIR/kafka.log" 40
      die "kafka: metadata requests keep failing after ${TIMEOUT}s (logs above)"
    fi
    sleep 1
  done
  say "kafka: healthy on $HOST:$KAFKA_PORT ($(elapsed "$t0") s)"
  say "kafka: single broker, dev settings: topics replication factor 1, min.insync.replicas 1 (acks=all = one broker; the services' KAFKA_REPLICATION_FACTOR defaults to 1 — the prod overlay requires 3 and min ISR 2, and refuses topics with fewer replicas)"

  # topics: create the missing ones (in parallel: one JVM each), warn on partition mismatches
  local spec name parts have pids=() names=() created=()
  for spec in "${TOPICS[@]}"; do
    name=${spec%%:*}
    parts=${spec##*:}
    have=$(awk -v t="$name" '$1 == "Topic:" && $2 == t { for (i = 1; i <= NF; i++) if ($i == "PartitionCount:") print $(i + 1) }' <<<"$described" | head -n 1)
    if [[ -n $have ]]; then
      [[ $have == "$parts" ]] ||
        warn "kafka: topic $name exists with $have partitions, wanted $parts (PS_TOPIC_PARTITIONS); left as is — 'infra down --purge' to recreate"
      continue
    fi
    topic_cmd --create --if-not-exists --topic "$name" --partitions "$parts" --replication-factor 1 \
      >"$KDIR/topic-$name.log" 2>&1 &
    pids+=($!)
    names+=("$name:$parts")
  done
  for i in "${!pids[@]}"; do
    if wait "${pids[$i]}"; then
      created+=("${names[$i]}")
      rm -f "$KDIR/topic-${names[$i]%%:*}.log"
    else
      show_tail "$KDIR/topic-${names[$i]%%:*}.log" 10
      die "kafka: creating topic ${names[$i]%%:*} failed"
    fi
  done
  if ((${#created[@]} > 0)); then
    say "kafka: created topics ${created[*]} (name:partitions)"
  else
    say "kafka: topics present (${#TOPICS[@]})"
  fi
}

# ---------------------------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------------------------
redis_write_config() {
  mkdir -p "$RDIR/data"
  cat >"$RDIR/redis.conf" <<EOF
# Written by tools/infra/infra.sh
bind $HOST
port $REDIS_PORT
protected-mode yes
daemonize yes
supervised no
pidfile $RDIR/redis.pid
logfile $RDIR/redis.log
loglevel notice
dir $RDIR/data
# durability for persona state: append-only file, fsync every second; no RDB snapshots
appendonly yes
appendfsync everysec
save ""
# keep the config path in the process title so the process is recognisably ours (pgrep -f .infra)
proc-title-template "{title} {listen-addr} {server-mode} {config-file}"
EOF
}
redis_ping() { [[ $(timeout 3 redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }
redis_start() {
  rm -f "$RDIR/redis.pid"
  if ! redis-server "$RDIR/redis.conf" >"$RDIR/start.out" 2>&1 </dev/null 9>&-; then
    show_tail "$RDIR/start.out"
    show_tail "$RDIR/redis.log"
    die "redis: redis-server failed to start"
  fi
  local deadline=$(($(date +%s) + TIMEOUT)) pid=""
  until redis_ping; do
    pid=$(pid_of redis) || pid=""
    if [[ -s $RDIR/redis.pid && -z $pid ]] || (($(date +%s) > deadline)); then
      show_tail "$RDIR/redis.log"
      die "redis: not answering PING on $HOST:$REDIS_PORT (log above: $RDIR/redis.log)"
    fi
    sleep 0.1
  done
}

# ---------------------------------------------------------------------------------------------
# ClickHouse (Debian 18.16: <yandex> root element)
# ---------------------------------------------------------------------------------------------
ch_write_config() {
  mkdir -p "$CDIR/data" "$CDIR/log"
  cat >"$CDIR/config.xml" <<EOF
<?xml version="1.0"?>
<!-- Written by tools/infra/infra.sh. ClickHouse 18.16 format. No interserver_http_port: not listening. -->
<yandex>
    <logger>
        <level>warning</level>
        <log>$CDIR/log/clickhouse-server.log</log>
        <errorlog>$CDIR/log/clickhouse-server.err.log</errorlog>
        <size>50M</size>
        <count>3</count>
    </logger>
    <listen_host>$HOST</listen_host>
    <http_port>$CH_HTTP_PORT</http_port>
    <tcp_port>$CH_TCP_PORT</tcp_port>
    <max_connections>1024</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$CDIR/data/</path>
    <tmp_path>$CDIR/data/tmp/</tmp_path>
    <user_files_path>$CDIR/data/user_files/</user_files_path>
    <format_schema_path>$CDIR/data/format_schemas/</format_schema_path>
    <users_config>$CDIR/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
</yandex>
EOF
  cat >"$CDIR/users.xml" <<EOF
<?xml version="1.0"?>
<!-- Written by tools/infra/infra.sh: user 'default', no password, loopback only. -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>2000000000</max_memory_usage>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
}
ch_ping() { [[ $(curl -s -m 3 "http://$HOST:$CH_HTTP_PORT/ping" 2>/dev/null) == "Ok." ]]; }
ch_version() { curl -sf -m 3 "http://$HOST:$CH_HTTP_PORT/" --data-binary 'SELECT version()' 2>/dev/null; }
ch_start() {
  local bin
  bin=$(ch_server_bin) || die "clickhouse: clickhouse-server not found (ensure-system-deps.sh should have installed it)"
  rm -f "$CDIR/clickhouse.pid"
  # --daemon forks and writes the pidfile; our config keeps everything under .infra/clickhouse.
  # shellcheck disable=SC2086 # $bin may be "clickhouse server"
  if ! $bin --config-file="$CDIR/config.xml" --pid-file="$CDIR/clickhouse.pid" --daemon \
    >"$CDIR/log/start.out" 2>&1 </dev/null 9>&-; then
    show_tail "$CDIR/log/start.out"
    die "clickhouse: clickhouse-server failed to start"
  fi
  local deadline=$(($(date +%s) + TIMEOUT)) pid=""
  until ch_ping && [[ -n $(ch_version) ]] && pid=$(pid_of clickhouse); do
    if { [[ -s $CDIR/clickhouse.pid ]] && ! pid_of clickhouse >/dev/null; } || (($(date +%s) > deadline)); then
      show_tail "$CDIR/log/clickhouse-server.err.log"
      show_tail "$CDIR/log/start.out"
      die "clickhouse: not healthy on http://$HOST:$CH_HTTP_PORT (logs above: $CDIR/log/)"
    fi
    sleep 0.1
  done
}

# ---------------------------------------------------------------------------------------------
# status
# ---------------------------------------------------------------------------------------------
# component_status COMP -> "state|address|pid|version"
component_status() {
  local pid state=stopped version="-" addr pidshow="-" owner
  case $1 in
    kafka)
      addr=$HOST:$KAFKA_PORT
      version=$(find "$KAFKA_LIBS" -maxdepth 1 -name 'kafka_2.13-*.jar' 2>/dev/null | head -n 1 | sed 's/.*kafka_2.13-\(.*\)\.jar/\1/')
      version=${version:--}
      if pid=$(pid_of kafka); then
        pidshow=$pid
        if kafka_probe; then state=healthy; else state=unhealthy; fi
        [[ -f $KDIR/cluster.id ]] && version="$version (KRaft, cluster $(cat "$KDIR/cluster.id"))"
      fi
      owner=$(port_pid "$KAFKA_PORT")
      ;;
    redis)
      addr=$HOST:$REDIS_PORT
      if pid=$(pid_of redis); then
        pidshow=$pid
        if redis_ping; then
          state=healthy
          version=$(redis-cli -h "$HOST" -p "$REDIS_PORT" info server 2>/dev/null | sed -n 's/^redis_version:\(.*\)\r\{0,1\}$/\1/p' | tr -d '\r')
          version="${version:-?} (aof on)"
        else
          state=unhealthy
        fi
      fi
      owner=$(port_pid "$REDIS_PORT")
      ;;
    clickhouse)
      addr=http://$HOST:$CH_HTTP_PORT
      if pid=$(pid_of clickhouse); then
        pidshow=$pid
        if ch_ping && version=$(ch_version); then
          state=healthy
          version="$version (native tcp $HOST:$CH_TCP_PORT)"
        else
          state=unhealthy
          version="-"
        fi
      fi
      owner=$(port_pid "$CH_HTTP_PORT")
      ;;
  esac
  # Someone else answering on our port is not "our component is healthy".
  if [[ $state == healthy && -n $owner && $owner != "$pidshow" ]]; then
    state=unhealthy
    version="port held by pid $owner, not ours"
  elif [[ $state == stopped && -n $owner ]]; then
    version="port in use by pid $owner"
  fi
  echo "$state|$addr|$pidshow|$version"
}

cmd_status() {
  local comp line all=0
  printf '%-11s %-10s %-24s %-8s %s\n' COMPONENT STATE ADDRESS PID VERSION
  for comp in kafka redis clickhouse; do
    line=$(component_status "$comp")
    IFS='|' read -r state addr pid version <<<"$line"
    printf '%-11s %-10s %-24s %-8s %s\n' "$comp" "$state" "$addr" "$pid" "$version"
    [[ $state == healthy ]] || all=1
  done
  return $all
}

# ---------------------------------------------------------------------------------------------
# up / down / env
# ---------------------------------------------------------------------------------------------
cmd_up() {
  local with_browser=0 arg t0 kpid rpid cpid
  for arg in "$@"; do
    case $arg in
      --with-browser) with_browser=1 ;;
      *) die "up: unknown option $arg (expected --with-browser)" ;;
    esac
  done
  t0=$(now)
  lock
  local deps_args=(--quiet)
  ((with_browser)) || deps_args+=(--no-browser)
  bash "$SCRIPT_DIR/ensure-system-deps.sh" "${deps_args[@]}"

  kpid=$(pid_of kafka) || kpid=""
  rpid=$(pid_of redis) || rpid=""
  cpid=$(pid_of clickhouse) || cpid=""
  # (Daemons are started with fd 9 closed so they do not inherit the lock.)
  # Fail before starting anything if a port we need is taken.
  [[ -n $kpid ]] || require_ports_free kafka "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"
  [[ -n $rpid ]] || require_ports_free redis "$REDIS_PORT"
  [[ -n $cpid ]] || require_ports_free clickhouse "$CH_HTTP_PORT" "$CH_TCP_PORT"

  # Kafka first (slowest to boot); Redis and ClickHouse start while the JVM warms up.
  local tk
  tk=$(now)
  kafka_fetch
  if [[ -n $kpid ]]; then
    say "kafka: already running (pid $kpid)"
  else
    kafka_write_config
    kafka_format
    kafka_start
  fi

  if [[ -n $rpid ]]; then
    say "redis: already running (pid $rpid)"
  else
    local tr
    tr=$(now)
    redis_write_config
    redis_start
    say "redis: healthy on $HOST:$REDIS_PORT (pid $(pid_of redis), $(elapsed "$tr") s)"
  fi
  redis_ping || die "redis: pid $(pid_of redis || echo '?') is running but does not answer PING on $HOST:$REDIS_PORT (see $RDIR/redis.log)"

  if [[ -n $cpid ]]; then
    say "clickhouse: already running (pid $cpid)"
  else
    local tc
    tc=$(now)
    ch_write_config
    ch_start
    say "clickhouse: healthy on http://$HOST:$CH_HTTP_PORT (pid $(pid_of clickhouse), version $(ch_version), $(elapsed "$tc") s)"
  fi
  ch_ping || die "clickhouse: pid $cpid is running but /ping does not answer on $HOST:$CH_HTTP_PORT (see $CDIR/log/)"

  kafka_wait_and_topics "$tk"

  write_env
  say "env written to $ENV_FILE (source it, or: eval \"\$(bash tools/infra/infra.sh env)\")"

  if [[ ${PS_INFRA_CHECK:-0} == 1 ]]; then
    say "kafka: PS_INFRA_CHECK=1 — kafkajs produce + consumer-group round trip…"
    command -v node >/dev/null 2>&1 || die "kafka check: node not found"
    (cd "$ROOT" && node "$SCRIPT_DIR/check-kafka.mjs" "$HOST:$KAFKA_PORT") ||
      die "kafka check failed (tools/infra/check-kafka.mjs); broker log: $KDIR/kafka.log"
  fi

  say "up done in $(elapsed "$t0") s"
  cmd_status || die "not every component is healthy (see above)"
}

cmd_down() {
  local purge=0 arg comp pid pids=() names=() leftovers
  for arg in "$@"; do
    case $arg in
      --purge) purge=1 ;;
      *) die "down: unknown option $arg (expected --purge)" ;;
    esac
  done
  [[ -d $INFRA ]] || {
    say "nothing to stop ($INFRA does not exist)"
    return 0
  }
  lock
  # SIGTERM everything first (in parallel), then wait for each.
  for comp in kafka clickhouse redis; do
    for pid in $( (pid_of "$comp" || true; orphans_of "$comp") | sort -u); do
      say "$comp: stopping pid $pid (SIGTERM)…"
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
      names+=("$comp")
    done
  done
  local i limit
  for i in "${!pids[@]}"; do
    case ${names[$i]} in kafka) limit=45 ;; clickhouse) limit=30 ;; *) limit=20 ;; esac
    stop_pid "${names[$i]}" "${pids[$i]}" "$limit" || true
  done
  rm -f "$KDIR/kafka.pid" "$RDIR/redis.pid" "$CDIR/clickhouse.pid"
  ((${#pids[@]} > 0)) && say "stopped: ${names[*]}" || say "nothing was running"

  leftovers=$( (orphans_of kafka; orphans_of redis; orphans_of clickhouse) | sort -u | tr '\n' ' ')
  if [[ -n ${leftovers// /} ]]; then
    die "processes still running after down: $leftovers"
  fi
  if ((purge)); then
    rm -rf "$KDIR/data" "$KDIR/cluster.id" "$RDIR/data" "$CDIR/data"
    say "purged data dirs ($KDIR/data, $RDIR/data, $CDIR/data); Kafka jars kept"
  fi
}

# start COMPONENT…: (re)start components that are not running — after a crash, say — with the
# configuration `up` wrote, and wait until each is healthy. No installs, no topics.
cmd_start() {
  local comp pid t0
  (($# > 0)) || die "start: name one or more of kafka, redis, clickhouse"
  for comp in "$@"; do
    case $comp in kafka | redis | clickhouse) ;; *) die "start: unknown component '$comp' (kafka, redis, clickhouse)" ;; esac
    [[ -f $(signature_of "$comp") ]] || die "start: $comp has no configuration in $INFRA; run 'up' first"
  done
  lock
  for comp in "$@"; do
    t0=$(now)
    if pid=$(pid_of "$comp"); then
      say "$comp: already running (pid $pid)"
      continue
    fi
    case $comp in
      kafka)
        require_ports_free kafka "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"
        kafka_start
        kafka_wait_probe
        ;;
      redis)
        require_ports_free redis "$REDIS_PORT"
        redis_start
        ;;
      clickhouse)
        require_ports_free clickhouse "$CH_HTTP_PORT" "$CH_TCP_PORT"
        ch_start
        ;;
    esac
    say "$comp: healthy (pid $(pid_of "$comp"), $(elapsed "$t0") s)"
  done
}

cmd_pid() {
  case ${1:-} in kafka | redis | clickhouse) ;; *) die "pid: name one of kafka, redis, clickhouse" ;; esac
  pid_of "$1"
}

cmd_env() {
  [[ -f $ENV_FILE ]] || write_env
  cat "$ENV_FILE"
}

usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; }

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status ;;
    env) cmd_env ;;
    start) cmd_start "$@" ;;
    pid) cmd_pid "$@" ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
