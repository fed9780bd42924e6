#!/usr/bin/env bash
# Install the external scanners that tests/functional/check/test_external_scanners.py
# cross-checks our templates with:
#
#   checkov   from PyPI, into its own virtual environment .venv-scanners/ (it pins many
#             dependencies of its own; they must not meet ours in .venv)
#   cfn-guard and the AWS Control Tower proactive rules, both shipped inside the npm package
#             @cdklabs/cdk-validator-cfnguard, into .tools/node_modules; .tools/bin/cfn-guard
#             links to the binary for this machine (uname -m)
#
# Versions are pinned, so that a new scanner release cannot turn CI red on its own; raise
# them here on purpose and re-run the tests. Idempotent: when the stamp files say the pinned
# versions are in place it does nothing and touches no network. Progress goes to stderr.
# Exit 2 when a prerequisite (python3 >= 3.9, npm) is missing and cannot be installed.
set -euo pipefail

CHECKOV_VERSION="3.3.30"
CFNGUARD_PACKAGE="@cdklabs/cdk-validator-cfnguard"
CFNGUARD_PACKAGE_VERSION="0.0.62"

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
SCANNER_VENV=".venv-scanners"
TOOLS=".tools"
CHECKOV_STAMP="$SCANNER_VENV/.installed"
TOOLS_STAMP="$TOOLS/.installed"
PACKAGE_DIR="$TOOLS/node_modules/$CFNGUARD_PACKAGE"

log() { printf 'install-scanners: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

# --- checkov ---------------------------------------------------------------------------

checkov_present() {
    [ "$(cat "$CHECKOV_STAMP" 2>/dev/null)" = "checkov==$CHECKOV_VERSION" ] &&
        [ -x "$SCANNER_VENV/bin/checkov" ] &&
        "$SCANNER_VENV/bin/python" -c '' 2>/dev/null  # the venv's python link still resolves
}

install_checkov() {
    command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found (checkov needs python3)"
    "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' ||
        die "checkov needs Python >= 3.9; '$PYTHON' is $("$PYTHON" --version 2>&1)"
    log "checkov $CHECKOV_VERSION -> $SCANNER_VENV/ (its own venv)"
    rm -rf "$SCANNER_VENV"
    "$PYTHON" -m venv "$SCANNER_VENV"
    "$SCANNER_VENV/bin/python" -m pip install -q --disable-pip-version-check \
        "checkov==$CHECKOV_VERSION" >&2
    echo "checkov==$CHECKOV_VERSION" >"$CHECKOV_STAMP"
}

# --- cfn-guard + Control Tower rules ---------------------------------------------------

guard_arch() {
    case "$(uname -m)" in
        x86_64 | amd64) echo x86_64 ;;
        aarch64 | arm64) echo aarch64 ;;
        *) die "cfn-guard is shipped for x86_64 and aarch64 only, not $(uname -m)" ;;
    esac
}

guard_platform() {
    case "$(uname -s)" in
        Linux) echo ubuntu ;;  # the package's name for its Linux build (static, any distro)
        Darwin) echo macos ;;
        *) die "cfn-guard is shipped for Linux and macOS only, not $(uname -s)" ;;
    esac
}

tools_present() {
    [ "$(cat "$TOOLS_STAMP" 2>/dev/null)" = "$CFNGUARD_PACKAGE@$CFNGUARD_PACKAGE_VERSION" ] &&
        [ -x "$TOOLS/bin/cfn-guard" ] &&
        [ -d "$PACKAGE_DIR/rules/control-tower/cfn-guard" ]
}

ensure_npm() {
    command -v npm >/dev/null 2>&1 && return 0
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "npm not found -> apt-get install npm"
        apt-get update -q >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm >&2
        return 0
    fi
    die "npm not found; install Node.js with npm (as root: apt-get install npm)"
}

install_tools() {
    ensure_npm
    log "$CFNGUARD_PACKAGE@$CFNGUARD_PACKAGE_VERSION -> $TOOLS/node_modules"
    rm -rf "$TOOLS"
    mkdir -p "$TOOLS/bin"
    # --legacy-peer-deps: the package only declares aws-cdk-lib as a peer (for its CDK
    # plugin API, which we do not use); installing that would add hundreds of MB.
    # --ignore-scripts: nothing to build; the binaries ship in the tarball.
    npm install --prefix "$TOOLS" --no-save --legacy-peer-deps --ignore-scripts \
        --no-audit --no-fund --loglevel=error \
        "$CFNGUARD_PACKAGE@$CFNGUARD_PACKAGE_VERSION" >&2
    local binary="$PACKAGE_DIR/bin/$(guard_platform)/$(guard_arch)/cfn-guard"
    [ -f "$binary" ] || die "$binary is missing from $CFNGUARD_PACKAGE@$CFNGUARD_PACKAGE_VERSION"
    chmod +x "$binary"
    ln -sfn "../node_modules/$CFNGUARD_PACKAGE/bin/$(guard_platform)/$(guard_arch)/cfn-guard" \
        "$TOOLS/bin/cfn-guard"
    "$TOOLS/bin/cfn-guard" --version >&2 || die "$binary does not run on this machine"
    [ -d "$PACKAGE_DIR/rules/control-tower/cfn-guard" ] ||
        die "the Control Tower rules are missing from $CFNGUARD_PACKAGE@$CFNGUARD_PACKAGE_VERSION"
    echo "$CFNGUARD_PACKAGE@$CFNGUARD_PACKAGE_VERSION" >"$TOOLS_STAMP"
}

# --- main ------------------------------------------------------------------------------

if checkov_present; then
    log "checkov $CHECKOV_VERSION present ($SCANNER_VENV/bin/checkov)"
else
    install_checkov
    log "installed checkov $CHECKOV_VERSION"
fi

if tools_present; then
    log "cfn-guard and Control Tower rules present ($TOOLS/bin/cfn-guard)"
else
    install_tools
    log "installed $CFNGUARD_PACKAGE@$CFNGUARD_PACKAGE_VERSION"
fi
