# Sourced by dev/test: installs (where missing) and starts throw-away
# PostgreSQL and Redis servers on free loopback ports, loads the CivicQ
# fixture, and exports their addresses for the tests:
#   RUNBOOK_TEST_PG_URL     postgres://civicq:…@127.0.0.1:PORT/civicq
#   RUNBOOK_TEST_PG_ADMIN   postgres://postgres@127.0.0.1:PORT/postgres
#   RUNBOOK_TEST_REDIS_URL  redis://:…@127.0.0.1:PORT/0
#   RUNBOOK_TEST_DOCKER_IMAGE  a busybox image built here (no registry needed)
#   RUNBOOK_TEST_SERVER_IMAGE  the same with this machine's PostgreSQL and Redis
#   RUNBOOK_TEST_SMTP_PORT  an SMTP server (aiosmtpd): STARTTLS, AUTH
#                           runbook / smtp-test-pw; messages land in
#   RUNBOOK_TEST_SMTP_DIR   as NNN.eml; its certificate is signed by
#   RUNBOOK_TEST_CA         a CA made here (PEM), with its key beside it
#   RUNBOOK_TEST_S3_ENDPOINT  an S3-protocol server (s3s-fs, built from crates.io
#   RUNBOOK_TEST_S3_ROOT      once into target/test-tools), storing under ROOT (a
#                             bucket is a folder); RUNBOOK_TEST_S3FS_BIN starts more
#   RUNBOOK_TEST_SSH_HOST   USER@127.0.0.1 of an sshd (Debian's openssh-server) on
#   RUNBOOK_TEST_SSH_PORT   a free port, which takes the key
#   RUNBOOK_TEST_SSH_KEY    (a private key file) and nothing else: an ssh:// Docker engine;
#   RUNBOOK_TEST_SSH_KNOWN_HOSTS  its host key, as a known_hosts file
# services_stop (run on exit) stops them and removes their data.

RB_SERVICES_DIR=""

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

services_install() {
  local missing=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  command -v psql >/dev/null || missing+=(postgresql-client)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v gzip >/dev/null || missing+=(gzip)
  [ -x /bin/busybox ] || missing+=(busybox-static)
  command -v openssl >/dev/null || missing+=(openssl)
  [ -x /usr/sbin/logrotate ] || missing+=(logrotate)
  # The shell completions are tested in the shells they are for.
  command -v zsh >/dev/null || missing+=(zsh)
  command -v fish >/dev/null || missing+=(fish)
  # runbook schedule's `timezone` reads the system's tz database.
  [ -f /usr/share/zoneinfo/Europe/Berlin ] || missing+=(tzdata)
  # runbook schedule --install crontab writes a crontab with the real program.
  command -v crontab >/dev/null || missing+=(cron)
  # pg_query (the PostgreSQL parser that classifies SQL) is built with bindgen.
  ls /usr/lib/llvm-*/lib/libclang.so >/dev/null 2>&1 || missing+=(libclang-dev)
  # ssh:// Docker engines are tested through a real sshd and ssh client.
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v ssh >/dev/null || missing+=(openssh-client)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then echo "need root to apt-get install ${missing[*]}"; return 1; fi
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install -q 'aiosmtpd==1.4.6'
}

services_start() {
  if [ ! -f ../shared/fixtures/civicq.sql ]; then
    echo "dev/services.sh: ../shared/fixtures/civicq.sql not found: the shared folder must sit beside this checkout" >&2
    return 1
  fi
  services_install
  RB_SERVICES_DIR=$(mktemp -d /tmp/runbook-services.XXXXXX)
  chmod 755 "$RB_SERVICES_DIR"
  local bindir pgport redisport pgdata run_pg
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  pgport=$(free_port)
  pgdata="$RB_SERVICES_DIR/pg"
  mkdir -p "$pgdata"
  # PostgreSQL refuses to run as root: run it as the postgres user.
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home "$RB_SERVICES_DIR" postgres
    chown postgres "$pgdata" "$RB_SERVICES_DIR"
    run_pg() { runuser -u postgres -- "$@"; }
  else
    run_pg() { "$@"; }
  fi
  run_pg "$bindir/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 >/dev/null
  run_pg "$bindir/pg_ctl" -D "$pgdata" -l "$RB_SERVICES_DIR/pg.log" -w -o "-p $pgport -k $RB_SERVICES_DIR -c listen_addresses=127.0.0.1 -c shared_preload_libraries=pg_stat_statements" start >/dev/null
  local admin="postgres://postgres@127.0.0.1:$pgport/postgres"
  psql -q -v ON_ERROR_STOP=1 "$admin" -c "CREATE ROLE civicq LOGIN SUPERUSER PASSWORD 'civicq-test-pw'" -c "CREATE DATABASE civicq OWNER civicq" >/dev/null
  # civicq is the superuser, as POSTGRES_USER makes it in the manual's compose
  # setup; password authentication, so tests can see wrong passwords fail.
  run_pg sh -c "printf 'local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n' > '$pgdata/pg_hba.conf'"
  run_pg "$bindir/pg_ctl" -D "$pgdata" reload >/dev/null
  psql -q -v ON_ERROR_STOP=1 "postgres://postgres@127.0.0.1:$pgport/civicq" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
  PGOPTIONS="-c client_min_messages=error" PGPASSWORD=civicq-test-pw psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pgport" -U civicq -d civicq -f ../shared/fixtures/civicq.sql >/dev/null
  export RUNBOOK_TEST_PG_URL="postgres://civicq:civicq-test-pw@127.0.0.1:$pgport/civicq"
  export RUNBOOK_TEST_PG_ADMIN="$admin"
  export RUNBOOK_TEST_PG_BIN="$bindir"

  redisport=$(free_port)
  redis-server --port "$redisport" --bind 127.0.0.1 --requirepass redis-test-pw --save "" --appendonly no \
    --daemonize yes --pidfile "$RB_SERVICES_DIR/redis.pid" --dir "$RB_SERVICES_DIR" --logfile "$RB_SERVICES_DIR/redis.log" >/dev/null
  for _ in $(seq 50); do redis-cli -p "$redisport" -a redis-test-pw --no-auth-warning ping >/dev/null 2>&1 && break; sleep 0.1; done
  export RUNBOOK_TEST_REDIS_URL="redis://:redis-test-pw@127.0.0.1:$redisport/0"
  echo "PostgreSQL on 127.0.0.1:$pgport (fixture loaded), Redis on 127.0.0.1:$redisport"
  docker_test_image
  docker_server_image
  smtp_start
  s3_start
  sshd_start
}

# An sshd on a free loopback port that lets this user in with one key:
# the far side of an ssh:// Docker engine (`docker system dial-stdio`
# there reaches this machine's engine). Its host key is kept in
# target/test-tools, so known_hosts entries stay true from run to run.
sshd_start() {
  local dir="$RB_SERVICES_DIR/ssh" tools="$PWD/target/test-tools" port user
  mkdir -p "$dir" "$tools"
  [ -f "$tools/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N "" -f "$tools/ssh_host_ed25519_key"
  ssh-keygen -q -t ed25519 -N "" -f "$dir/client_key"
  cp "$dir/client_key.pub" "$dir/authorized_keys"
  chmod 600 "$dir/authorized_keys" "$dir/client_key"
  port=$(free_port)
  user=$(id -un)
  mkdir -p /run/sshd
  cat > "$dir/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $tools/ssh_host_ed25519_key
AuthorizedKeysFile $dir/authorized_keys
PidFile $dir/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
AllowUsers $user
CONF
  /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"
  for _ in $(seq 50); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  echo "[127.0.0.1]:$port $(cat "$tools/ssh_host_ed25519_key.pub")" > "$dir/known_hosts"
  export RUNBOOK_TEST_SSH_HOST="$user@127.0.0.1" RUNBOOK_TEST_SSH_PORT="$port" RUNBOOK_TEST_SSH_KEY="$dir/client_key"
  export RUNBOOK_TEST_SSH_KNOWN_HOSTS="$dir/known_hosts"
  echo "sshd on 127.0.0.1:$port (key $dir/client_key)"
}

# An S3-protocol server that checks signatures: s3s-fs (the s3s project's
# file-system server), built from crates.io the first time.
s3_start() {
  local tools="$PWD/target/test-tools"
  if [ ! -x "$tools/bin/s3s-fs" ]; then
    echo "building s3s-fs (the S3 test server) into $tools, once"
    cargo install --quiet s3s-fs@0.14.1 --features binary --locked --root "$tools"
  fi
  local port
  port=$(free_port)
  export RUNBOOK_TEST_S3_ROOT="$RB_SERVICES_DIR/s3"
  mkdir -p "$RUNBOOK_TEST_S3_ROOT"
  "$tools/bin/s3s-fs" --host 127.0.0.1 --port "$port" --access-key runbook-test-key \
    --secret-key runbook-test-secret "$RUNBOOK_TEST_S3_ROOT" > "$RB_SERVICES_DIR/s3.log" 2>&1 &
  echo $! > "$RB_SERVICES_DIR/s3.pid"
  for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  export RUNBOOK_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
  export RUNBOOK_TEST_S3FS_BIN="$tools/bin/s3s-fs"
  echo "S3 (s3s-fs) on 127.0.0.1:$port"
}

# A CA of the test run's own, and a certificate for 127.0.0.1/localhost
# signed by it: the SMTP server's STARTTLS is verified, as in production.
test_ca() {
  local d="$RB_SERVICES_DIR/ca"
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=runbook test CA" \
    -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$d/san.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 30 \
    -extfile "$d/san.ext" -out "$d/server.pem" 2>/dev/null
  export RUNBOOK_TEST_CA="$d/ca.pem"
}

smtp_start() {
  test_ca
  local port
  port=$(free_port)
  export RUNBOOK_TEST_SMTP_DIR="$RB_SERVICES_DIR/mail"
  python3 dev/smtp_server.py "$port" "$RB_SERVICES_DIR/ca/server.pem" "$RB_SERVICES_DIR/ca/server.key" \
    "$RUNBOOK_TEST_SMTP_DIR" runbook smtp-test-pw > "$RB_SERVICES_DIR/smtp.log" 2>&1 &
  echo $! > "$RB_SERVICES_DIR/smtp.pid"
  for _ in $(seq 100); do grep -q ready "$RB_SERVICES_DIR/smtp.log" 2>/dev/null && break; sleep 0.1; done
  grep -q ready "$RB_SERVICES_DIR/smtp.log" || { echo "the SMTP test server did not start:"; cat "$RB_SERVICES_DIR/smtp.log"; return 1; }
  export RUNBOOK_TEST_SMTP_PORT="$port"
  echo "SMTP (aiosmtpd, STARTTLS + AUTH) on 127.0.0.1:$port"
}

# No registry can be reached, so the Docker tests' image is a root file
# system made of Debian's static busybox, imported. Built once per engine.
docker_test_image() {
  local image=runbook-test/busybox:1
  if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
    echo "dev/services.sh: the Docker Engine is not reachable (docker version failed)" >&2
    return 1
  fi
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    local root="$RB_SERVICES_DIR/rootfs"
    mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/data"
    cp /bin/busybox "$root/bin/busybox"
    for applet in $(/bin/busybox --list); do
      [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' > "$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
    chmod 1777 "$root/tmp"
    tar -C "$root" -c . | docker import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' - "$image" >/dev/null
    rm -rf "$root"
  fi
  export RUNBOOK_TEST_DOCKER_IMAGE="$image"
  echo "Docker Engine $(docker version --format '{{.Server.Version}}'), test image $image"
}

# PostgreSQL and Redis for the compose-stack tests, which run them in
# containers on a compose network with no published port: the busybox
# root file system plus this machine's own server binaries, the libraries
# they load, and PostgreSQL's share files. Built once per engine.
docker_server_image() {
  local image=runbook-test/servers:1
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    local root="$RB_SERVICES_DIR/server-rootfs" bindir share libdir f
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    libdir=$(dirname "$bindir")/lib
    share=/usr/share/postgresql/$(basename "$(dirname "$bindir")")
    mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/var/run/postgresql" "$(dirname "$root$share")" "$root$(dirname "$bindir")"
    cp /bin/busybox "$root/bin/busybox"
    for applet in $(/bin/busybox --list); do
      [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
    done
    cp -a "$bindir" "$root$bindir"
    cp -a "$libdir" "$root$libdir"
    cp -a "$share" "$root$share"
    cp -L "$(command -v redis-server)" "$root/bin/redis-server"
    # Every library the binaries and modules load, at the path they load it from.
    for f in "$bindir"/* "$libdir"/*.so /bin/redis-server "$(command -v redis-server)"; do
      ldd "$f" 2>/dev/null | awk '/=> \//{print $3} /^[[:space:]]*\/lib/{print $1}'
    done | sort -u | while read -r lib; do
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
    # PostgreSQL's time zones and the C library's locale data, for initdb.
    [ -d /usr/share/zoneinfo ] && mkdir -p "$root/usr/share" && cp -a /usr/share/zoneinfo "$root/usr/share/"
    printf 'root:x:0:0:root:/root:/bin/sh\npostgres:x:999:999:postgres:/tmp:/bin/sh\nredis:x:998:998:redis:/tmp:/bin/sh\n' > "$root/etc/passwd"
    printf 'root:x:0:\npostgres:x:999:\nredis:x:998:\n' > "$root/etc/group"
    chmod 1777 "$root/tmp" "$root/var/run/postgresql"
    tar -C "$root" -c . | docker import --change 'CMD ["/bin/sh"]' --change "ENV PATH=/bin:$bindir" - "$image" >/dev/null
    rm -rf "$root"
  fi
  export RUNBOOK_TEST_SERVER_IMAGE="$image"
  echo "server image $image (PostgreSQL and Redis from this machine)"
}

services_stop() {
  [ -n "$RB_SERVICES_DIR" ] || return 0
  if [ -f "$RB_SERVICES_DIR/s3.pid" ]; then kill "$(cat "$RB_SERVICES_DIR/s3.pid")" 2>/dev/null || true; fi
  if [ -f "$RB_SERVICES_DIR/ssh/sshd.pid" ]; then kill "$(cat "$RB_SERVICES_DIR/ssh/sshd.pid")" 2>/dev/null || true; fi
  if [ -f "$RB_SERVICES_DIR/smtp.pid" ]; then kill "$(cat "$RB_SERVICES_DIR/smtp.pid")" 2>/dev/null || true; fi
  if [ -f "$RB_SERVICES_DIR/redis.pid" ]; then kill "$(cat "$RB_SERVICES_DIR/redis.pid")" 2>/dev/null || true; fi
  if [ -d "$RB_SERVICES_DIR/pg" ]; then
    local bindir
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    if [ "$(id -u)" -eq 0 ]; then
      runuser -u postgres -- "$bindir/pg_ctl" -D "$RB_SERVICES_DIR/pg" -m immediate stop >/dev/null 2>&1 || true
    else
      "$bindir/pg_ctl" -D "$RB_SERVICES_DIR/pg" -m immediate stop >/dev/null 2>&1 || true
    fi
  fi
  rm -rf "$RB_SERVICES_DIR"
}
