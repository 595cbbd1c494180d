#!/usr/bin/env bash
# The nightly workflow's baseline: downloads artifact NAME of the last successful nightly run on BRANCH
# into ./baseline and writes found=true|false to $GITHUB_OUTPUT (needs gh and GH_TOKEN).
# Usage: bash .github/fetch-baseline.sh NAME BRANCH
set -uo pipefail
name=$1 branch=$2
rm -rf baseline
last=$(gh run list --workflow nightly.yml --branch "$branch" --status success --limit 1 --json databaseId --jq '.[0].databaseId // empty' || true)
if [ -n "$last" ] && gh run download "$last" --name "$name" --dir baseline; then
  echo "found=true" >> "$GITHUB_OUTPUT"
else
  echo "found=false" >> "$GITHUB_OUTPUT"
  echo "no $name yet: this run becomes the first one"
fi
