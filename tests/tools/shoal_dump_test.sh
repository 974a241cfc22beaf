#!/usr/bin/env bash
# End-to-end tests of shoal-dump on logs written by the real ShardLog
# (shoal-dump-testgen), one CTest case per shape: registered by tools/CMakeLists.txt.
#
# Usage: shoal_dump_test.sh CASE SHOAL_DUMP TESTGEN WORKDIR
set -uo pipefail
case_name=$1 dump=$2 gen=$3 work=$4
rm -rf "$work"
mkdir -p "$work"
log=$work/log
out=$work/out.txt

fail() { echo "FAIL [$case_name]: $*" >&2; echo "--- shoal-dump output:" >&2; cat "$out" >&2; exit 1; }

# run EXPECTED_RC ARGS...: runs shoal-dump, output in $out, checks the exit status.
run() {
  local want=$1; shift
  "$dump" "$@" >"$out" 2>&1
  local rc=$?
  [ "$rc" -eq "$want" ] || fail "shoal-dump $* exited $rc, expected $want"
}
expect() { grep -qF -- "$1" "$out" || fail "output lacks: $1"; }
expect_no_problem_lines() { ! grep -qE '^ *! ' "$out" || fail "output has problem lines"; }

"$gen" log "$log" 3000 || { echo "FAIL: testgen log" >&2; exit 1; }
[ -e "$log/000000000003.seg" ] || { echo "FAIL: expected at least 3 segments" >&2; ls "$log" >&2; exit 1; }

damage() { "$gen" damage "$1" "$log" || { echo "FAIL: testgen damage $1" >&2; exit 1; }; }

case $case_name in
  dir_ok)
    run 0 "$log"
    expect "result: ok"
    expect "end of data at byte"
    expect_no_problem_lines
    ;;
  dir_records_ok)
    run 0 --records --data "$log"
    expect "record offset: 0 "
    expect "key: \"key-0\""
    expect "entry i: 0 "
    ;;
  files_ok)
    # Each kind of file on its own.
    run 0 "$log/000000000001.seg"
    expect "crc: ok"
    run 0 "$log/000000000001.idx"
    expect "segment path:"
    run 0 "$log/log.meta"
    expect "start_offset: 0"
    run 0 "$log/CLEAN"
    expect "clean $log/CLEAN"
    # A copy under another name is recognised by its magic number.
    cp "$log/000000000001.seg" "$work/copy.bin"
    run 0 "$work/copy.bin"
    expect "segment $work/copy.bin"
    ;;
  json_ok)
    run 0 --json --records --data "$log"
    if command -v python3 >/dev/null; then
      python3 - "$out" <<'PY' || fail "invalid JSON"
import json, sys

def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate key in {keys}")
    return dict(pairs)

kinds = set()
for line in open(sys.argv[1], encoding="utf-8"):
    obj = json.loads(line, object_pairs_hook=no_duplicates)
    assert obj["ok"] is True, obj["problems"]
    kinds.add(obj["kind"])
assert kinds == {"meta", "segment", "index", "clean", "log"}, kinds
PY
    fi
    expect '"kind":"log"'
    ;;
  crc_sealed)
    damage flip-sealed
    run 1 "$log"
    expect "CRC mismatch"
    expect "Restore the file"
    run 1 --json "$log/000000000001.seg"
    expect '"crc":"mismatch"'
    ;;
  torn_tail)
    damage torn-tail
    run 1 "$log"
    expect "stale/torn bytes at"
    expect "bad frame header"
    expect "truncates the segment"
    ;;
  index_entry)
    damage index-entry
    run 1 "$log"
    expect "is not a frame boundary"
    run 1 "$log/000000000001.idx"
    expect "is not a frame boundary"
    ;;
  index_crc)
    damage index-crc
    run 1 "$log/000000000001.idx"
    expect "index CRC mismatch"
    expect "rebuilds it from the segment"
    ;;
  gap)
    damage gap
    run 1 "$log"
    expect "000000000003.seg starts at offset"
    expect "are missing"
    ;;
  meta_crc)
    damage meta-crc
    run 1 "$log"
    expect "log.meta CRC mismatch"
    ;;
  trimmed_ok)
    "$gen" log "$work/trimmed" 3000 --trim 1500 || fail "testgen"
    run 0 "$work/trimmed"
    expect "start_offset: 1500"
    [ ! -e "$work/trimmed/000000000001.seg" ] || fail "segment 1 was not trimmed"
    ;;
  sealed_ok)
    "$gen" log "$work/sealed" 3000 --seal || fail "testgen"
    run 0 "$work/sealed"
    expect "sealed: yes sealed_next_offset: 3000"
    ;;
  crashed_ok)
    # No CLEAN: Open would scan the active segment; every write completed, so nothing is torn.
    "$gen" log "$work/crashed" 3000 --crash || fail "testgen"
    [ ! -e "$work/crashed/CLEAN" ] || fail "CLEAN after a crash"
    run 0 "$work/crashed"
    expect "end_offset: 3000"
    ;;
  direct_ok)
    "$gen" log "$work/direct" 3000 --direct
    rc=$?
    [ "$rc" -eq 77 ] && exit 77
    [ "$rc" -eq 0 ] || fail "testgen"
    run 0 --records "$work/direct"
    expect "end_offset: 3000"
    ;;
  worked_example)
    # docs/format.md shows these exact bytes: keep the two in step.
    "$gen" tiny "$work/tiny" || fail "testgen tiny"
    run 0 --data "$work/tiny"
    expect 'frame pos: 4096 len: 72 count: 2 base_offset: 0 last_offset: 1 base_ts: 2023-11-14T22:13:20.000Z (1700000000000) crc: ok'
    expect 'record offset: 1 ts: 2023-11-14T22:13:20.005Z (1700000000005) key: "k2" data_len: 6 data: "world!"'
    expect "end of data at byte 4168; the rest (61368 bytes) is zero"
    frame=$(od -A n -t x1 -v -j 4096 -N 72 "$work/tiny/000000000001.seg" | tr -d ' \n')
    want=4800000074787ce8534801000200000000000000000000000068e5cf8b0100000000000005000000020000006b3168656c6c6f0500000006000000020000006b32776f726c642100
    [ "$frame" = "$want" ] || fail "frame bytes changed: $frame (update docs/format.md)"
    ;;
  usage)
    run 2
    run 2 --bogus "$log"
    run 2 "$work/no-such-file"
    expect "no such file"
    echo "hello" >"$work/notes.txt"
    run 2 "$work/notes.txt"
    expect "not a Shoal file"
    mkdir -p "$work/empty"
    run 2 "$work/empty"
    run 0 --help
    expect "Exit status"
    # Damage outranks a usage error.
    damage flip-sealed
    run 1 "$work/no-such-file" "$log/000000000001.seg"
    ;;
  *)
    echo "unknown case $case_name" >&2
    exit 2
    ;;
esac
echo "PASS [$case_name]"
