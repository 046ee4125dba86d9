// Command driver runs Sarama (Debian golang-github-shopify-sarama-dev 1.22) against a broker for
// sarama_test.ts. It reads {"bootstrap": "host:port", "ops": [...]} as JSON on stdin, runs each op
// in order and prints {"results": [...]} as JSON on stdout. Records travel as JSON objects with
// base64 bytes: {"p": partition, "k": key, "v": value, "h": [[name, value]], "ts": ms, "o": offset}.
//
// Ops (version is a Sarama KafkaVersion such as "2.1.0" or "0.10.0.0"):
//
//	produce  topic, records, version, codec, idempotent -> reports [{p, o, err}] (SyncProducer.SendMessages)
//	consume  topic, partitions, start (offset; -2 oldest), expect {partition: count}, version, timeout_s
//	         -> records, errors, timed_out (Consumer.ConsumePartition)
//	create_topic, list_topics, describe_config, describe_topics, delete_topic: ClusterAdmin (admin.go)
//	group    ConsumerGroup members that consume, mark and commit (group.go)
//
// Every op may set client_id, so the test can tell its requests apart on the wire.
//
// It never judges anything: the TypeScript test does. Build in GOPATH mode against Debian's sources:
// GOPATH=/usr/share/gocode GO111MODULE=off go build.
package main

import (
	"encoding/json"
	"fmt"
	"log"
	"os"
	"strconv"
	"time"

	"github.com/Shopify/sarama"
)

type record struct {
	P  int32        `json:"p"`
	K  []byte       `json:"k"`
	V  []byte       `json:"v"`
	H  [][2]*string `json:"h"`
	Ts *int64       `json:"ts,omitempty"`
	O  *int64       `json:"o,omitempty"`
}

type op struct {
	Op         string         `json:"op"`
	Topic      string         `json:"topic"`
	Records    []record       `json:"records"`
	Version    string         `json:"version"`
	Codec      string         `json:"codec"`
	Idempotent bool           `json:"idempotent"`
	Timestamps bool           `json:"timestamps"`
	Partitions []int32        `json:"partitions"`
	Start      int64          `json:"start"`
	Expect     map[string]int `json:"expect"`
	TimeoutS   float64        `json:"timeout_s"`
	// ClientID replaces the driver's client id, so the test can tell one op's requests apart.
	ClientID string `json:"client_id"`
	// ClusterAdmin and ConsumerGroup ops (admin.go, group.go).
	Group         string            `json:"group"`
	Topics        []string          `json:"topics"`
	Members       int               `json:"members"`
	ExpectTotal   int               `json:"expect_total"`
	RetentionS    float64           `json:"retention_s"`
	NumPartitions int32             `json:"num_partitions"`
	Replication   int16             `json:"replication"`
	Configs       map[string]string `json:"configs"`
	ValidateOnly  bool              `json:"validate_only"`
	// delete_records: partition (as text) -> the offset to delete before.
	Offsets map[string]int64 `json:"offsets"`
}

type report struct {
	P   int32   `json:"p"`
	O   int64   `json:"o"`
	Err *string `json:"err"`
}

var codecs = map[string]sarama.CompressionCodec{
	"none":   sarama.CompressionNone,
	"gzip":   sarama.CompressionGZIP,
	"snappy": sarama.CompressionSnappy,
	"lz4":    sarama.CompressionLZ4,
	"zstd":   sarama.CompressionZSTD,
}

func config(o op) (*sarama.Config, error) {
	c := sarama.NewConfig()
	c.ClientID = "kbin-compat-sarama"
	if o.ClientID != "" {
		c.ClientID = o.ClientID
	}
	v, err := sarama.ParseKafkaVersion(o.Version)
	if err != nil {
		return nil, err
	}
	c.Version = v
	c.Metadata.Retry.Max = 1
	c.Metadata.Retry.Backoff = 50 * time.Millisecond
	return c, nil
}

func b64(s *string) []byte {
	if s == nil {
		return nil
	}
	var b []byte
	if err := json.Unmarshal([]byte(strconv.Quote(*s)), &b); err != nil {
		panic(err)
	}
	return b
}

func produce(bootstrap string, o op) (interface{}, error) {
	c, err := config(o)
	if err != nil {
		return nil, err
	}
	c.Producer.Return.Successes = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Partitioner = sarama.NewManualPartitioner
	c.Producer.Compression = codecs[o.Codec]
	c.Producer.Retry.Max = 1
	if o.Idempotent {
		c.Producer.Idempotent = true
		c.Net.MaxOpenRequests = 1
	}
	p, err := sarama.NewSyncProducer([]string{bootstrap}, c)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	msgs := make([]*sarama.ProducerMessage, len(o.Records))
	for i, r := range o.Records {
		m := &sarama.ProducerMessage{Topic: o.Topic, Partition: r.P}
		if r.K != nil {
			m.Key = sarama.ByteEncoder(r.K)
		}
		if r.V != nil {
			m.Value = sarama.ByteEncoder(r.V)
		}
		for _, h := range r.H {
			m.Headers = append(m.Headers, sarama.RecordHeader{Key: []byte(*h[0]), Value: b64(h[1])})
		}
		if r.Ts != nil && o.Timestamps {
			m.Timestamp = time.Unix(0, *r.Ts*int64(time.Millisecond))
		}
		msgs[i] = m
	}
	failed := map[*sarama.ProducerMessage]string{}
	if err := p.SendMessages(msgs); err != nil {
		if errs, ok := err.(sarama.ProducerErrors); ok {
			for _, e := range errs {
				failed[e.Msg] = e.Err.Error()
			}
		} else {
			return nil, err
		}
	}
	reports := make([]report, len(msgs))
	for i, m := range msgs {
		reports[i] = report{P: m.Partition, O: m.Offset}
		if e, ok := failed[m]; ok {
			e := e
			reports[i] = report{P: m.Partition, O: -1, Err: &e}
		}
	}
	return map[string]interface{}{"reports": reports}, nil
}

// fromMessage is a consumed message as a record.
func fromMessage(m *sarama.ConsumerMessage) record {
	offset := m.Offset
	ts := m.Timestamp.UnixNano() / int64(time.Millisecond)
	if m.Timestamp.IsZero() {
		ts = -1
	}
	r := record{P: m.Partition, K: m.Key, V: m.Value, H: [][2]*string{}, Ts: &ts, O: &offset}
	for _, h := range m.Headers {
		k := string(h.Key)
		var v *string
		if h.Value != nil {
			enc, _ := json.Marshal(h.Value)
			s, _ := strconv.Unquote(string(enc))
			v = &s
		}
		r.H = append(r.H, [2]*string{&k, v})
	}
	return r
}

func consume(bootstrap string, o op) (interface{}, error) {
	c, err := config(o)
	if err != nil {
		return nil, err
	}
	c.Consumer.Return.Errors = true
	c.Consumer.MaxWaitTime = 100 * time.Millisecond
	consumer, err := sarama.NewConsumer([]string{bootstrap}, c)
	if err != nil {
		return nil, err
	}
	defer consumer.Close()
	timeout := o.TimeoutS
	if timeout == 0 {
		timeout = 10
	}
	deadline := time.After(time.Duration(timeout * float64(time.Second)))
	records := []record{}
	errs := []string{}
	timedOut := false
	for _, part := range o.Partitions {
		want := o.Expect[strconv.Itoa(int(part))]
		pc, err := consumer.ConsumePartition(o.Topic, part, o.Start)
		if err != nil {
			errs = append(errs, fmt.Sprintf("partition %d: %v", part, err))
			continue
		}
		got := 0
	loop:
		for got < want {
			select {
			case m := <-pc.Messages():
				records = append(records, fromMessage(m))
				got++
			case e := <-pc.Errors():
				errs = append(errs, fmt.Sprintf("partition %d: %v", part, e.Err))
			case <-deadline:
				timedOut = true
				break loop
			}
		}
		pc.Close()
		if timedOut {
			break
		}
	}
	return map[string]interface{}{"records": records, "errors": errs, "timed_out": timedOut}, nil
}

func main() {
	var plan struct {
		Bootstrap string `json:"bootstrap"`
		Ops       []op   `json:"ops"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&plan); err != nil {
		fmt.Fprintln(os.Stderr, "driver: cannot read the plan:", err)
		os.Exit(2)
	}
	if os.Getenv("SARAMA_DEBUG") != "" {
		sarama.Logger = log.New(os.Stderr, "[sarama] ", log.Lmicroseconds)
	}
	results := make([]interface{}, 0, len(plan.Ops))
	for i, o := range plan.Ops {
		started := time.Now()
		var res interface{}
		var err error
		switch o.Op {
		case "produce":
			res, err = produce(plan.Bootstrap, o)
		case "consume":
			res, err = consume(plan.Bootstrap, o)
		case "create_topic", "list_topics", "describe_config", "describe_topics", "delete_topic", "delete_records":
			res, err = admin(plan.Bootstrap, o)
		case "group":
			res, err = group(plan.Bootstrap, o)
		default:
			err = fmt.Errorf("unknown op %q", o.Op)
		}
		if err != nil {
			res = map[string]string{"exception": err.Error()}
		}
		results = append(results, res)
		fmt.Fprintf(os.Stderr, "op %d %s %s: %.2f s\n", i, o.Op, o.Topic, time.Since(started).Seconds())
	}
	if err := json.NewEncoder(os.Stdout).Encode(map[string]interface{}{"results": results}); err != nil {
		fmt.Fprintln(os.Stderr, "driver:", err)
		os.Exit(1)
	}
}
