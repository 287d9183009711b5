#!/bin/sh
# The main job, from a fresh Debian 12 machine as root: install and build mlproxy, mount it at
# /mnt/mlproxy, create a demo model, teach it y = 3·x1 − 2·x2 + 1 through the files alone, and show
# its recommendations. Safe to run again: it reuses a live server and recreates the demo model.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
mnt=${MLPROXY_MOUNTPOINT:-/mnt/mlproxy}

mount-scripts/setup.sh
mount-scripts/mlproxy-mount "$mnt"

m="$mnt/models/demo"
[ -d "$m" ] && rmdir "$m"
mkdir "$m"
echo "== a new model: state $(cat "$m/state"), mode $(cat "$m/mode")"
printf 'inputs=2\noutputs=1\nhidden=16,16\n' > "$m/config"
echo commit > "$m/control"
echo init > "$m/control"
echo start > "$m/control"
echo prepare_dataset > "$m/control"
echo "== config:"; sed 's/^/   /' "$m/config"

echo "== feeding 3000 samples of y = 3*x1 - 2*x2 + 1"
awk 'BEGIN { srand(42); for (i = 0; i < 3000; i++) { a = rand() * 10 - 5; b = rand() * 10 - 5; printf "%.4f %.4f %.4f\n", a, b, 3*a - 2*b + 1 } }' > "$m/dataset"

printf '== training'
i=0
while :; do
  training=$(awk '$1 == "training" { print $2 }' "$m/stats")
  steps=$(awk '$1 == "train_steps" { print $2 }' "$m/stats")
  [ "$training" = 0 ] && [ "$steps" -gt 0 ] && break
  i=$((i + 1)); [ $i -gt 600 ] && { echo " (still training after 60 s, showing what it has)"; break; }
  printf .; sleep 0.1
done
echo; grep -E '^(generation|samples_buffered|train_steps|loss) ' "$m/stats" | sed 's/^/   /'

echo "== recommendations (x1 x2 -> y, expected):"
for q in "1 1" "2 -1" "-3 4" "4.5 0.5"; do
  y=$(sh -c 'exec 3<>"$1"; echo "$2" >&3; cat <&3' _ "$m/recommendation" "$q")
  expected=$(echo "$q" | awk '{ print 3*$1 - 2*$2 + 1 }')
  echo "   $q -> $y   ($expected)"
done
echo "ml 930" > "$m/feedback"

echo "== last events:"; tail -n 5 "$m/events" | sed 's/^/   /'
cat <<EON

mlproxy keeps serving $mnt (pid $(cat /run/mlproxy.pid)). Next:
  cat $m/stats                       counters, loss, generation
  cat $m/events                      what happened, with reasons
  curl -s 127.0.0.1:9464/metrics     Prometheus metrics
  less $root/docs/protocol.md        every file, format and errno
  $root/mount-scripts/mlproxy-umount $mnt      stop and unmount
EON
