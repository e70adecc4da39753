#!/usr/bin/env bash
# One-shot `scram-users` service (docker-compose.yml, profile `secure`), run in the
# apache/kafka image once `kafka-secure` is healthy: creates (or updates) a SCRAM-SHA-512
# user for every principal of OneStop's credentials.json, connecting as `admin` over the
# PLAIN inter-broker listener. OneStop then creates its topics and ACLs as `admin` itself
# (any OneStop command given these credentials, e.g. the hub).
set -euo pipefail
credentials=/etc/kafka/secrets/credentials.json
admin=$(sed -n 's/^ *"admin": *"\([^"]*\)".*/\1/p' "$credentials")
umask 077
cat > /tmp/admin.properties <<PROPERTIES
security.protocol=SASL_PLAINTEXT
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$admin";
PROPERTIES
sed -n 's/^ *"\([^"]*\)": *"\([^"]*\)",\{0,1\} *$/\1 \2/p' "$credentials" |
while read -r name password; do
  /opt/kafka/bin/kafka-configs.sh --bootstrap-server kafka-secure:9094 \
    --command-config /tmp/admin.properties --alter --entity-type users --entity-name "$name" \
    --add-config "SCRAM-SHA-512=[iterations=8192,password=$password]" > /dev/null
  echo "SCRAM-SHA-512 user $name"
done
