#!/usr/bin/env bash
# Set-up step (never run by the pipeline): the CDNOW transactions (23,570 customers, Jan 1997 - Jun 1998;
# Fader, Hardie & Lee 2005) as a CSV, for measuring the CLV and churn models on data the project did not
# write. The file ships in the `lifetimes` wheel on PyPI (not a dependency: only its data file is used).
set -euo pipefail
cache="${1:-var/cache}"
mkdir -p "$cache/wheels"
[ -f "$cache"/wheels/[Ll]ifetimes-0.11.3-py3-none-any.whl ] ||
    python3 -m pip download --quiet --no-deps lifetimes==0.11.3 -d "$cache/wheels"
unzip -o -q "$cache"/wheels/[Ll]ifetimes-0.11.3-py3-none-any.whl 'lifetimes/datasets/CDNOW_master.txt' -d "$cache/cdnow"
# columns: customer id, YYYYMMDD, CDs bought, dollars; whitespace separated, CRLF line ends
tr -d '\r' < "$cache/cdnow/lifetimes/datasets/CDNOW_master.txt" |
    awk 'NR > 1 { printf "%s,%s-%s-%s,%s,%s\n", $1, substr($2, 1, 4), substr($2, 5, 2), substr($2, 7, 2), $3, $4 }' |
    sed '1i customer_id,date,cds,amount' > "$cache/cdnow_master.csv"
echo "$cache/cdnow_master.csv"
