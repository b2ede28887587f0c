#!/usr/bin/env bash
# make install honours DESTDIR and PREFIX: exactly the expected tree (the
# binary, both man pages, the example config, the unit with ExecStart at
# PREFIX's binary, the sysusers.d entry), with sane modes; the installed
# binary runs. Installs the binary under test (BIN=), builds nothing.
#
#   bash test_install.sh /path/to/turnstone     (ctest)
TS_NAME=install
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
[ "$TS_SERVER" = turnstone ] || exit 0
bin=$(readlink -f "$TS_BIN")

# check_tree PREFIX: install into a fresh DESTDIR and compare.
check_tree() {
	local prefix=$1 dest=$TS_TMP/dest${1//\//_} out got want
	if ! out=$(make -s -C "$TS_SRC" install DESTDIR="$dest" PREFIX="$prefix" BIN="$bin" 2>&1); then
		ts_fail "make install PREFIX=$prefix" "$out"
		return
	fi
	ts_pass "make install DESTDIR=... PREFIX=$prefix"
	got=$(cd "$dest" && find . -type f -printf '%m %p\n' | sort)
	want=$(sort <<EOT
755 .$prefix/bin/turnstone
644 .$prefix/share/man/man8/turnstone.8
644 .$prefix/share/man/man5/turnstone.conf.5
644 .$prefix/share/doc/turnstone/turnstone.conf.example
644 .$prefix/share/doc/turnstone/turnstone.logrotate
644 .$prefix/lib/systemd/system/turnstone.service
644 .$prefix/lib/sysusers.d/turnstone.conf
EOT
)
	[ "$got" = "$want" ] && ts_pass "installed tree for PREFIX=$prefix" ||
		ts_fail "installed tree for PREFIX=$prefix" "$(printf 'got:\n%s\nwant:\n%s' "$got" "$want")"
	got=$(sed -n 's/^ExecStart=//p' "$dest$prefix/lib/systemd/system/turnstone.service")
	[ "$got" = "$prefix/bin/turnstone serve -c /etc/turnstone/turnstone.conf" ] &&
		ts_pass "unit ExecStart uses $prefix/bin/turnstone" ||
		ts_fail "unit ExecStart uses $prefix/bin/turnstone" "$got"
	"$dest$prefix/bin/turnstone" --help >/dev/null 2>&1 &&
		ts_pass "installed binary runs ($prefix)" || ts_fail "installed binary runs ($prefix)"
	cmp -s "$dest$prefix/share/man/man5/turnstone.conf.5" "$TS_SRC/docs/man/turnstone.conf.5" &&
		ts_pass "man page installed unchanged ($prefix)" ||
		ts_fail "man page installed unchanged ($prefix)"
}

check_tree /usr
check_tree /opt/turnstone
# Nothing lands outside DESTDIR: the default PREFIX is /usr/local.
out=$(make -s -n -C "$TS_SRC" install DESTDIR=/nonexistent BIN="$bin" 2>&1)
[[ $out == *"/nonexistent/usr/local/bin/turnstone"* ]] &&
	ts_pass "default PREFIX is /usr/local" || ts_fail "default PREFIX is /usr/local" "$out"
ts_finish
