#!/usr/bin/env bash
# Imports skiff.local/busybox:1.36 (the pod sandbox image and the tests' image) into the Docker
# engine that `docker` talks to, from Debian's static busybox: no registry needed. Used by
# build-images.sh on the host and by every Skiff node container for its own engine.
#   scripts/busybox-image.sh [IMAGE]
set -euo pipefail
image=${1:-skiff.local/busybox:1.36}
busybox=/bin/busybox
docker image inspect "$image" >/dev/null 2>&1 && exit 0
[ -x "$busybox" ] || { echo "busybox-image: $busybox is missing: apt-get install busybox-static" >&2; exit 1; }
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,proc,sys,dev,var/www}
chmod 1777 "$rootfs/tmp"
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list-full); do
  [ -e "$rootfs/$applet" ] || ln -s /bin/busybox "$rootfs/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
  >"$rootfs/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$rootfs/etc/group"
tar -C "$rootfs" --numeric-owner -c . |
  docker import \
    --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["sh"]' \
    - "$image" >/dev/null
