"""The load generator: settings, records, bookkeeping, the rate search and the Kafka client."""
