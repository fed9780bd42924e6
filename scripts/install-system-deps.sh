#!/usr/bin/env bash
# Install the Debian packages the project needs (twin tier: haproxy, nftables,
# iproute2, ping, curl, openssl for HTTPS listeners; procps/psmisc for process
# handling; podman with runc and catatonit for the twin's containers, dnsmasq-base for
# its VPC resolver, busybox-static and mmdebstrap for the test images; graphviz's `dot`
# for `fargate-api diagram`; docker-registry and skopeo for the image push tests, and
# qemu-user-static with binfmt-support so that linux/arm64 images build on amd64).
# Idempotent: does nothing (and touches no network) when everything is present.
# Progress goes to stderr. Exit 2 when packages are missing and we are not root.
#
# docker-registry's package enables a registry service on port 5000 of every interface,
# unauthenticated; when this script installs it on a systemd machine it stops and
# disables that service again: the tests start their own, on 127.0.0.1, per test.
set -euo pipefail

PACKAGES=(haproxy nftables iproute2 iputils-ping procps psmisc curl graphviz openssl wrk
          podman runc catatonit dnsmasq-base busybox-static mmdebstrap
          docker-registry skopeo qemu-user-static binfmt-support)

BINFMT_DIR=/proc/sys/fs/binfmt_misc

log() { printf 'install-system-deps: %s\n' "$*" >&2; }

# Best effort: arm64 emulation for `podman build --platform linux/arm64`. Containers
# often start without binfmt_misc mounted, and a fresh install may leave the handler
# disabled. Failure is only reported: the arm64 build test then fails naming the fix.
enable_arm64_emulation() {
    local entry="$BINFMT_DIR/qemu-aarch64"
    if [ -e "$entry" ] && head -n 1 "$entry" | grep -qx enabled; then
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        log "arm64 emulation is not enabled; as root: mount -t binfmt_misc binfmt_misc $BINFMT_DIR; update-binfmts --enable qemu-aarch64"
        return 0
    fi
    if [ ! -e "$BINFMT_DIR/status" ]; then
        mount -t binfmt_misc binfmt_misc "$BINFMT_DIR" >&2 \
            || log "could not mount binfmt_misc on $BINFMT_DIR: linux/arm64 builds will fail"
    fi
    if command -v update-binfmts >/dev/null 2>&1; then
        update-binfmts --enable qemu-aarch64 >&2 \
            || log "update-binfmts --enable qemu-aarch64 failed: linux/arm64 builds will fail"
    fi
}

if ! command -v dpkg >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    log "dpkg/apt-get not found: this script supports Debian/Ubuntu only."
    log "install these packages by other means: ${PACKAGES[*]}"
    exit 2
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
    # dpkg -s exits 0 also for packages in state 'deinstall' on some versions;
    # check the Status line explicitly.
    if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        continue
    fi
    missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
    log "all system packages present (${PACKAGES[*]})"
    enable_arm64_emulation
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    log "missing Debian packages: ${missing[*]}"
    log "run as root:  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
    exit 2
fi

log "missing: ${missing[*]} -> apt-get update"
apt-get update -q >&2
log "apt-get install ${missing[*]}"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
log "installed: ${missing[*]}"

if [[ " ${missing[*]} " == *" docker-registry "* ]] && [ -d /run/systemd/system ]; then
    systemctl disable --now docker-registry.service >&2 \
        || log "could not stop the docker-registry service (port 5000); stop it by hand"
fi
enable_arm64_emulation
