#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Print the kernel version the module is built for and the qemu guest boots:
# the newest Debian amd64 kernel with both its headers (/usr/src) and its
# image (/boot) installed.  The Makefile and mount-scripts/qemu/run-all.sh
# both ask this one script, so what is built is what is tested.
for dir in $(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -rV); do
	ver=${dir#/usr/src/linux-headers-}
	if [ -r "/boot/vmlinuz-$ver" ]; then
		echo "$ver"
		exit 0
	fi
done
echo "kver: no kernel with both /usr/src/linux-headers-*-amd64 and /boot/vmlinuz-* (apt-get install linux-image-amd64 linux-headers-amd64)" >&2
exit 1
