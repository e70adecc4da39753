// An independent Kafka client for the secure-mode tests: Apache Kafka's own Java client
// (kafka-clients, from the jars the local broker runs on), launched as a single source file.
//
//   java -cp '<kafka libs>/*' AccessProbe.java BOOTSTRAP (as USER PASSWORD | read TOPIC |
//       write TOPIC)...
//
// "as" logs the following operations in as USER. For each operation it prints one line,
// "<user> <operation> <topic> <outcome>", the outcome being "ok" or the simple name of the
// exception the client raised (TopicAuthorizationException, SaslAuthenticationException).

import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class AccessProbe {
    public static void main(String[] args) {
        Properties login = new Properties();
        String user = "";
        for (int i = 1; i + 1 < args.length; i += 2) {
            if (args[i].equals("as")) {
                user = args[i + 1];
                login = new Properties();
                login.put("bootstrap.servers", args[0]);
                login.put("security.protocol", "SASL_PLAINTEXT");
                login.put("sasl.mechanism", "SCRAM-SHA-512");
                login.put("sasl.jaas.config",
                    "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
                        + user + "\" password=\"" + args[i + 2] + "\";");
                i += 1;
                continue;
            }
            String operation = args[i];
            String topic = args[i + 1];
            String outcome;
            try {
                if (operation.equals("write")) {
                    write(login, topic);
                } else {
                    read(login, topic);
                }
                outcome = "ok";
            } catch (ExecutionException e) {
                outcome = e.getCause().getClass().getSimpleName();
            } catch (Exception e) {
                outcome = e.getClass().getSimpleName();
            }
            System.out.println(user + " " + operation + " " + topic + " " + outcome);
        }
    }

    static void write(Properties login, String topic) throws Exception {
        Properties props = new Properties();
        props.putAll(login);
        props.put("acks", "all");
        props.put("max.block.ms", "15000");
        props.put("request.timeout.ms", "10000");
        props.put("delivery.timeout.ms", "15000");
        try (KafkaProducer<String, String> producer =
                 new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
            producer.send(new ProducerRecord<>(topic, "probe", "from the Java client")).get();
        }
    }

    static void read(Properties login, String topic) {
        Properties props = new Properties();
        props.putAll(login);
        props.put("auto.offset.reset", "earliest");
        props.put("enable.auto.commit", "false");
        try (KafkaConsumer<String, String> consumer =
                 new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            consumer.assign(List.of(new TopicPartition(topic, 0)));
            consumer.poll(Duration.ofSeconds(5));
        }
    }
}
