#!/usr/bin/env bash
# contrib/prometheus: the rules load (promtool check rules) and each alert fires on its case
# and stays quiet beside it (promtool test rules). Skipped (exit 77) without promtool.
set -euo pipefail
cd "$(dirname "$0")/../../contrib/prometheus"
command -v promtool > /dev/null || { echo "promtool is not installed (Debian package prometheus)"; exit 77; }
promtool check rules chatglmd.rules.yml
promtool test rules chatglmd.rules.test.yml
