#!/usr/bin/env bash
# Install the Debian packages the project needs (twin tier: haproxy, nftables,
# iproute2, ping, curl, openssl for HTTPS listeners; procps/psmisc for process
# handling; podman with runc and catatonit for the twin's containers, dnsmasq-base for
# its VPC resolver, busybox-static and mmdebstrap for the test images; graphviz's `dot`
# for `fargate-api diagram`).
# Idempotent: does nothing (and touches no network) when everything is present.
# Progress goes to stderr. Exit 2 when packages are missing and we are not root.
set -euo pipefail

PACKAGES=(haproxy nftables iproute2 iputils-ping procps psmisc curl graphviz openssl wrk
          podman runc catatonit dnsmasq-base busybox-static mmdebstrap)

log() { printf 'install-system-deps: %s\n' "$*" >&2; }

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
