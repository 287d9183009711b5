#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Fail if a built module defines a global symbol outside its namespaces:
# ml_lib_ and ml_model_ (the library, as upstream names it), mlp_ (this
# module's own parts), or one of the upstream RFC's API names, which are
# kept exactly because subsystems are written against them.
#
#   kmod/check-symbols.sh MODULE.ko...
set -eu
RFC_NAMES="get_system_state estimate_system_state correct_system_state apply_ml_model_recommendation estimate_ml_model_efficiency"
bad=0
[ $# -gt 0 ] || { echo "usage: check-symbols.sh MODULE.ko..." >&2; exit 2; }
for ko in "$@"; do
	[ -f "$ko" ] || { echo "check-symbols: no $ko" >&2; exit 1; }
	syms=$(nm --defined-only "$ko") || exit 1
	for sym in $(echo "$syms" | awk '$2 ~ /^[TDBRG]$/ { print $3 }'); do
		case $sym in
		ml_lib_* | ml_model_* | mlp_* | __* | init_module | cleanup_module) continue ;;
		esac
		case " $RFC_NAMES " in
		*" $sym "*) continue ;;
		esac
		echo "check-symbols: $ko: global symbol $sym has no ml_lib_/ml_model_/mlp_ prefix" >&2
		bad=1
	done
done
[ "$bad" = 0 ] && echo "check-symbols: every global symbol is prefixed ($*)"
exit "$bad"
