#!/usr/bin/env bash
# Builds the Debian package (CPack) into build-pkg/ and checks it: the files it installs, its
# control fields (the conflict with sphinxsearch, the adduser dependency), its maintainer
# scripts, that the packaged config loads, and `systemd-analyze verify` on its unit.
# CI runs it from scripts/test.sh. Prints the .deb's path last.
#
#   scripts/package.sh                       a Release build of its own in build-pkg/
#   SD_PKG_BUILD=build scripts/package.sh    package an existing build directory instead
#
# CI packages the plain pass's build (RelWithDebInfo, -Werror), whose binaries have just passed
# every test: a Release build of its own cost 77 s of CPU beside the ASan+UBSan tests, and the
# checks below are of the packaging (files, control fields, scripts, unit), not of the compiler's
# flags. Only the install prefix changes in that directory, which recompiles nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "package.sh: $*" >&2; exit 1; }
dir=${SD_PKG_BUILD:-build-pkg}
build_type=()
if [ -z "${SD_PKG_BUILD:-}" ]; then
    build_type=(-DCMAKE_BUILD_TYPE=Release)
fi
# CMAKE_SKIP_INSTALL_ALL_DEPENDENCY: cpack's install step would otherwise build the target `all`
# (every test, fuzz target and benchmark: 57 s of a 107 s run), where the package holds only
# what the --target list below builds.
cmake -S . -B "$dir" "${build_type[@]}" -DCMAKE_INSTALL_PREFIX=/usr \
    -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON >/dev/null
cmake --build "$dir" -j"$(nproc)" --target searchd searchq searchq_shared searchq_static man \
    >/dev/null
(cd "$dir" && cpack -G DEB >/dev/null)
deb=$(ls -t "$dir"/searchd_*.deb | head -1)

files=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's#^\./#/#')
for want in /usr/bin/searchd /usr/bin/searchq /etc/searchd/searchd.conf /etc/logrotate.d/searchd \
            /lib/systemd/system/searchd.service /usr/share/man/man8/searchd.8.gz \
            /usr/share/man/man1/searchq.1.gz /usr/share/doc/searchd/README.md \
            /usr/share/doc/searchd/PROTOCOL.md /usr/include/searchq.h \
            /usr/share/man/man3/libsearchq.3.gz; do
    grep -qx "$want" <<<"$files" || fail "$deb lacks $want"
done
# libsearchq: shared (with its SONAME link), static, pkg-config, in Debian's multiarch libdir;
# the full version is the one client/lib/CMakeLists.txt sets, so this check follows its bumps
lib_version=$(sed -n 's/^set(SQ_LIB_VERSION \([0-9.]*\))$/\1/p' client/lib/CMakeLists.txt)
[ -n "$lib_version" ] || fail "no SQ_LIB_VERSION in client/lib/CMakeLists.txt"
for want in 'libsearchq\.so\.1' "libsearchq\.so\.${lib_version//./\\.}" 'libsearchq\.so' \
            'libsearchq\.a' 'pkgconfig/searchq\.pc'; do
    grep -qx "/usr/lib/[^/]*/$want" <<<"$files" || fail "$deb lacks /usr/lib/*/$want"
done
if grep -q '^/usr/local' <<<"$files"; then
    fail "$deb installs under /usr/local"
fi

control=$(dpkg-deb -f "$deb")
grep -q '^Conflicts: .*sphinxsearch' <<<"$control" || fail "no Conflicts: sphinxsearch"
grep -q '^Depends: .*adduser' <<<"$control" || fail "does not depend on adduser"
grep -q '^Depends: .*libevent' <<<"$control" || fail "shared library dependencies missing"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -e "$deb" "$tmp/DEBIAN"
for s in postinst prerm postrm conffiles shlibs triggers; do
    [ -f "$tmp/DEBIAN/$s" ] || fail "no $s"
done
grep -qx /etc/searchd/searchd.conf "$tmp/DEBIAN/conffiles" || fail "config is not a conffile"
grep -qx /etc/logrotate.d/searchd "$tmp/DEBIAN/conffiles" || fail "logrotate rule is not a conffile"
grep -q '^libsearchq 1 ' "$tmp/DEBIAN/shlibs" || fail "shlibs does not name libsearchq 1"
grep -qx 'activate-noawait ldconfig' "$tmp/DEBIAN/triggers" || fail "no ldconfig trigger"
grep -q 'adduser --system' "$tmp/DEBIAN/postinst" || fail "postinst does not create the user"

dpkg-deb -x "$deb" "$tmp/root"
"$tmp/root/usr/bin/searchd" --config "$tmp/root/etc/searchd/searchd.conf" --print-config \
    >/dev/null || fail "the packaged config does not load"
if command -v systemd-analyze >/dev/null; then
    # verify checks the unit's syntax, its options and that ExecStart's program exists: a copy
    # of the unit points at the unpacked binary. User= needs the searchd user, which only
    # postinst creates: that complaint is filtered out.
    mkdir "$tmp/unit"
    sed "s#/usr/bin/searchd#$tmp/root/usr/bin/searchd#" \
        "$tmp/root/lib/systemd/system/searchd.service" >"$tmp/unit/searchd.service"
    out=$(systemd-analyze verify --man=no "$tmp/unit/searchd.service" 2>&1 |
              grep -v "Failed to resolve user\|Failed to determine user credentials" || true)
    [ -z "$out" ] || fail "systemd-analyze verify: $out"
    # the hardening score: 0 (locked down) to 10 (exposed); 1.3 when this was written
    systemd-analyze security --offline=true --threshold=20 "$tmp/unit/searchd.service" \
        >"$tmp/security.txt" 2>&1 || fail "exposure over 2.0: $(tail -1 "$tmp/security.txt")"
    exposure=$(grep -o 'exposure level for searchd.service: [0-9.]*' "$tmp/security.txt")
fi
echo "package.sh: $deb ok ($(wc -l <<<"$files") paths; ${exposure:-no systemd-analyze})"
