#!/bin/bash
# mutants-fresh.sh: every entry of tests/mutants/list still names text that
# occurs exactly once in its file. A changed line would otherwise leave its
# mutant stale, checked by nothing, until make check-mutants said so.
exec bash "$(dirname "$0")/mutants/run.sh" --fresh
