#!/usr/bin/env bash
# Installs a software Vulkan driver (Mesa's lavapipe, >= 25; on bookworm from Debian's bookworm-backports)
# so that WebGPU through Dawn (npm 'webgpu') finds an adapter on a CPU-only machine. Slow (about
# 4 GFLOP/s), but every WGSL kernel and every webgpu code path runs, so tests and CI check them without a
# GPU. Bookworm's own Mesa 22.3 is refused by Dawn ("shaderUniform*ArrayDynamicIndexing required").
# Idempotent; needs root and apt-get (.ci/run calls it). Usage: tools/lavapipe.sh
set -euo pipefail
mesa() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true; }
recent() { [ -n "$(mesa)" ] && dpkg --compare-versions "$(mesa)" ge 25; }
if recent; then echo "lavapipe: Mesa $(mesa) already installed"; exit 0; fi
codename=$(sed -n "s/^VERSION_CODENAME=//p" /etc/os-release 2>/dev/null || true)
target=()
if [ "$codename" = bookworm ]; then
  target=(-t bookworm-backports)
  src=/etc/apt/sources.list.d/archbench-backports.sources
  if [ ! -f "$src" ]; then
    mirror=$(grep -h '^URIs:' /etc/apt/sources.list.d/debian.sources 2>/dev/null | grep -v security | head -1 | awk '{print $2}')
    [ -n "$mirror" ] || mirror=$(awk '/^deb / && !/security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
    [ -n "$mirror" ] || { echo "lavapipe: no Debian mirror found in apt's sources"; exit 1; }
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" > "$src"
  fi
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${target[@]}" mesa-vulkan-drivers libvulkan1 >/dev/null
recent || { echo "lavapipe: Mesa $(mesa) on ${codename:-this system} is older than 25: Dawn refuses it"; exit 1; }
echo "lavapipe: Mesa $(mesa) installed"
