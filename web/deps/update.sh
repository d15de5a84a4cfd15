#!/usr/bin/env bash
# Copies the browser builds of the pinned libraries (package-lock.json) into web/vendor/, with
# their licences. The copies are committed: building chatglmd embeds web/ and needs no network.
# web/test/vendor.test.mjs checks that the committed copies are these files, byte for byte.
#   cd web/deps && npm ci && ./update.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../vendor"
nm="$here/node_modules"
mkdir -p "$out"
cp "$nm/marked/lib/marked.umd.js" "$out/marked.umd.js"
cp "$nm/marked/LICENSE" "$out/LICENSE.marked"
cp "$nm/dompurify/dist/purify.min.js" "$out/purify.min.js"
cp "$nm/dompurify/LICENSE" "$out/LICENSE.dompurify"
cp "$nm/@highlightjs/cdn-assets/highlight.min.js" "$out/highlight.min.js"
cp "$nm/@highlightjs/cdn-assets/styles/github.min.css" "$out/highlight-github.min.css"
cp "$nm/@highlightjs/cdn-assets/LICENSE" "$out/LICENSE.highlightjs"
cp "$nm/qrcode-generator/dist/qrcode.js" "$out/qrcode.js"  # MIT licence in its header
