#!/usr/bin/env bash
# Builds an upgrade fixture: the data folders of a server and two
# workstations as an earlier version of Sportello left them, with work the
# workstations did offline still waiting to be pushed.
#
#   scripts/upgrade-fixture.sh COMMIT NAME
#
# writes internal/e2e/testdata/upgrade/NAME.tar.gz. The binaries of COMMIT
# (server and headless replica, pure Go) are built from `git archive`, then:
#   1. the server starts, an operator and two desk workstations are created
#      and enrolled;
#   2. both desks work online (citizens, applications, protocol with
#      definitive numbers) and sync everything;
#   3. the server stops; both desks go on working offline (emergency
#      registrations) and stop with their changes pending.
# The operations each desk confirmed are kept in confirmed-*.txt, the rows
# each database held in rows-*.txt (internal/e2e/testdata/upgrade/rows.sql), the commit in COMMIT.
# TestAnUpgradeKeepsWhatEarlierVersionsHeld (internal/e2e) opens them with
# the current binaries. Needs go, git (the commit in this clone's history),
# python3 and curl.
set -euo pipefail

commit=${1:?usage: $0 COMMIT NAME}
name=${2:?usage: $0 COMMIT NAME}
root=$(git rev-parse --show-toplevel)
out="$root/internal/e2e/testdata/upgrade/$name.tar.gz"
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

full=$(git -C "$root" rev-parse "$commit")
mkdir -p "$work/src" "$work/bin" "$work/fixture"
git -C "$root" archive "$full" | tar -x -C "$work/src"
(cd "$work/src" && CGO_ENABLED=0 go build -o "$work/bin/" ./cmd/sportello-server ./cmd/sportello-replica)
server=$work/bin/sportello-server
replica=$work/bin/sportello-replica

fx=$work/fixture
srv=$fx/server
addr=127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export SPORTELLO_PASSWORD=password-di-prova

"$server" serve -data "$srv" -addr "$addr" -aoo-code c_m999 -shutdown-timeout 10s 2>"$work/server.log" &
spid=$!
pids+=("$spid")
fp=
for _ in $(seq 300); do
	fp=$(grep -o 'Impronta del certificato da indicare sulle postazioni: [0-9a-f]\{64\}' "$work/server.log" | awk '{print $NF}' || true)
	[ -n "$fp" ] && break
	sleep 0.1
done
[ -n "$fp" ] || { cat "$work/server.log"; echo "server did not start" >&2; exit 1; }
for _ in $(seq 100); do
	curl -skf "https://$addr/healthz" >/dev/null && break
	sleep 0.1
done

"$server" operator add -data "$srv" -username mbianchi -name "Maria Bianchi" -role sportellista -office urp
codeA=$("$server" workstation add -data "$srv" -code DESK01 -name "Sportello 1" -kind desk | tr -d '[:space:]')
codeB=$("$server" workstation add -data "$srv" -code DESK02 -name "Sportello 2" -kind desk | tr -d '[:space:]')
"$replica" enroll -data "$fx/desk01" -server "https://$addr" -pin "$fp" -code "$codeA"
"$replica" enroll -data "$fx/desk02" -server "https://$addr" -pin "$fp" -code "$codeB"

# work DESK SEED N FILE: the desk confirms N operations, then stops.
work() {
	local desk=$1 seed=$2 n=$3 file=$4
	local before
	before=$(grep -c '^done ' "$file" 2>/dev/null || true)
	"$replica" run -data "$fx/$desk" -operator mbianchi -workload "$n" -seed "$seed" -interval 200ms -pace 10ms \
		>>"$file" 2>>"$work/$desk.log" &
	local p=$!
	pids+=("$p")
	for _ in $(seq 600); do
		[ "$(grep -c '^done ' "$file")" -gt "${before:-0}" ] && break
		sleep 0.1
	done
	[ "$(grep -c '^done ' "$file")" -gt "${before:-0}" ] || { cat "$work/$desk.log" >&2; echo "$desk did not finish" >&2; exit 1; }
	kill -TERM "$p"
	wait "$p"
}

work desk01 1 15 "$fx/confirmed-desk01.txt"
work desk02 2 15 "$fx/confirmed-desk02.txt"
for d in desk01 desk02 desk01; do
	"$replica" run -data "$fx/$d" -once -timeout 30s 2>>"$work/$d.log"
done

kill -TERM "$spid"
wait "$spid"
work desk01 3 12 "$fx/confirmed-desk01.txt"
work desk02 4 12 "$fx/confirmed-desk02.txt"

# What each database held before the upgrade, row by row (the columns every
# version has): the upgraded server must hold the same.
for d in server desk01 desk02; do
	python3 - "$fx/$d/sportello.db" "$root/internal/e2e/testdata/upgrade/rows.sql" "$fx/rows-$d.txt" <<'PY'
import sqlite3, sys
db, queries, out = sys.argv[1:]
con = sqlite3.connect('file:' + db + '?mode=ro', uri=True)
with open(out, 'w') as f:
    for q in open(queries):
        q = q.strip()
        if q:
            table, sql = q.split('|', 1)
            for (line,) in con.execute(sql):
                f.write(table + '\t' + str(line) + '\n')
PY
done

echo "$full" >"$fx/COMMIT"
rm -f "$fx"/*/*.log
mkdir -p "$(dirname "$out")"
tar -C "$fx" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -czf "$out" .
echo "$out: $(du -h "$out" | cut -f1), commit $full"
"$replica" status -data "$fx/desk01" | head -c 300; echo
