#!/usr/bin/env bash
# Install the Debian packages ptt needs on the host, only those missing.
# Never touches apt sources: trixie packages for the image are fetched
# separately into a private cache by tools/runtime/fetch.py.
set -euo pipefail
PKGS=(
  mtools dosfstools                      # FAT images: mdir/mtype, fsck.fat
  python3-venv
  cpio xz-utils
  qemu-system-x86 qemu-utils             # boot the images
  linux-source-6.1 build-essential bc flex bison libelf-dev libssl-dev  # kernel
  postfix swaks libnet-ssleay-perl libio-socket-ssl-perl bind9 bind9-utils opendkim opendkim-tools netcat-openbsd  # real peers in tests
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
