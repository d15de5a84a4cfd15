#!/usr/bin/env bash
# The Debian package as an operator meets it, on this machine, as root:
#   lintian; install with apt-get; files, conffiles, user, owners and modes; systemd-analyze
#   verify of the installed units; check-config, migrate and backup as the service user with a
#   test secret; an upgrade to a newer version over it (an edited conffile kept, the database
#   untouched) and a reinstall; purge, and what purge keeps on purpose.
# It refuses to run where chatglmd is already installed or its user or folders exist, and puts
# the machine back as it found it, also when a check fails (trap).
# usage: tests/package/run.sh BUILD_DIR   (BUILD_DIR holds chatglmd_<version>_amd64.deb)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

build=$(readlink -f "${1:?usage: run.sh BUILD_DIR}")
source_dir=$(readlink -f "$(dirname "$0")/../..")
debs=("$build"/chatglmd_*_amd64.deb)
[ ${#debs[@]} = 1 ] && [ -f "${debs[0]}" ] || { echo "package test: expected one chatglmd_*_amd64.deb in $build (make deb)"; exit 2; }
deb=${debs[0]}
[ "$(id -u)" = 0 ] || { echo "package test: needs root (it installs and purges the package)"; exit 2; }

failures=0
step() { echo "== $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@" > /dev/null 2>&1; then echo "ok: $what"; else fail "$what"; fi
}
mode_owner() { stat -c '%a %U:%G' "$1" 2> /dev/null || echo missing; }
expect_mode_owner() {
  local got; got=$(mode_owner "$1")
  [ "$got" = "$2" ] && echo "ok: $1 is $2" || fail "$1 is '$got', expected '$2'"
}

# --- a machine we may change, and how to put it back --------------------------------------
if dpkg-query -W -f='${Status}' chatglmd 2> /dev/null | grep -q installed; then
  echo "package test: chatglmd is installed on this machine; not touching it"; exit 2
fi
for p in /etc/chatglmd /var/lib/chatglmd /etc/cron.d/chatglmd; do
  [ ! -e "$p" ] || { echo "package test: $p exists; not touching this machine"; exit 2; }
done
if getent passwd chatglmd > /dev/null || getent group chatglmd > /dev/null; then
  echo "package test: a chatglmd user or group exists; not touching this machine"; exit 2
fi
work=$(mktemp -d /tmp/chatglmd-package-test.XXXXXX)
dpkg-query -W -f='${Package} ${Version} ${Status}\n' | sort > "$work/packages.before"
dpkg-statoverride --list | sort > "$work/overrides.before"

cleanup() {
  local rc=$?
  set +e
  dpkg --purge chatglmd > /dev/null 2>&1
  dpkg-statoverride --list /etc/chatglmd > /dev/null 2>&1 && dpkg-statoverride --remove /etc/chatglmd
  rm -rf /etc/chatglmd /var/lib/chatglmd
  getent passwd chatglmd > /dev/null && userdel chatglmd
  getent group chatglmd > /dev/null && groupdel chatglmd
  dpkg-query -W -f='${Package} ${Version} ${Status}\n' | sort > "$work/packages.after"
  if ! diff -u "$work/packages.before" "$work/packages.after"; then
    echo "FAIL: the installed packages differ from before the test"; rc=1
  fi
  if ! dpkg-statoverride --list | sort | diff -u "$work/overrides.before" -; then
    echo "FAIL: dpkg's stat overrides differ from before the test"; rc=1
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "FAIL: unexpected error at line $LINENO: $BASH_COMMAND"' ERR

version=$(dpkg-deb -f "$deb" Version)
step "package $deb (version $version)"

# --- the package as built ------------------------------------------------------------------
step "lintian"
if command -v lintian > /dev/null; then
  lintian --fail-on error --no-tag-display-limit "$deb" | tee "$work/lintian" || fail "lintian reports errors"
  # Every warning left is explained in README ("Debian package").
  for tag in $(awk '/^W: /{print $3}' "$work/lintian" | sort -u); do
    grep -q -- "\`$tag\`" "$source_dir/README.md" && echo "ok: warning $tag is explained in README" ||
      fail "lintian warning $tag is not explained in README"
  done
else
  fail "lintian is not installed (make deps installs it)"
fi

step "contents"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' > "$work/contents"
for f in /usr/bin/chatglmd /lib/systemd/system/chatglmd.service \
         /lib/systemd/system/chatglmd.service.d/wait-for-secrets.conf \
         /lib/systemd/system/chatglmd-timeout-close.timer /lib/systemd/system/chatglmd-timeout-close.service \
         /lib/systemd/system/chatglmd-replenish-shipment.timer /lib/systemd/system/chatglmd-replenish-shipment.service \
         /lib/systemd/system/chatglmd-reconcile.timer /lib/systemd/system/chatglmd-reconcile.service \
         /lib/systemd/system/chatglmd-backup.timer /lib/systemd/system/chatglmd-backup.service \
         /etc/cron.d/chatglmd /etc/chatglmd/chatglmd.ini /usr/share/man/man8/chatglmd.8.gz \
         /usr/share/doc/chatglmd/README.md /usr/share/doc/chatglmd/copyright /usr/share/doc/chatglmd/changelog.gz \
         /usr/share/doc/chatglmd/examples/grafana/chatglmd.json \
         /usr/share/doc/chatglmd/examples/prometheus/chatglmd.rules.yml; do
  grep -qx -- "$f" "$work/contents" && echo "ok: ships $f" || fail "does not ship $f"
done
check "no web/ files shipped (the page is embedded in the binary)" bash -c "! grep -q '/web/' '$work/contents'"
check "the changelog's latest entry is this version" \
  bash -c "dpkg-deb --fsys-tarfile '$deb' | tar -xO ./usr/share/doc/chatglmd/changelog.gz | zcat | head -1 | grep -qF 'chatglmd ($version)'"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libc6 libsqlite3-0 libssl3 libsystemd0 libstdc++6; do
  [[ "$depends" == *"$lib"* ]] && echo "ok: depends on $lib (shared-library scan)" || fail "Depends lacks $lib"
done
check "conffiles list both files in /etc" \
  bash -c "dpkg-deb -I '$deb' conffiles | sort | diff - <(printf '%s\n' /etc/chatglmd/chatglmd.ini /etc/cron.d/chatglmd)"

# --- install -------------------------------------------------------------------------------
step "install"
apt-get install -y -q --no-install-recommends "$deb" > "$work/install.log" 2>&1 || { cat "$work/install.log"; fail "apt-get install"; exit 1; }
dpkg -L chatglmd > "$work/installed-files"
check "chatglmd --version names the version" bash -c "chatglmd --version | grep -q '^chatglmd ${version%%[-+]*} ('"
user_line=$(getent passwd chatglmd)
echo "user: $user_line"
IFS=: read -r _ _ uid gid _ home shell <<< "$user_line"
[ "$uid" -lt 1000 ] && echo "ok: chatglmd is a system user ($uid)" || fail "uid $uid is not a system uid"
[ "$home" = /var/lib/chatglmd ] && echo "ok: home /var/lib/chatglmd" || fail "home is $home"
[ "$shell" = /usr/sbin/nologin ] && echo "ok: shell nologin" || fail "shell is $shell"
[ "$(getent group chatglmd | cut -d: -f3)" = "$gid" ] && echo "ok: own group chatglmd" || fail "primary group is not chatglmd"
expect_mode_owner /var/lib/chatglmd "750 chatglmd:chatglmd"
expect_mode_owner /etc/chatglmd "750 root:chatglmd"
expect_mode_owner /etc/chatglmd/chatglmd.ini "644 root:root"
expect_mode_owner /usr/bin/chatglmd "755 root:root"
expect_mode_owner /etc/cron.d/chatglmd "644 root:root"
check "every line of /etc/cron.d/chatglmd is commented out" bash -c "! grep -v -e '^#' -e '^\$' /etc/cron.d/chatglmd"
check "the cron lines are there, commented" grep -q '^#.*jobs run timeout-close' /etc/cron.d/chatglmd
check "the service is enabled" test -L /etc/systemd/system/multi-user.target.wants/chatglmd.service
check "the job timers are not enabled" bash -c "! ls /etc/systemd/system/timers.target.wants/chatglmd-* 2> /dev/null"
if [ -d /usr/share/man/man8 ] && grep -qx /usr/share/man/man8/chatglmd.8.gz "$work/installed-files"; then
  check "man chatglmd renders and lists backup" bash -c "MANWIDTH=100 man -P cat chatglmd 2> /dev/null | grep -q 'backup FILE'"
fi

step "systemd-analyze verify of the installed units"
units=(/lib/systemd/system/chatglmd*.service /lib/systemd/system/chatglmd*.timer)
analyze=$(systemd-analyze verify --man=no "${units[@]}" 2>&1) && [ -z "$analyze" ] &&
  echo "ok: ${#units[@]} units verify without a word" || fail "systemd-analyze verify: $analyze"
check "the service waits for the token secret" \
  bash -c "systemd-analyze cat-config --no-pager systemd/system/chatglmd.service.d/wait-for-secrets.conf 2>/dev/null | grep -q 'ConditionPathExists=/etc/chatglmd/token_secret' || grep -q 'ConditionPathExists=/etc/chatglmd/token_secret' /lib/systemd/system/chatglmd.service.d/wait-for-secrets.conf"

step "check-config, migrate and backup as the service user"
as_service() { runuser -u chatglmd -- "$@"; }
check "check-config without the token secret fails" bash -c "! runuser -u chatglmd -- chatglmd -c /etc/chatglmd/chatglmd.ini check-config"
head -c 32 /dev/urandom | base64 > /etc/chatglmd/token_secret
chown root:chatglmd /etc/chatglmd/token_secret
chmod 0640 /etc/chatglmd/token_secret
(cd / && as_service chatglmd -c /etc/chatglmd/chatglmd.ini check-config) && echo "ok: check-config" || fail "check-config as chatglmd"
(cd / && as_service chatglmd -c /etc/chatglmd/chatglmd.ini migrate) && echo "ok: migrate" || fail "migrate as chatglmd"
# Owned by the service user (its mode follows the caller's umask; the 0750 folder keeps
# others out either way).
check "the store belongs to chatglmd" bash -c "[ \"\$(stat -c %U:%G /var/lib/chatglmd/chatglmd.db)\" = chatglmd:chatglmd ]"
(cd / && as_service chatglmd -c /etc/chatglmd/chatglmd.ini user add package-test --quota 3 > /dev/null) || fail "user add"
(cd / && as_service chatglmd -c /etc/chatglmd/chatglmd.ini backup /var/lib/chatglmd/package-test-backup.db) &&
  echo "ok: backup" || fail "backup as chatglmd"
check "a second backup to the same file is refused" \
  bash -c "cd / && ! runuser -u chatglmd -- chatglmd -c /etc/chatglmd/chatglmd.ini backup /var/lib/chatglmd/package-test-backup.db"
rm -f /var/lib/chatglmd/package-test-backup.db

# --- upgrade -------------------------------------------------------------------------------
step "upgrade to a newer version, then reinstall"
echo "# edited by the operator" >> /etc/chatglmd/chatglmd.ini
mkdir "$work/repack"
dpkg-deb -R "$deb" "$work/repack/root"
newer="${version}+pkgtest1"
sed -i "s/^Version: .*/Version: $newer/" "$work/repack/root/DEBIAN/control"
dpkg-deb --root-owner-group -b "$work/repack/root" "$work/repack/chatglmd_${newer}_amd64.deb" > /dev/null
apt-get install -y -q --no-install-recommends "$work/repack/chatglmd_${newer}_amd64.deb" > "$work/upgrade.log" 2>&1 ||
  { cat "$work/upgrade.log"; fail "apt-get install of the newer version"; }
[ "$(dpkg-query -W -f='${Version}' chatglmd)" = "$newer" ] && echo "ok: upgraded to $newer" || fail "version after upgrade"
check "the operator's edit of the conffile is kept" grep -q '^# edited by the operator' /etc/chatglmd/chatglmd.ini
check "the database is untouched" \
  bash -c "cd / && runuser -u chatglmd -- chatglmd -c /etc/chatglmd/chatglmd.ini user show package-test"
[ "$(id -u chatglmd)" = "$uid" ] && echo "ok: same uid" || fail "uid changed on upgrade"
check "still enabled after the upgrade" test -L /etc/systemd/system/multi-user.target.wants/chatglmd.service
apt-get install -y -q --reinstall "$work/repack/chatglmd_${newer}_amd64.deb" > "$work/reinstall.log" 2>&1 &&
  echo "ok: reinstall" || { cat "$work/reinstall.log"; fail "reinstall"; }
check "the store still belongs to chatglmd" bash -c "[ \"\$(stat -c %U:%G /var/lib/chatglmd/chatglmd.db)\" = chatglmd:chatglmd ]"

# --- purge ---------------------------------------------------------------------------------
step "purge"
apt-get purge -y -q chatglmd > "$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "apt-get purge"; }
check "the package is gone" bash -c "! dpkg-query -W -f='\${Status}' chatglmd 2> /dev/null | grep -q installed"
left=""
while read -r f; do
  # Folders (and /lib, a link to one on merged-/usr systems) may be shared with other packages.
  # The package's own folders must go, except /etc/chatglmd (it still holds the secret).
  if [ -d "$f" ]; then
    case "$f" in /etc/chatglmd) ;; *chatglmd*) left="$left $f" ;; esac
    continue
  fi
  if [ -f "$f" ] || [ -L "$f" ]; then left="$left $f"; fi
done < "$work/installed-files"
[ -z "$left" ] && echo "ok: no file of the package is left" || fail "left after purge:$left"
check "no stat override is left" bash -c "! dpkg-statoverride --list /etc/chatglmd"
check "no unit enablement is left" bash -c "! find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked -name 'chatglmd*' 2> /dev/null | grep -q ."
# Kept on purpose (README, "Debian package"): the order store, the operator's secrets, the user.
check "the order store is kept" test -f /var/lib/chatglmd/chatglmd.db
[ "$(ls -A /etc/chatglmd)" = token_secret ] && echo "ok: only the operator's secret is left in /etc/chatglmd" ||
  fail "/etc/chatglmd holds: $(ls -A /etc/chatglmd)"
check "the system user is kept" getent passwd chatglmd

step "install and purge on a machine without a database: nothing is left but the user"
rm -rf /etc/chatglmd /var/lib/chatglmd
apt-get install -y -q --no-install-recommends "$deb" > "$work/install2.log" 2>&1 || { cat "$work/install2.log"; fail "second install"; }
apt-get purge -y -q chatglmd > "$work/purge2.log" 2>&1 || { cat "$work/purge2.log"; fail "second purge"; }
check "/var/lib/chatglmd is removed when it holds no database" test ! -e /var/lib/chatglmd
check "/etc/chatglmd is removed when it holds only package files" test ! -e /etc/chatglmd

if [ "$failures" -gt 0 ]; then
  echo "package test: $failures check(s) failed"
  exit 1
fi
echo "package test: all checks passed"
