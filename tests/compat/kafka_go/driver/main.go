// Command driver runs segmentio/kafka-go (Debian golang-github-segmentio-kafka-go-dev 0.2.1)
// against a broker for kafka_go_test.ts. It reads {"bootstrap": "host:port", "ops": [...]} as JSON
// on stdin, runs each op in order and prints {"results": [...]} as JSON on stdout. Records travel as
// JSON objects with base64 bytes: {"p": partition, "k": key, "v": value, "ts": ms, "o": offset}.
// kafka-go 0.2.1 speaks Produce v2 and Fetch v2 (message format v1): there are no headers.
//
// Ops:
//
//	produce  topic, records, codec -> error (Writer.WriteMessages; a Balancer that replays each
//	         record's partition in order)
//	consume  topic, partitions, start, expect {partition: count}, timeout_s -> records, errors,
//	         timed_out (Reader with Partition set and SetOffset)
//	offsets  topic, partitions -> first, last (Conn.ReadOffsets, ListOffsets v1)
//	create_topics, delete_topics, partitions: Conn.CreateTopics, DeleteTopics, ReadPartitions (admin.go)
//	group    Readers with GroupID that read, commit and close (group.go)
//
// Every op may set client_id, so the test can tell its requests apart on the wire.
//
// It never judges anything: the TypeScript test does. Build in GOPATH mode against Debian's sources:
// GOPATH=/usr/share/gocode GO111MODULE=off go build.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"strconv"
	"sync"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/gzip"
	"github.com/segmentio/kafka-go/lz4"
	"github.com/segmentio/kafka-go/snappy"
)

type record struct {
	P  int    `json:"p"`
	K  []byte `json:"k"`
	V  []byte `json:"v"`
	Ts *int64 `json:"ts,omitempty"`
	O  *int64 `json:"o,omitempty"`
}

type op struct {
	Op         string         `json:"op"`
	Topic      string         `json:"topic"`
	Records    []record       `json:"records"`
	Codec      string         `json:"codec"`
	Partitions []int          `json:"partitions"`
	Start      int64          `json:"start"`
	Expect     map[string]int `json:"expect"`
	TimeoutS   float64        `json:"timeout_s"`
	// ClientID replaces kafka-go's default client id, so the test can tell one op's requests apart.
	ClientID string `json:"client_id"`
	// Admin and group ops (admin.go, group.go).
	Topics      []topicSpec `json:"topics"`
	Group       string      `json:"group"`
	Members     int         `json:"members"`
	ExpectTotal int         `json:"expect_total"`
	// SessionTimeoutS is the group members' session timeout (kafka-go's default: 30 s).
	SessionTimeoutS float64 `json:"session_timeout_s"`
}

// dialer is kafka-go's default Dialer with the op's client id.
func dialer(o op) *kafka.Dialer {
	d := *kafka.DefaultDialer
	if o.ClientID != "" {
		d.ClientID = o.ClientID
	}
	return &d
}

// replay is a Balancer that hands out the partitions it was given, in order: the Writer calls
// Balance once per message, in the order of WriteMessages.
type replay struct {
	mu   sync.Mutex
	next []int
}

func (r *replay) Balance(_ kafka.Message, _ ...int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.next[0]
	r.next = r.next[1:]
	return p
}

// lines collects what a logger writes, one string per write.
type lines struct {
	mu  sync.Mutex
	out *[]string
}

func (l *lines) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	*l.out = append(*l.out, string(b))
	return len(b), nil
}

func codec(name string) kafka.CompressionCodec {
	switch name {
	case "gzip":
		return gzip.NewCompressionCodec()
	case "snappy":
		return snappy.NewCompressionCodec()
	case "lz4":
		return lz4.NewCompressionCodec()
	}
	return nil
}

func produce(bootstrap string, o op) (interface{}, error) {
	b := &replay{}
	msgs := make([]kafka.Message, len(o.Records))
	for i, r := range o.Records {
		b.next = append(b.next, r.P)
		msgs[i] = kafka.Message{Key: r.K, Value: r.V}
		if r.Ts != nil {
			msgs[i].Time = time.Unix(0, *r.Ts*int64(time.Millisecond))
		}
	}
	w := kafka.NewWriter(kafka.WriterConfig{
		Brokers:          []string{bootstrap},
		Dialer:           dialer(o),
		Topic:            o.Topic,
		Balancer:         b,
		BatchSize:        100,
		BatchTimeout:     10 * time.Millisecond,
		RequiredAcks:     -1,
		MaxAttempts:      1,
		CompressionCodec: codec(o.Codec),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := w.WriteMessages(ctx, msgs...)
	w.Close()
	res := map[string]interface{}{"error": nil}
	if err != nil {
		res["error"] = err.Error()
	}
	return res, nil
}

func consume(bootstrap string, o op) (interface{}, error) {
	timeout := o.TimeoutS
	if timeout == 0 {
		timeout = 10
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(timeout*float64(time.Second)))
	defer cancel()
	records := []record{}
	errs := []string{}
	logged := &lines{out: &errs}
	timedOut := false
	for _, part := range o.Partitions {
		want := o.Expect[strconv.Itoa(part)]
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers:     []string{bootstrap},
			Dialer:      dialer(o),
			Topic:       o.Topic,
			Partition:   part,
			MinBytes:    1,
			MaxBytes:    10 << 20,
			MaxWait:     100 * time.Millisecond,
			ErrorLogger: log.New(logged, "", 0),
			// No background lag reads: Close() cancelling one logs "failed to read lag" (FINDINGS.md).
			ReadLagInterval: -1,
		})
		if err := r.SetOffset(o.Start); err != nil {
			logged.Write([]byte(err.Error()))
		}
		for got := 0; got < want; got++ {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				if ctx.Err() != nil {
					timedOut = true
				} else {
					logged.Write([]byte(err.Error()))
				}
				break
			}
			offset := m.Offset
			ts := m.Time.UnixNano() / int64(time.Millisecond)
			records = append(records, record{P: m.Partition, K: m.Key, V: m.Value, Ts: &ts, O: &offset})
		}
		r.Close()
		if timedOut {
			break
		}
	}
	logged.mu.Lock()
	defer logged.mu.Unlock()
	return map[string]interface{}{"records": records, "errors": errs, "timed_out": timedOut}, nil
}

func offsets(bootstrap string, o op) (interface{}, error) {
	out := [][2]int64{}
	for _, part := range o.Partitions {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, err := dialer(o).DialLeader(ctx, "tcp", bootstrap, o.Topic, part)
		cancel()
		if err != nil {
			return nil, err
		}
		first, last, err := conn.ReadOffsets()
		conn.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, [2]int64{first, last})
	}
	return map[string]interface{}{"offsets": out}, nil
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
		case "offsets":
			res, err = offsets(plan.Bootstrap, o)
		case "create_topics", "delete_topics", "partitions":
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
