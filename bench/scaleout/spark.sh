#!/usr/bin/env bash
# The pushdown's parity suite on Spark: starts the local Spark cluster (bench/scaleout/
# spark-cluster: a master, two workers, Spark Connect), builds stratum-pushdown with the `spark`
# feature (the Apache client; its build needs `protoc`, Debian's protobuf-compiler, installed if
# absent) and runs the parity tests against it: the demo data and the adversarial file, every
# customer's features, the row accounting and the rejected rows equal to the file engine's,
# each backfill quarter too. Too heavy for .ci/run's budget (six JVMs and a second build of
# the gRPC and Arrow crates), so run here and reported.
#
#   bench/scaleout/spark.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v protoc >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null
fi
trap 'bench/scaleout/spark-cluster stop' EXIT
STRATUM_TEST_SPARK_URL=$(bench/scaleout/spark-cluster start)
export STRATUM_TEST_SPARK_URL
echo "== Spark Connect at $STRATUM_TEST_SPARK_URL"
# the other engines' variables are left out: this run is Spark's
unset STRATUM_TEST_DATABASE_URL STRATUM_TEST_MYSQL_URL STRATUM_TEST_CLICKHOUSE_URL
time cargo test -p stratum-pushdown --features spark --test it -- --test-threads 1
