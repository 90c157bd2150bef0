#!/usr/bin/env bash
# Builds the `quay` container image without pulling a base image: a root filesystem holding the
# binary, the shared libraries it links (from `ldd`), a passwd entry for the unprivileged user
# 65532 and writable /data and /tmp, imported into Podman's store with `podman import`.
#
#   deploy/container/rootfs.sh BINARY IMAGE [ROOTFS_DIR]
#
# e.g. `deploy/container/rootfs.sh target/release/quay localhost/quay-rs:0.5.0`. Without
# ROOTFS_DIR a temporary directory is used and removed. The Containerfile at the repository
# root builds the same image from a Rust builder stage for those who can pull base images.
set -euo pipefail
binary="$1"
image="$2"
rootfs="${3:-}"
cleanup=""
if [ -z "$rootfs" ]; then
  rootfs="$(mktemp -d)"
  cleanup="$rootfs"
fi
trap '[ -n "$cleanup" ] && rm -rf "$cleanup"' EXIT

echo "==> root filesystem in $rootfs"
mkdir -p "$rootfs/usr/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/data"
chmod 1777 "$rootfs/tmp"
install -m 755 "$binary" "$rootfs/usr/bin/quay"
# The dynamic loader and every library the binary links, at the paths ldd reports.
ldd "$binary" | grep -oE '/[^ ]+' | while read -r lib; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
echo "quay:x:65532:65532:quay:/data:/usr/sbin/nologin" >"$rootfs/etc/passwd"
echo "quay:x:65532:" >"$rootfs/etc/group"
chown 65532:65532 "$rootfs/data" 2>/dev/null || true

echo "==> podman import as $image"
tar -C "$rootfs" --numeric-owner -cf - . |
  podman import \
    --change 'ENTRYPOINT ["/usr/bin/quay"]' \
    --change 'CMD ["serve", "--data-dir", "/data", "--listen", "0.0.0.0:8080"]' \
    --change 'USER 65532:65532' \
    --change 'WORKDIR /data' \
    --change 'EXPOSE 8080' \
    --change 'VOLUME /data' \
    - "$image"
