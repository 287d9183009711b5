#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Extra initramfs content for the readahead guest, run by build-initramfs.sh
# through MLP_INITRAMFS_EXTRA: the virtio disk and ext4 module chains (in
# modprobe order), mlp_ra_kmod.ko, the static ra-work workload, ra-guest.sh
# with the plans it sources (ra-plan.sh), and ra-init as /init.
#
# usage: ra-stage.sh STAGE_DIR KVER   (env RA_KO, RA_WORK: built files)
set -euo pipefail
STAGE=$1
KVER=$2
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$STAGE/lib/modules/ra"
: >"$STAGE/lib/modules/ra/order"
for m in virtio_pci virtio_blk ext4; do
	modprobe -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r ko; do
	base=$(basename "$ko")
	case "$ko" in
	*.xz) xz -dc "$ko" >"$STAGE/lib/modules/ra/${base%.xz}"; base=${base%.xz} ;;
	*.zst) zstd -qdc "$ko" >"$STAGE/lib/modules/ra/${base%.zst}"; base=${base%.zst} ;;
	*) cp "$ko" "$STAGE/lib/modules/ra/$base" ;;
	esac
	echo "$base" >>"$STAGE/lib/modules/ra/order"
done
cp "$RA_KO" "$STAGE/lib/modules/mlp_ra_kmod.ko"
# another build of the module to compare in the same boot (ra-run.sh overhead, RA_KO_OLD)
if [ -n "${RA_KO_OLD:-}" ]; then cp "$RA_KO_OLD" "$STAGE/lib/modules/mlp_ra_kmod_old.ko"; fi
cp "$RA_WORK" "$STAGE/bin/ra-work"
cp "$HERE/guest/ra-guest.sh" "$STAGE/ra-guest.sh"
cp "$HERE/guest/ra-plan.sh" "$STAGE/ra-plan.sh"
cp "$HERE/guest/ra-init" "$STAGE/init"
chmod +x "$STAGE/init" "$STAGE/ra-guest.sh" "$STAGE/bin/ra-work"
