/*
 * rdkafka_bench: the load generator of kbin's benchmark suite (scripts/bench/run.sh).
 *
 * A real librdkafka client, so the numbers are what a C/C++/Go/Python (confluent-kafka) user sees.
 * Modes:
 *   produce  K producer instances (one thread each) send records of --size bytes for --seconds
 *            (or --count records in total); MB/s, records/s, produce latency p50/p99
 *            (delivery report time - send time), mean batch size from librdkafka's statistics.
 *   consume  reads every partition from the beginning until --bytes of payload were read (or
 *            every partition reached its end); MB/s, records/s.
 *   e2e      one producer at a fixed --rate and one consumer in the same process; latency is the
 *            consume time minus the send time embedded in each record; p50/p99/p99.9/max.
 *   disk     append --block bytes + fdatasync in a loop on --file: the disk's durable-write rate
 *            (with --no-sync: the page-cache append rate, bounded by --bytes).
 *
 * MB here is 2^20 bytes (as Kafka's perf tools), and only record payload bytes are counted.
 * A summary goes to stderr and one JSON object to stdout.
 *
 * Build: cc -O2 -o rdkafka_bench rdkafka_bench.c -lrdkafka -lpthread
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024.0 * 1024.0)
#define POOL_BYTES (4 << 20)
#define MAX_SETS 64

/* ---------- options ---------- */

static struct {
  const char *mode;
  const char *brokers;
  const char *topic;
  int size;
  long long count;
  double seconds;
  const char *acks;
  const char *compression;
  int linger_ms; /* -1: librdkafka's default (5 ms), except e2e which uses 0 */
  int batch_bytes;
  int partitions;
  int producers;
  int rate;
  long long bytes;
  double warmup;
  const char *file;
  int block;
  int idempotent;
  int no_sync;
  const char *sets[MAX_SETS];
  int nsets;
  int quiet;
} opt = {
    .mode = NULL,
    .brokers = "127.0.0.1:9092",
    .topic = "bench",
    .size = 1024,
    .count = 0,
    .seconds = 10,
    .acks = "1",
    .compression = "none",
    .linger_ms = -1,
    .batch_bytes = 0,
    .partitions = 0,
    .producers = 1,
    .rate = 10000,
    .bytes = 1LL << 30,
    .warmup = 1,
    .file = NULL,
    .block = 16384,
    .idempotent = 0,
    .no_sync = 0,
    .nsets = 0,
    .quiet = 0,
};

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "rdkafka_bench: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

static void usage(void) {
  fprintf(stderr,
          "Usage: rdkafka_bench MODE [options]\n"
          "Modes: produce | consume | e2e | disk | version (prints the librdkafka version)\n"
          "  -b, --brokers HOST:PORT   bootstrap servers (default 127.0.0.1:9092)\n"
          "  -t, --topic NAME          topic (default bench)\n"
          "  -s, --size BYTES          record value size (default 1024)\n"
          "  -n, --count N             produce: records in total (default: run for --seconds)\n"
          "  -d, --seconds S           produce/e2e/disk duration; consume time limit (default 10)\n"
          "  -a, --acks 0|1|all        (default 1)\n"
          "  -z, --compression CODEC   none, gzip, snappy, lz4, zstd (default none)\n"
          "  -l, --linger-ms MS        linger.ms (default: librdkafka's, 0 for e2e)\n"
          "  -B, --batch-bytes BYTES   batch.size (default: librdkafka's, 1000000)\n"
          "  -p, --partitions N        wait until the topic has N partitions\n"
          "  -P, --producers K         concurrent producer instances (default 1)\n"
          "  -r, --rate N              e2e: records per second (default 10000)\n"
          "  -y, --bytes N             consume: payload bytes to read (default 1 GiB); disk: stop after N bytes\n"
          "  -w, --warmup S            e2e: seconds whose latencies are discarded (default 1)\n"
          "  -f, --file PATH           disk: file to append to\n"
          "  -k, --block BYTES         disk: bytes per append (default 16384)\n"
          "  -S, --no-sync             disk: no fdatasync (the page-cache append rate)\n"
          "  -i, --idempotent          enable.idempotence=true\n"
          "  -X, --set NAME=VALUE      any librdkafka property (repeatable)\n"
          "  -q, --quiet               no summary on stderr\n");
  exit(2);
}

static void parse_args(int argc, char **argv) {
  static const struct option longs[] = {
      {"brokers", required_argument, 0, 'b'},     {"topic", required_argument, 0, 't'},
      {"size", required_argument, 0, 's'},        {"count", required_argument, 0, 'n'},
      {"seconds", required_argument, 0, 'd'},     {"acks", required_argument, 0, 'a'},
      {"compression", required_argument, 0, 'z'}, {"linger-ms", required_argument, 0, 'l'},
      {"batch-bytes", required_argument, 0, 'B'}, {"partitions", required_argument, 0, 'p'},
      {"producers", required_argument, 0, 'P'},   {"rate", required_argument, 0, 'r'},
      {"bytes", required_argument, 0, 'y'},       {"warmup", required_argument, 0, 'w'},
      {"file", required_argument, 0, 'f'},        {"block", required_argument, 0, 'k'},
      {"idempotent", no_argument, 0, 'i'},        {"set", required_argument, 0, 'X'},
      {"no-sync", no_argument, 0, 'S'},
      {"quiet", no_argument, 0, 'q'},             {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  if (argc < 2 || argv[1][0] == '-') usage();
  opt.mode = argv[1];
  optind = 2;
  int c;
  while ((c = getopt_long(argc, argv, "b:t:s:n:d:a:z:l:B:p:P:r:y:w:f:k:iSX:qh", longs, NULL)) != -1) {
    switch (c) {
      case 'b': opt.brokers = optarg; break;
      case 't': opt.topic = optarg; break;
      case 's': opt.size = atoi(optarg); break;
      case 'n': opt.count = atoll(optarg); break;
      case 'd': opt.seconds = atof(optarg); break;
      case 'a': opt.acks = optarg; break;
      case 'z': opt.compression = optarg; break;
      case 'l': opt.linger_ms = atoi(optarg); break;
      case 'B': opt.batch_bytes = atoi(optarg); break;
      case 'p': opt.partitions = atoi(optarg); break;
      case 'P': opt.producers = atoi(optarg); break;
      case 'r': opt.rate = atoi(optarg); break;
      case 'y': opt.bytes = atoll(optarg); break;
      case 'w': opt.warmup = atof(optarg); break;
      case 'f': opt.file = optarg; break;
      case 'k': opt.block = atoi(optarg); break;
      case 'i': opt.idempotent = 1; break;
      case 'S': opt.no_sync = 1; break;
      case 'X':
        if (opt.nsets == MAX_SETS) die("Cannot take more than %d --set options", MAX_SETS);
        opt.sets[opt.nsets++] = optarg;
        break;
      case 'q': opt.quiet = 1; break;
      default: usage();
    }
  }
  if (opt.size < 8) die("Cannot run: --size must be >= 8 (e2e embeds an 8-byte timestamp), got %d", opt.size);
  if (opt.producers < 1) die("Cannot run: --producers must be >= 1, got %d", opt.producers);
}

/* ---------- time, payload, histogram ---------- */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Record values are slices of a pool of words drawn at random from a small vocabulary, which
 * compresses about as well as typical JSON/text payloads (lz4 ~2x), unlike a constant pattern
 * (compresses absurdly well) or random bytes (not at all).
 */
static char *pool;

static void make_pool(void) {
  static const char *words[] = {"user",  "id",     "event", "click", "view",   "order", "price",
                                "true",  "false",  "null",  "2026",  "kbin",   "topic", "{\"a\":",
                                "\"b\"", "value",  "count", "US",    "DE",     "JP",    "page",
                                "cart",  "search", "login", "12345", "987.65", "},",    "session"};
  const int nwords = sizeof(words) / sizeof(words[0]);
  pool = malloc(POOL_BYTES);
  if (!pool) die("Cannot allocate the payload pool");
  uint32_t seed = 42;
  size_t at = 0;
  while (at < POOL_BYTES) {
    seed = seed * 1103515245u + 12345u;
    const char *w = words[(seed >> 16) % nwords];
    for (const char *p = w; *p && at < POOL_BYTES; p++) pool[at++] = *p;
    if (at < POOL_BYTES) pool[at++] = ' ';
  }
}

static const char *payload(long long i) {
  size_t span = POOL_BYTES - (size_t)opt.size;
  return pool + (size_t)((uint64_t)i * 7919u % span);
}

/* Log-linear histogram of nanoseconds: exact below 2048, then 1024 buckets per power of two. */
#define HBUCKETS (2048 + 54 * 1024)
typedef struct {
  uint64_t *c;
  uint64_t n;
  uint64_t max;
} hist_t;

static void hist_init(hist_t *h) {
  h->c = calloc(HBUCKETS, sizeof(uint64_t));
  if (!h->c) die("Cannot allocate a histogram");
  h->n = 0;
  h->max = 0;
}

static int hist_index(uint64_t v) {
  if (v < 2048) return (int)v;
  int k = 63 - __builtin_clzll(v);
  int shift = k - 10;
  return 2048 + (k - 11) * 1024 + (int)((v >> shift) - 1024);
}

static uint64_t hist_value(int i) {
  if (i < 2048) return (uint64_t)i;
  int k = (i - 2048) / 1024 + 11;
  int shift = k - 10;
  uint64_t mant = (uint64_t)((i - 2048) % 1024 + 1024);
  return (mant << shift) + ((1ull << shift) >> 1);
}

static void hist_add(hist_t *h, uint64_t v) {
  h->c[hist_index(v)]++;
  h->n++;
  if (v > h->max) h->max = v;
}

static void hist_merge(hist_t *into, const hist_t *from) {
  for (int i = 0; i < HBUCKETS; i++) into->c[i] += from->c[i];
  into->n += from->n;
  if (from->max > into->max) into->max = from->max;
}

/* The p-th percentile in milliseconds (0 when empty). */
static double hist_ms(const hist_t *h, double p) {
  if (h->n == 0) return 0;
  uint64_t want = (uint64_t)(p / 100.0 * (double)h->n + 0.999999);
  if (want < 1) want = 1;
  uint64_t seen = 0;
  for (int i = 0; i < HBUCKETS; i++) {
    seen += h->c[i];
    if (seen >= want) {
      uint64_t v = hist_value(i);
      return (double)(v > h->max ? h->max : v) / 1e6;
    }
  }
  return (double)h->max / 1e6;
}

/* ---------- librdkafka helpers ---------- */

static void set(rd_kafka_conf_t *conf, const char *name, const char *value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name, value, err, sizeof(err)) != RD_KAFKA_CONF_OK)
    die("Cannot set %s=%s: %s", name, value, err);
}

static void set_int(rd_kafka_conf_t *conf, const char *name, long long value) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%lld", value);
  set(conf, name, buf);
}

static void apply_sets(rd_kafka_conf_t *conf) {
  for (int i = 0; i < opt.nsets; i++) {
    char *kv = strdup(opt.sets[i]);
    char *eq = strchr(kv, '=');
    if (!eq) die("Cannot parse --set \"%s\": expected NAME=VALUE", opt.sets[i]);
    *eq = 0;
    set(conf, kv, eq + 1);
    free(kv);
  }
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  (void)rk;
  (void)opaque;
  fprintf(stderr, "rdkafka_bench: client error %s: %s\n", rd_kafka_err2name(err), reason);
}

static rd_kafka_conf_t *base_conf(void) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", opt.brokers);
  set(conf, "client.id", "rdkafka_bench");
  rd_kafka_conf_set_error_cb(conf, error_cb);
  return conf;
}

static rd_kafka_conf_t *producer_conf(int default_linger_ms) {
  rd_kafka_conf_t *conf = base_conf();
  set(conf, "acks", opt.acks);
  set(conf, "compression.codec", opt.compression);
  int linger = opt.linger_ms >= 0 ? opt.linger_ms : default_linger_ms;
  if (linger >= 0) set_int(conf, "linger.ms", linger);
  if (opt.batch_bytes > 0) set_int(conf, "batch.size", opt.batch_bytes);
  set(conf, "queue.buffering.max.kbytes", "32768");
  if (opt.idempotent) set(conf, "enable.idempotence", "true");
  return conf;
}

static rd_kafka_t *new_client(rd_kafka_type_t type, rd_kafka_conf_t *conf) {
  char err[512];
  apply_sets(conf);
  rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof(err));
  if (!rk) die("Cannot create a client: %s", err);
  return rk;
}

/* Waits until the topic's metadata lists its partitions without error; returns their count. */
static int wait_for_topic(rd_kafka_t *rk, rd_kafka_topic_t *rkt) {
  uint64_t deadline = now_ns() + 15000000000ull;
  const char *why = "no answer";
  while (now_ns() < deadline) {
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
    if (err) {
      why = rd_kafka_err2str(err);
    } else {
      int n = 0;
      if (md->topic_cnt == 1 && md->topics[0].err == 0) n = md->topics[0].partition_cnt;
      else if (md->topic_cnt == 1) why = rd_kafka_err2str(md->topics[0].err);
      rd_kafka_metadata_destroy(md);
      if (n > 0 && (opt.partitions == 0 || n >= opt.partitions)) return n;
    }
    usleep(100000);
  }
  die("Cannot use topic \"%s\": its metadata is not ready after 15 s (%s)", opt.topic, why);
  return 0;
}

static void json_str(const char *key, const char *value) { printf("\"%s\":\"%s\",", key, value); }

/* ---------- produce ---------- */

typedef struct {
  int id;
  rd_kafka_t *rk;
  rd_kafka_topic_t *rkt;
  long long target; /* records to send, or -1: until the deadline */
  uint64_t deadline_ns;
  long long sent, delivered, failed;
  long long bytes;
  uint64_t first_send_ns, last_dr_ns;
  int last_err;
  hist_t hist;
  /* sums over librdkafka's statistics windows: batch size in bytes and records per batch */
  double batch_bytes_sum, batch_bytes_cnt, batch_recs_sum, batch_recs_cnt;
} producer_t;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  producer_t *p = opaque;
  uint64_t now = now_ns();
  if (m->err) {
    p->failed++;
    p->last_err = m->err;
    return;
  }
  p->delivered++;
  p->bytes += (long long)m->len;
  hist_add(&p->hist, now - (uint64_t)(uintptr_t)m->_private);
  p->last_dr_ns = now;
}

/* Reads "field" of the statistics window object "window" (e.g. "batchsize"), if present. */
static int stats_field(const char *json, const char *window, const char *field, double *out) {
  char key[64];
  snprintf(key, sizeof(key), "\"%s\":", window);
  const char *p = strstr(json, key);
  if (!p) return 0;
  const char *end = strchr(p, '}');
  snprintf(key, sizeof(key), "\"%s\":", field);
  const char *q = strstr(p, key);
  if (!q || (end && q > end)) return 0;
  *out = atof(q + strlen(key));
  return 1;
}

static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
  (void)rk;
  (void)len;
  producer_t *p = opaque;
  double sum, cnt;
  if (stats_field(json, "batchsize", "sum", &sum) && stats_field(json, "batchsize", "cnt", &cnt)) {
    p->batch_bytes_sum += sum;
    p->batch_bytes_cnt += cnt;
  }
  if (stats_field(json, "batchcnt", "sum", &sum) && stats_field(json, "batchcnt", "cnt", &cnt)) {
    p->batch_recs_sum += sum;
    p->batch_recs_cnt += cnt;
  }
  return 0;
}

static void *produce_thread(void *arg) {
  producer_t *p = arg;
  long long i = 0;
  p->first_send_ns = now_ns();
  for (;;) {
    if (p->target >= 0 && p->sent >= p->target) break;
    if (p->target < 0 && (i & 255) == 0 && now_ns() >= p->deadline_ns) break;
    i++;
    uint64_t t = now_ns();
    /* No copy flag: the pool outlives every message, and librdkafka copies small values into
     * the batch buffer anyway. The send time travels as the message opaque. */
    if (rd_kafka_produce(p->rkt, RD_KAFKA_PARTITION_UA, 0, (void *)payload(p->sent), (size_t)opt.size, NULL, 0,
                         (void *)(uintptr_t)t) == -1) {
      rd_kafka_resp_err_t err = rd_kafka_last_error();
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(p->rk, 1);
        continue;
      }
      die("Cannot produce: %s", rd_kafka_err2str(err));
    }
    p->sent++;
    if ((p->sent & 63) == 0) rd_kafka_poll(p->rk, 0);
  }
  uint64_t flush_deadline = now_ns() + 60000000000ull;
  while (rd_kafka_outq_len(p->rk) > 0 && now_ns() < flush_deadline) rd_kafka_poll(p->rk, 10);
  /* One more statistics window so the tail of the run is counted. */
  rd_kafka_poll(p->rk, 600);
  return NULL;
}

static int run_produce(void) {
  int k = opt.producers;
  producer_t *ps = calloc((size_t)k, sizeof(producer_t));
  pthread_t *threads = calloc((size_t)k, sizeof(pthread_t));
  int partitions = 0;
  for (int i = 0; i < k; i++) {
    producer_t *p = &ps[i];
    p->id = i;
    hist_init(&p->hist);
    rd_kafka_conf_t *conf = producer_conf(-1);
    set(conf, "statistics.interval.ms", "500");
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_stats_cb(conf, stats_cb);
    rd_kafka_conf_set_opaque(conf, p);
    p->rk = new_client(RD_KAFKA_PRODUCER, conf);
    p->rkt = rd_kafka_topic_new(p->rk, opt.topic, NULL);
    partitions = wait_for_topic(p->rk, p->rkt);
  }
  uint64_t start = now_ns();
  for (int i = 0; i < k; i++) {
    producer_t *p = &ps[i];
    if (opt.count > 0) p->target = opt.count / k + (i < opt.count % k ? 1 : 0);
    else p->target = -1;
    p->deadline_ns = start + (uint64_t)(opt.seconds * 1e9);
    pthread_create(&threads[i], NULL, produce_thread, p);
  }
  hist_t all;
  hist_init(&all);
  long long sent = 0, delivered = 0, failed = 0, bytes = 0;
  uint64_t first = UINT64_MAX, last = 0;
  double bb_sum = 0, bb_cnt = 0, br_sum = 0, br_cnt = 0;
  int last_err = 0;
  for (int i = 0; i < k; i++) {
    producer_t *p = &ps[i];
    pthread_join(threads[i], NULL);
    sent += p->sent;
    delivered += p->delivered;
    failed += p->failed;
    bytes += p->bytes;
    if (p->first_send_ns < first) first = p->first_send_ns;
    if (p->last_dr_ns > last) last = p->last_dr_ns;
    if (p->last_err) last_err = p->last_err;
    bb_sum += p->batch_bytes_sum;
    bb_cnt += p->batch_bytes_cnt;
    br_sum += p->batch_recs_sum;
    br_cnt += p->batch_recs_cnt;
    hist_merge(&all, &p->hist);
  }
  for (int i = 0; i < k; i++) {
    rd_kafka_topic_destroy(ps[i].rkt);
    rd_kafka_destroy(ps[i].rk);
  }
  double secs = last > first ? (double)(last - first) / 1e9 : 0;
  double mbps = secs > 0 ? (double)bytes / MIB / secs : 0;
  double rps = secs > 0 ? (double)delivered / secs : 0;
  double batch_bytes = bb_cnt > 0 ? bb_sum / bb_cnt : 0;
  double batch_recs = br_cnt > 0 ? br_sum / br_cnt : 0;
  if (!opt.quiet) {
    fprintf(stderr,
            "produce %s: %d B x %lld records, acks=%s, %s, %d producer(s), %d partition(s): %.1f MB/s, %.0f "
            "records/s, latency p50 %.2f ms p99 %.2f ms, batch %.0f B (%.1f records), %lld failed%s%s\n",
            opt.topic, opt.size, delivered, opt.acks, opt.compression, k, partitions, mbps, rps, hist_ms(&all, 50),
            hist_ms(&all, 99), batch_bytes, batch_recs, failed, last_err ? ": " : "",
            last_err ? rd_kafka_err2name(last_err) : "");
  }
  printf("{");
  json_str("mode", "produce");
  json_str("acks", opt.acks);
  json_str("compression", opt.compression);
  printf("\"size\":%d,\"producers\":%d,\"partitions\":%d,\"sent\":%lld,\"records\":%lld,\"failed\":%lld,"
         "\"bytes\":%lld,\"seconds\":%.4f,\"mb_per_s\":%.3f,\"records_per_s\":%.1f,\"p50_ms\":%.4f,"
         "\"p99_ms\":%.4f,\"max_ms\":%.4f,\"batch_bytes\":%.1f,\"batch_records\":%.2f,\"error\":\"%s\"}\n",
         opt.size, k, partitions, sent, delivered, failed, bytes, secs, mbps, rps, hist_ms(&all, 50), hist_ms(&all, 99),
         (double)all.max / 1e6, batch_bytes, batch_recs, last_err ? rd_kafka_err2name(last_err) : "");
  return failed > 0 || delivered == 0 ? 1 : 0;
}

/* ---------- consume ---------- */

/*
 * Partitions are started with the simple (queue) consumer API rather than assign(): assign()
 * needs a group.id, and a group makes librdkafka look for a group coordinator, which is not what
 * this measures (and which a broker without FindCoordinator would answer with errors).
 */
typedef struct {
  rd_kafka_t *rk;
  rd_kafka_topic_t *rkt;
  rd_kafka_queue_t *queue;
  int partitions;
} consumer_t;

static void open_consumer(consumer_t *c, int64_t start_offset) {
  rd_kafka_conf_t *conf = base_conf();
  set(conf, "enable.partition.eof", "true");
  c->rk = new_client(RD_KAFKA_CONSUMER, conf);
  rd_kafka_topic_conf_t *tconf = rd_kafka_topic_conf_new();
  char err[256];
  rd_kafka_topic_conf_set(tconf, "auto.offset.reset", "earliest", err, sizeof(err));
  c->rkt = rd_kafka_topic_new(c->rk, opt.topic, tconf);
  c->partitions = wait_for_topic(c->rk, c->rkt);
  c->queue = rd_kafka_queue_new(c->rk);
  for (int p = 0; p < c->partitions; p++) {
    if (rd_kafka_consume_start_queue(c->rkt, p, start_offset, c->queue) == -1)
      die("Cannot start consuming partition %d: %s", p, rd_kafka_err2str(rd_kafka_last_error()));
  }
}

static void close_consumer(consumer_t *c) {
  for (int p = 0; p < c->partitions; p++) rd_kafka_consume_stop(c->rkt, p);
  rd_kafka_queue_destroy(c->queue);
  rd_kafka_topic_destroy(c->rkt);
  rd_kafka_destroy(c->rk);
}

static int run_consume(void) {
  consumer_t c;
  uint64_t t0 = now_ns();
  open_consumer(&c, RD_KAFKA_OFFSET_BEGINNING);
  uint64_t deadline = t0 + (uint64_t)(opt.seconds * 1e9);
  char *eof = calloc((size_t)c.partitions, 1);
  int eofs = 0;
  long long records = 0, bytes = 0;
  uint64_t first = 0, last = t0;
  rd_kafka_message_t *msgs[4096];
  const char *error = "";
  while (bytes < opt.bytes && eofs < c.partitions) {
    if (now_ns() > deadline) {
      error = "time limit";
      break;
    }
    ssize_t n = rd_kafka_consume_batch_queue(c.queue, 10, msgs, 4096);
    if (n < 0) die("Cannot consume: %s", rd_kafka_err2str(rd_kafka_last_error()));
    for (ssize_t i = 0; i < n; i++) {
      rd_kafka_message_t *m = msgs[i];
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (m->partition >= 0 && m->partition < c.partitions && !eof[m->partition]) {
          eof[m->partition] = 1;
          eofs++;
        }
      } else if (m->err) {
        fprintf(stderr, "rdkafka_bench: consume error: %s\n", rd_kafka_message_errstr(m));
        error = rd_kafka_err2name(m->err);
      } else {
        if (!first) first = now_ns();
        records++;
        bytes += (long long)m->len;
      }
      rd_kafka_message_destroy(m);
    }
    if (n > 0) last = now_ns();
  }
  close_consumer(&c);
  /* From the start of the client (bootstrap, metadata, offsets included) to the last record. */
  double secs = (double)(last - t0) / 1e9;
  double mbps = secs > 0 ? (double)bytes / MIB / secs : 0;
  double rps = secs > 0 ? (double)records / secs : 0;
  double first_ms = first ? (double)(first - t0) / 1e6 : 0;
  if (!opt.quiet) {
    fprintf(stderr, "consume %s: %lld records, %.1f MiB in %.2f s: %.1f MB/s, %.0f records/s (first record after %.0f ms)%s%s\n",
            opt.topic, records, (double)bytes / MIB, secs, mbps, rps, first_ms, *error ? ", " : "", error);
  }
  printf("{");
  json_str("mode", "consume");
  printf("\"partitions\":%d,\"records\":%lld,\"bytes\":%lld,\"seconds\":%.4f,\"mb_per_s\":%.3f,"
         "\"records_per_s\":%.1f,\"first_record_ms\":%.2f,\"error\":\"%s\"}\n",
         c.partitions, records, bytes, secs, mbps, rps, first_ms, error);
  return records == 0 ? 1 : 0;
}

/* ---------- end to end ---------- */

typedef struct {
  consumer_t c;
  volatile int stop;
  uint64_t measure_from_ns;
  long long received;
  hist_t hist;
} e2e_t;

static void *e2e_consume_thread(void *arg) {
  e2e_t *e = arg;
  /* One message per call: the batch call waits until its array is full or the timeout. */
  while (!e->stop) {
    rd_kafka_message_t *m = rd_kafka_consume_queue(e->c.queue, 100);
    if (!m) continue;
    uint64_t now = now_ns();
    if (!m->err && m->len >= 8) {
      uint64_t sent;
      memcpy(&sent, m->payload, 8);
      __atomic_add_fetch(&e->received, 1, __ATOMIC_RELAXED);
      if (sent >= e->measure_from_ns) hist_add(&e->hist, now > sent ? now - sent : 0);
    }
    rd_kafka_message_destroy(m);
  }
  return NULL;
}

static void e2e_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  long long *failed = opaque;
  if (m->err) (*failed)++;
}

static int run_e2e(void) {
  e2e_t e;
  memset(&e, 0, sizeof(e));
  hist_init(&e.hist);
  open_consumer(&e.c, RD_KAFKA_OFFSET_BEGINNING);
  long long failed = 0;
  rd_kafka_conf_t *conf = producer_conf(0);
  rd_kafka_conf_set_dr_msg_cb(conf, e2e_dr_cb);
  rd_kafka_conf_set_opaque(conf, &failed);
  rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, conf);
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, opt.topic, NULL);
  wait_for_topic(rk, rkt);
  uint64_t start = now_ns();
  e.measure_from_ns = start + (uint64_t)(opt.warmup * 1e9);
  uint64_t end = e.measure_from_ns + (uint64_t)(opt.seconds * 1e9);
  pthread_t thread;
  pthread_create(&thread, NULL, e2e_consume_thread, &e);
  char *buf = malloc((size_t)opt.size);
  double interval_ns = 1e9 / opt.rate;
  long long sent = 0;
  for (;;) {
    uint64_t due = start + (uint64_t)((double)sent * interval_ns);
    if (due >= end) break;
    uint64_t now = now_ns();
    if (now < due) {
      struct timespec ts = {.tv_sec = (time_t)(due / 1000000000ull), .tv_nsec = (long)(due % 1000000000ull)};
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
    uint64_t t = now_ns();
    memcpy(buf + 8, payload(sent), (size_t)opt.size - 8);
    memcpy(buf, &t, 8);
    while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, buf, (size_t)opt.size, NULL, 0,
                            NULL) == -1) {
      if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL)
        die("Cannot produce: %s", rd_kafka_err2str(rd_kafka_last_error()));
      rd_kafka_poll(rk, 1);
    }
    sent++;
    rd_kafka_poll(rk, 0);
  }
  double produce_secs = (double)(now_ns() - start) / 1e9;
  rd_kafka_flush(rk, 30000);
  uint64_t wait_until = now_ns() + 10000000000ull;
  while (__atomic_load_n(&e.received, __ATOMIC_RELAXED) < sent - failed && now_ns() < wait_until) usleep(1000);
  e.stop = 1;
  pthread_join(thread, NULL);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  close_consumer(&e.c);
  double rate = produce_secs > 0 ? (double)sent / produce_secs : 0;
  if (!opt.quiet) {
    fprintf(stderr,
            "e2e %s: %lld sent at %.0f/s, %lld received, acks=%s: latency p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, "
            "max %.2f ms over %llu records\n",
            opt.topic, sent, rate, e.received, opt.acks, hist_ms(&e.hist, 50), hist_ms(&e.hist, 99),
            hist_ms(&e.hist, 99.9), (double)e.hist.max / 1e6, (unsigned long long)e.hist.n);
  }
  printf("{");
  json_str("mode", "e2e");
  json_str("acks", opt.acks);
  printf("\"size\":%d,\"rate\":%.1f,\"sent\":%lld,\"received\":%lld,\"failed\":%lld,\"measured\":%llu,"
         "\"p50_ms\":%.4f,\"p99_ms\":%.4f,\"p999_ms\":%.4f,\"max_ms\":%.4f}\n",
         opt.size, rate, sent, e.received, failed, (unsigned long long)e.hist.n, hist_ms(&e.hist, 50),
         hist_ms(&e.hist, 99), hist_ms(&e.hist, 99.9), (double)e.hist.max / 1e6);
  return e.received < sent - failed || e.hist.n == 0 ? 1 : 0;
}

/* ---------- disk ---------- */

static int run_disk(void) {
  if (!opt.file) die("Cannot run the disk benchmark: --file is required");
  int fd = open(opt.file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("Cannot open \"%s\": %s", opt.file, strerror(errno));
  char *block = malloc((size_t)opt.block);
  for (size_t at = 0; at < (size_t)opt.block; at += POOL_BYTES) {
    size_t n = (size_t)opt.block - at < POOL_BYTES ? (size_t)opt.block - at : POOL_BYTES;
    memcpy(block + at, pool, n);
  }
  /* --bytes bounds a no-sync run, so it does not leave gigabytes of dirty pages behind. */
  long long max_ops = opt.bytes > 0 ? opt.bytes / opt.block : 0;
  hist_t h;
  hist_init(&h);
  uint64_t start = now_ns();
  uint64_t end = start + (uint64_t)(opt.seconds * 1e9);
  long long ops = 0;
  uint64_t now = start;
  while (now < end && (max_ops == 0 || ops < max_ops)) {
    uint64_t t = now;
    ssize_t w = write(fd, block, (size_t)opt.block);
    if (w != opt.block) die("Cannot write \"%s\": %s", opt.file, strerror(errno));
    if (!opt.no_sync && fdatasync(fd) != 0) die("Cannot fdatasync \"%s\": %s", opt.file, strerror(errno));
    now = now_ns();
    hist_add(&h, now - t);
    ops++;
  }
  close(fd);
  unlink(opt.file);
  double secs = (double)(now - start) / 1e9;
  double rate = (double)ops / secs;
  double mbps = rate * opt.block / MIB;
  if (!opt.quiet) {
    fprintf(stderr, "disk %s: %d B append%s: %.0f/s, %.1f MB/s, p50 %.3f ms, p99 %.3f ms\n", opt.file, opt.block,
            opt.no_sync ? "" : "+fdatasync", rate, mbps, hist_ms(&h, 50), hist_ms(&h, 99));
  }
  printf("{");
  json_str("mode", "disk");
  printf("\"block\":%d,\"sync\":%s,\"ops\":%lld,\"seconds\":%.4f,\"ops_per_s\":%.1f,\"mb_per_s\":%.3f,"
         "\"p50_ms\":%.4f,\"p99_ms\":%.4f}\n",
         opt.block, opt.no_sync ? "false" : "true", ops, secs, rate, mbps, hist_ms(&h, 50), hist_ms(&h, 99));
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "version")) {
    printf("%s\n", rd_kafka_version_str());
    return 0;
  }
  parse_args(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  make_pool();
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (!strcmp(opt.mode, "produce")) return run_produce();
  if (!strcmp(opt.mode, "consume")) return run_consume();
  if (!strcmp(opt.mode, "e2e")) return run_e2e();
  if (!strcmp(opt.mode, "disk")) return run_disk();
  usage();
  return 2;
}
