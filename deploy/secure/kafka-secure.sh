#!/usr/bin/env bash
# Entry point of the `kafka-secure` service (docker-compose.yml, profile `secure`), run in
# the apache/kafka image: reads the admin password from OneStop's credentials.json, gives
# it to the PLAIN listeners (controller and inter-broker) through the image's KAFKA_*
# environment settings, writes the admin client settings the health check and
# scram-users.sh use, then starts the image's own launcher.
set -euo pipefail
credentials=/etc/kafka/secrets/credentials.json
admin=$(sed -n 's/^ *"admin": *"\([^"]*\)".*/\1/p' "$credentials")
if [ -z "$admin" ]; then
  echo "no admin password in $credentials (make it with: onestop broker credentials FILE)" >&2
  exit 1
fi
jaas="org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"$admin\" user_admin=\"$admin\";"
export KAFKA_LISTENER_NAME_CONTROLLER_PLAIN_SASL_JAAS_CONFIG="$jaas"
export KAFKA_LISTENER_NAME_INTERNAL_PLAIN_SASL_JAAS_CONFIG="$jaas"
umask 077
cat > /tmp/admin.properties <<PROPERTIES
security.protocol=SASL_PLAINTEXT
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$admin";
PROPERTIES
exec /etc/kafka/docker/run
