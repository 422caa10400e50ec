#!/usr/bin/env bash
# The main job, end to end on the host: make a list disk, fill it, check it,
# and show it. (Booting the lists image on it comes with `make image`.)
set -euo pipefail
cd "$(dirname "$0")/.."
TOOL=.venv/bin/ptt-tool
mkdir -p demo
IMG=demo/lipap.img
rm -f "$IMG"
set -x
$TOOL create "$IMG"
$TOOL add "$IMG" ptt --domain mailingl.st --moderator foo@bar.com --subscriber alice@example.org
$TOOL add-moderator "$IMG" --domain mailingl.st bar@foo.com
$TOOL subscribe "$IMG" bob@example.net
$TOOL set "$IMG" ptt subject_prefix='[ptt] '
$TOOL check "$IMG"
$TOOL show "$IMG" ptt
