#!/bin/sh
# Installs what building and testing need on Debian 12 (as root, or with
# sudo): the toolchain, autotools, Check, libndctl, valgrind, and PMDK's
# libpmemobj and pmempool, and fio (its libpmem engine), for the
# compatibility tests.
set -eu
pkgs="build-essential autoconf automake libtool pkg-config check
	libndctl-dev libdaxctl-dev valgrind libpmemobj-dev pmdk-tools
	libpmem1 libpmem-dev fio"
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
