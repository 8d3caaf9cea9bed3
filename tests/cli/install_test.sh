#!/usr/bin/env bash
# `cmake --install` gives a relocatable tree: install the cli component, move the tree, and the
# moved binary still finds its bundled models and hardware (share/llmcost/configs beside bin/).
# Usage: install_test.sh BUILD_DIR
set -euo pipefail
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/a" --component cli >/dev/null
test -x "$tmp/a/bin/llmcost"
test -f "$tmp/a/share/llmcost/configs/hardware/h100-sxm.yaml"
mv "$tmp/a" "$tmp/b"
cd "$tmp"
out=$(env -u LLMCOST_CONFIG_DIR "$tmp/b/bin/llmcost" predict meta-llama/Llama-3.1-8B --hw h100-sxm 2>&1)
grep -q "$tmp/b/share/llmcost/configs/hardware/h100-sxm.yaml" <<<"$out" || { echo "moved install did not use its own configs:"; echo "$out"; exit 1; }
models=$(env -u LLMCOST_CONFIG_DIR "$tmp/b/bin/llmcost" models)
grep -q "meta-llama/Llama-3.1-8B" <<<"$models" || { echo "moved install lists no bundled models"; exit 1; }
echo "install_test: relocatable install OK"
