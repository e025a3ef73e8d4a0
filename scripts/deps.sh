#!/bin/sh
# Installs what building and testing need on Debian 12 (as root, or with
# sudo): the toolchain, autotools, Check, libndctl, valgrind, PMDK's
# libpmemobj and pmempool and fio (its libpmem engine) for the
# compatibility tests, clang and its libFuzzer runtime for the fuzz smoke
# test, man-db for the man page test, git for the .gitignore test,
# binutils (addr2line) for pmem-crashtest's backtraces.
set -eu
pkgs="build-essential autoconf automake libtool pkg-config check
	libndctl-dev libdaxctl-dev valgrind libpmemobj-dev libpmempool-dev pmdk-tools
	libpmem1 libpmem-dev fio clang libclang-rt-14-dev man-db git
	binutils"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && { echo "deps: all installed"; exit 0; }
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq $missing
