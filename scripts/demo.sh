#!/usr/bin/env bash
# The main job against the built-in lab estate:
# lab up -> import -> discover -> plan -> approve -> run wave 1 -> report. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PINDAH="$ROOT/.venv/bin/pindah"
WS=${PINDAH_DEMO_WORKSPACE:-$ROOT/demo}
HOSTS=${PINDAH_DEMO_HOSTS:-60}
SEED=${PINDAH_DEMO_SEED:-7}

step() { printf '\n== %s\n' "$*"; }
started=$(date +%s)

step "workspace $WS"
"$PINDAH" init "$WS"
cd "$WS"

step "lab: a fresh estate of $HOSTS hosts (seed $SEED)"
"$PINDAH" lab down
"$PINDAH" lab up --hosts "$HOSTS" --seed "$SEED"

step "import the lab's declared servers (applications, sites, agencies)"
"$PINDAH" import servers .pindah/lab/servers.csv

step "discover the estate over SSH"
rc=0
"$PINDAH" discover -i .pindah/lab/inventory.yml --forks 32 || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then exit "$rc"; fi

plan_id="demo-$(date -u +%Y%m%d-%H%M%S)"
step "plan $plan_id"
"$PINDAH" plan create --id "$plan_id"
"$PINDAH" plan show "$plan_id"

step "approve $plan_id (four eyes: the migration lead, not the plan's author)"
PINDAH_USER=${PINDAH_DEMO_APPROVER:-migration-lead} "$PINDAH" plan approve "$plan_id"

step "run wave 1 of $plan_id"
rc=0
"$PINDAH" run --plan "$plan_id" --wave 1 || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then exit "$rc"; fi

step "report"
"$PINDAH" report --plan "$plan_id" -o "$WS/reports/$plan_id.md"
"$PINDAH" report --plan "$plan_id" --format html -o "$WS/reports/$plan_id.html"
echo
echo "demo finished in $(( $(date +%s) - started )) s"
echo "report: $WS/reports/$plan_id.md (and .html: open it in a browser)"
echo "the lab is still up for you to explore ('cd $WS && $PINDAH lab status'); stop it with 'cd $WS && $PINDAH lab down'"
