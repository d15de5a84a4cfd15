#!/usr/bin/env bash
# contrib/systemd/chatglmd-backup.{service,timer}: systemd accepts them without a word, the
# service is as locked down as the shipped ones, and its retention keeps exactly the 14 newest.
# usage: backup_units.sh BUILT_CHATGLMD. Skipped (exit 77) without systemd-analyze.
set -euo pipefail
bin=$1
units=$(cd "$(dirname "$0")/../../contrib/systemd" && pwd)
command -v systemd-analyze > /dev/null || { echo "systemd-analyze is not installed"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for f in chatglmd-backup.service chatglmd-backup.timer; do
  sed "s|/usr/bin/chatglmd|$bin|g" "$units/$f" > "$work/$f"
done
out=$(systemd-analyze verify --man=no "$work/chatglmd-backup.service" "$work/chatglmd-backup.timer" 2>&1)
[ -z "$out" ] || { echo "systemd-analyze verify: $out"; exit 1; }
systemd-analyze security --offline=true --threshold=20 "$work/chatglmd-backup.service" > /dev/null

# The ExecStartPost retention line, run on 20 dated copies in a scratch folder.
retention=$(sed -n "s/^ExecStartPost=\/bin\/sh -c '\(.*\)'$/\1/p" "$units/chatglmd-backup.service")
[ -n "$retention" ] || { echo "no retention line"; exit 1; }
mkdir "$work/backups"
for d in $(seq -w 1 20); do touch "$work/backups/chatglmd-2026-01-$d.db"; done
touch "$work/backups/unrelated.db"
sh -c "${retention//\/var\/lib\/chatglmd\/backups/$work/backups}"
kept=$(cd "$work/backups" && ls -1 chatglmd-*.db | tr '\n' ' ')
expected=$(for d in $(seq -w 7 20); do printf 'chatglmd-2026-01-%s.db ' "$d"; done)
[ "$kept" = "$expected" ] || { echo "kept: $kept"; echo "expected: $expected"; exit 1; }
[ -f "$work/backups/unrelated.db" ] || { echo "retention removed a file that is not a backup"; exit 1; }
echo "backup units ok"
