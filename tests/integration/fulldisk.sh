#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fulldisk.sh: full disks on both sides, each a small tmpfs made here, and a read-only database.
#   - the collector's database disk fills up: it stops acking what it cannot store, says so
#     once, keeps the agent's connection; the agent's spool holds the reports; when space
#     returns the collector stores again by itself and every report arrives, seqs 1..k;
#   - the agent's state dir fills up: it keeps the new reports in memory (said once), sends and
#     has them acked all the same, and goes back to the disk when space returns;
#   - the database's file system read-only: the collector refuses to start, and says why;
#   - the database's ext4 aborts its journal under a running collector (errors=remount-ro, as
#     after an I/O error): nothing more is acked, said once, the connection kept, the collector
#     stays up; after an fsck and a restart every report arrives and none acked is lost.
set -euo pipefail

BUILD=$(cd "${1:?usage: fulldisk.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
if [ "$(id -u)" -ne 0 ]; then
	echo "fulldisk.sh: SKIP: needs root to mount a tmpfs"
	exit 77
fi
fs_tmpdir
mkdir "$T/dbdisk" "$T/agentdisk"
mount -t tmpfs -o size=6m,mode=0700 fleetstat-test-db "$T/dbdisk"
fs_on_exit "umount '$T/dbdisk'"
mount -t tmpfs -o size=1m,mode=0700 fleetstat-test-agent "$T/agentdisk"
fs_on_exit "umount '$T/agentdisk'"
DB=$T/dbdisk/fleetstat.db
PORT=$(fs_free_port)
fill() { dd if=/dev/zero of="$1/filler" bs=16k 2>/dev/null || true; }
spooled() { find "$T/$1/spool" -type f 2>/dev/null | wc -l; }
stored() { fs_sql "SELECT count(*) FROM reports"; }
count() { grep -c -- "$1" "$2" || true; }
db_count() { fs_sql "SELECT count(*) FROM reports r JOIN hosts h ON h.id = r.host_id WHERE h.tier = 'db'"; }
at_least() { [ "$("$1")" -ge "$2" ]; }

fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB"
fs_agent_start a --collector "127.0.0.1:$PORT" --tier web --interval 1 --state-dir "$T/state"
fs_wait_for 20 at_least stored 3 || fail "no reports stored"

# The database's disk fills up.
fill "$T/dbdisk"
fs_wait_for 20 grep -q "cannot store reports" "$T/collector.log" || fail "the collector did not say it cannot store"
n1=$(stored)
sleep 5
[ "$(stored)" -eq "$n1" ] || fail "reports were stored on a full disk"
[ "$(spooled state)" -ge 4 ] || fail "the agent's spool did not hold the unacked reports: $(spooled state)"
[ "$(count "cannot store reports" "$T/collector.log")" -eq 1 ] || fail "said more than once"
! grep -q "the collector closed\|retrying with backoff" "$T/a.log" || fail "the connection was lost"
echo "full database disk: nothing acked, nothing stored, $(spooled state) reports waiting in the spool, said once"

# Space returns: the collector stores again by itself, and the spool drains.
rm -f "$T/dbdisk/filler"
fs_wait_for 20 grep -q "storing again" "$T/collector.log" || fail "the collector did not recover"
drained() { [ "$(spooled state)" -le 2 ]; }
fs_wait_for 20 drained || fail "the spool did not drain: $(spooled state)"
fs_seqs_ok web || fail "seqs are not 1..k once each after the full disk"
echo "space back: stored again, $(stored) reports, seqs 1..k"
fs_agent_kill a TERM

# The agent's disk fills up: reports go on in memory.
fs_agent_start b --collector "127.0.0.1:$PORT" --tier db --interval 1 --state-dir "$T/agentdisk/state"
fs_wait_for 20 at_least db_count 2 || fail "the second agent's reports were not stored"
fill "$T/agentdisk"
fs_wait_for 20 grep -q "keeping new reports in memory" "$T/b.log" || fail "the agent did not say its disk is full"
n2=$(db_count)
sleep 4
[ "$(db_count)" -ge $((n2 + 3)) ] || fail "reports held in memory were not stored: $n2 -> $(db_count)"
[ "$(count "keeping new reports in memory" "$T/b.log")" -eq 1 ] || fail "the agent said it more than once"
rm -f "$T/agentdisk/filler"
fs_wait_for 20 grep -q "takes reports again" "$T/b.log" || fail "the agent did not go back to its disk"
sleep 2
fs_agent_kill b TERM
fs_seqs_ok db || fail "the second agent's seqs are not 1..k once each"
echo "full agent disk: $(db_count) reports, in memory while it lasted, all stored, seqs 1..k"
fs_collector_kill TERM || fail "collector did not exit 0 on SIGTERM"

# A read-only database (its file system remounted read-only while no collector has it open):
# a clear refusal at start, and the data is untouched.
n3=$(stored)
mount -o remount,ro "$T/dbdisk"
rc=0
timeout 10 "$BUILD/fleetstat-collector" --listen "127.0.0.1:$PORT" --http off --db "$DB" \
	>"$T/ro.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "a collector on a read-only database exited $rc: $(cat "$T/ro.log")"
grep -q "its file system is read-only" "$T/ro.log" || fail "unclear: $(cat "$T/ro.log")"
mount -o remount,rw "$T/dbdisk"
[ "$(stored)" -eq "$n3" ] || fail "the read-only start changed the database"
echo "read-only database: refused at start: $(cat "$T/ro.log")"

# ext4 turned read-only under a running collector.
mkdir "$T/ext4"
truncate -s 32M "$T/ext4.img"
mkfs.ext4 -q -F "$T/ext4.img"
mount -o loop,errors=remount-ro "$T/ext4.img" "$T/ext4"
fs_on_exit "umount '$T/ext4' 2>/dev/null"
loopdev=$(basename "$(findmnt -n -o SOURCE "$T/ext4")")
[ -w "/sys/fs/ext4/$loopdev/trigger_fs_error" ] || fail "no /sys/fs/ext4/$loopdev/trigger_fs_error"
DB=$T/ext4/fleetstat.db
: >"$T/collector.log"
fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB"
fs_agent_start c --collector "127.0.0.1:$PORT" --tier lb --interval 1 --state-dir "$T/state-c"
lb_count() { fs_sql "SELECT count(*) FROM reports r JOIN hosts h ON h.id = r.host_id WHERE h.tier = 'lb'"; }
fs_wait_for 20 at_least lb_count 3 || fail "no reports stored on ext4"
echo "fleetstat test" >"/sys/fs/ext4/$loopdev/trigger_fs_error"
ext4_ro() { findmnt -n -o OPTIONS "$T/ext4" | grep -q '^ro\|emergency_ro'; }
fs_wait_for 5 ext4_ro || fail "ext4 did not turn read-only"
fs_wait_for 20 grep -q "cannot store reports" "$T/collector.log" || fail "the collector did not say it cannot store"
sleep 4
kill -0 "$COL_PID" 2>/dev/null || fail "the collector died on a read-only file system"
[ "$(spooled state-c)" -ge 3 ] || fail "the agent's spool did not keep the unacked reports: $(spooled state-c)"
[ "$(count "cannot store reports" "$T/collector.log")" -eq 1 ] || fail "said more than once"
! grep -q "the collector closed\|retrying with backoff" "$T/c.log" || fail "the connection was lost"
echo "ext4 read-only under the collector: $(grep "cannot store reports" "$T/collector.log")"
# The operator's repair: stop, fsck, mount, start.  The spool then drains: nothing acked was lost.
rc=0
fs_collector_kill TERM || rc=$?
[ "$rc" -lt 128 ] || fail "the collector died of signal $((rc - 128)) on a read-only file system"
umount "$T/ext4"
e2fsck -fy "$T/ext4.img" >"$T/fsck.log" 2>&1 || [ $? -le 1 ] || fail "e2fsck: $(tail -3 "$T/fsck.log")"
mount -o loop,errors=remount-ro "$T/ext4.img" "$T/ext4"
fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB"
drained_c() { [ "$(spooled state-c)" -le 2 ]; }
fs_wait_for 30 drained_c || fail "the spool did not drain after the repair: $(spooled state-c)"
fs_agent_kill c TERM
fs_seqs_ok lb || fail "seqs are not 1..k once each after the read-only file system"
fs_collector_kill TERM || fail "collector did not exit 0 on SIGTERM"
echo "repaired: $(lb_count) reports, seqs 1..k: none acked was lost"
echo "fulldisk.sh: PASS"
