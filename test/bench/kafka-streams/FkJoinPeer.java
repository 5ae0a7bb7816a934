import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.ValueJoiner;

/**
 * The benchmark's peer: Kafka Streams' own KTable-KTable foreign-key join over the
 * same topics and records as the platform's join (test/bench/kafka-streams-peer.ts
 * starts it).
 *
 * <pre>
 * java -cp CLASSPATH FkJoinPeer BOOTSTRAP APPLICATION_ID LEFT_TOPIC RIGHT_TOPIC OUTPUT_TOPIC inner|left STATE_DIR
 * </pre>
 *
 * Left values are JSON objects whose string field {@code flyerId} is the foreign key;
 * the joiner writes {@code {"item":<left>,"flyer":<right or null>}}, byte for byte what
 * the TypeScript joiner's {@code JSON.stringify({ item, flyer })} writes for the
 * compact JSON the benchmark produces. Prints {@code READY} once the client is
 * RUNNING; exits on SIGTERM or when its standard input closes, so it never outlives
 * the process that started it.
 */
public final class FkJoinPeer {
  private FkJoinPeer() {}

  public static void main(String[] args) throws InterruptedException {
    if (args.length != 7 || !(args[5].equals("inner") || args[5].equals("left"))) {
      System.err.println(
          "usage: FkJoinPeer BOOTSTRAP APPLICATION_ID LEFT_TOPIC RIGHT_TOPIC OUTPUT_TOPIC inner|left STATE_DIR");
      System.exit(2);
    }
    // Watch stdin before anything slow: if the parent dies during startup, so do we.
    exitWhenStdinCloses();

    String bootstrap = args[0];
    String applicationId = args[1];
    String leftTopic = args[2];
    String rightTopic = args[3];
    String outputTopic = args[4];
    boolean inner = args[5].equals("inner");
    String stateDir = args[6];

    KafkaStreams streams =
        new KafkaStreams(topology(leftTopic, rightTopic, outputTopic, inner), config(bootstrap, applicationId, stateDir));
    AtomicBoolean ready = new AtomicBoolean(false);
    CountDownLatch failed = new CountDownLatch(1);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    streams.setStateListener(
        (newState, oldState) -> {
          if (newState == KafkaStreams.State.RUNNING && ready.compareAndSet(false, true)) {
            System.out.println("READY");
            System.out.flush();
          } else if (newState == KafkaStreams.State.ERROR) {
            failed.countDown();
          }
        });
    // One thread and no one to restart it: a processing error ends the peer, loudly,
    // rather than leaving the benchmark waiting for outputs that never come.
    streams.setUncaughtExceptionHandler(
        error -> {
          failure.set(error);
          return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
    // SIGTERM, SIGINT and System.exit all run this: commit what was processed, leave the group.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> streams.close(Duration.ofSeconds(15)), "close-streams"));
    streams.start();

    failed.await();
    // Last on stderr, after Kafka's own stack traces, so the tail the parent reports holds the cause.
    System.err.println("FkJoinPeer: Kafka Streams is in state ERROR, exiting; the stream thread failed with: " + failure.get());
    System.exit(1);
  }

  static Topology topology(String leftTopic, String rightTopic, String outputTopic, boolean inner) {
    StreamsBuilder builder = new StreamsBuilder();
    KTable<String, String> items = builder.table(leftTopic, Consumed.with(Serdes.String(), Serdes.String()));
    KTable<String, String> flyers = builder.table(rightTopic, Consumed.with(Serdes.String(), Serdes.String()));
    // Both sides are compact JSON text, so splicing them in is JSON.stringify({ item, flyer }) exactly.
    ValueJoiner<String, String, String> joiner =
        (item, flyer) -> "{\"item\":" + item + ",\"flyer\":" + (flyer == null ? "null" : flyer) + "}";
    // An explicitly typed lambda: it picks the value-only extractor overload, not the (key, value) one.
    KTable<String, String> joined =
        inner
            ? items.join(flyers, (String item) -> flyerId(item), joiner)
            : items.leftJoin(flyers, (String item) -> flyerId(item), joiner);
    joined.toStream().to(outputTopic, Produced.with(Serdes.String(), Serdes.String()));
    return builder.build();
  }

  static Properties config(String bootstrap, String applicationId, String stateDir) {
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
    // The default 30 s would hold outputs back (record caches flush on commit) longer than a benchmark phase lasts.
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    return props;
  }

  /** The foreign key: the left value's top-level string field {@code flyerId}, or null when it has none. */
  static String flyerId(String item) {
    return item == null ? null : new JsonCursor(item).topLevelStringField("flyerId");
  }

  private static void exitWhenStdinCloses() {
    Thread watcher =
        new Thread(
            () -> {
              byte[] buffer = new byte[256];
              try (InputStream in = System.in) {
                while (in.read(buffer) != -1) {
                  // Nothing is ever sent; reading only waits for end of file.
                }
              } catch (IOException ignored) {
                // A broken pipe means the parent is gone, as end of file does.
              }
              System.exit(0);
            },
            "stdin-watcher");
    watcher.setDaemon(true);
    watcher.start();
  }

  /**
   * Just enough JSON to read one top-level string field without a JSON library on
   * the classpath: it skips every other value whole (strings with escapes, nested
   * objects and arrays), so a field name inside another value is never mistaken for it.
   */
  static final class JsonCursor {
    private final String text;
    private int at;

    JsonCursor(String text) {
      this.text = text;
    }

    String topLevelStringField(String name) {
      expect('{');
      if (consume('}')) return null;
      do {
        String field = string();
        expect(':');
        skipWhitespace();
        if (field.equals(name)) return peek() == '"' ? string() : null;
        skipValue();
      } while (consume(','));
      expect('}');
      return null;
    }

    private String string() {
      expect('"');
      StringBuilder out = new StringBuilder();
      for (;;) {
        char c = next();
        if (c == '"') return out.toString();
        if (c != '\\') {
          out.append(c);
          continue;
        }
        char escape = next();
        switch (escape) {
          case '"', '\\', '/' -> out.append(escape);
          case 'b' -> out.append('\b');
          case 'f' -> out.append('\f');
          case 'n' -> out.append('\n');
          case 'r' -> out.append('\r');
          case 't' -> out.append('\t');
          case 'u' -> {
            if (at + 4 > text.length()) throw malformed("a \\u escape with four hex digits");
            try {
              out.append((char) Integer.parseInt(text.substring(at, at + 4), 16));
            } catch (NumberFormatException e) {
              throw malformed("a \\u escape with four hex digits");
            }
            at += 4;
          }
          default -> throw malformed("a JSON escape");
        }
      }
    }

    private void skipValue() {
      char c = peek();
      if (c == '"') {
        string();
      } else if (c == '{' || c == '[') {
        int depth = 0;
        do {
          char d = peek();
          if (d == '"') {
            string();
            continue;
          }
          at++;
          if (d == '{' || d == '[') depth++;
          else if (d == '}' || d == ']') depth--;
        } while (depth > 0);
      } else {
        // A number, true, false or null: runs to the next delimiter.
        int start = at;
        while (at < text.length() && ",}] \t\r\n".indexOf(text.charAt(at)) < 0) at++;
        if (at == start) throw malformed("a value");
      }
    }

    private boolean consume(char c) {
      skipWhitespace();
      if (at < text.length() && text.charAt(at) == c) {
        at++;
        return true;
      }
      return false;
    }

    private void expect(char c) {
      if (!consume(c)) throw malformed("'" + c + "'");
    }

    private char peek() {
      skipWhitespace();
      if (at >= text.length()) throw malformed("more JSON");
      return text.charAt(at);
    }

    private char next() {
      if (at >= text.length()) throw malformed("the end of a string");
      return text.charAt(at++);
    }

    private void skipWhitespace() {
      while (at < text.length() && " \t\r\n".indexOf(text.charAt(at)) >= 0) at++;
    }

    private IllegalArgumentException malformed(String expected) {
      String excerpt = text.length() > 200 ? text.substring(0, 200) + "…" : text;
      return new IllegalArgumentException("Expected " + expected + " at offset " + at + " of the left value " + excerpt);
    }
  }
}
