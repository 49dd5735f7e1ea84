#!/usr/bin/env bash
# Measures the audit log at scale (see bench/auditlog/main.go) and prints a
# Markdown table. Usage: bench/auditlog.sh [-entries N] [-purge N]
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./bench/auditlog "$@"
