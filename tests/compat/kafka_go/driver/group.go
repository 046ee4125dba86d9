package main

// The group op: `members` Readers with GroupID `group` read `topic`. kafka-go 0.2.1 tells what
// its group does only through its Logger, so each member's log is parsed: "joinGroup succeeded
// … generationID=N, memberID=M" and then "subscribed to partitions: map[p:offset …]", where the
// offsets are the committed ones it fetched (OffsetFetch v1), -2 (FirstOffset) where there are
// none. The members start reading only once every one has subscribed in the same generation, so
// no member reads while the group still rebalances. ReadMessage commits each message before it
// returns it (CommitInterval 0: OffsetCommit v2, synchronous). Once the members have read
// `expect_total` messages together, every Reader is closed (which sends no LeaveGroup in 0.2.1:
// the members stay in the group until their sessions time out).
//
//	group  group, topic, members, expect_total, session_timeout_s, timeout_s
//	       -> members [{sessions [{generation, member_id, offsets {partition: offset}}], records}],
//	          errors (ReadMessage), logged_errors (the ErrorLogger's lines), timed_out

import (
	"context"
	"fmt"
	"log"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	kafka "github.com/segmentio/kafka-go"
)

type session struct {
	Generation int              `json:"generation"`
	MemberID   string           `json:"member_id"`
	Offsets    map[string]int64 `json:"offsets"`
}

type memberState struct {
	Sessions []session `json:"sessions"`
	Records  []record  `json:"records"`
	joined   session
}

type groupRun struct {
	mu      sync.Mutex
	members []*memberState
	errors  []string
	logged  []string
	total   int
	expect  int
	done    context.CancelFunc
	changed chan struct{} // closed and replaced whenever a member subscribes
}

var (
	joinedLine     = regexp.MustCompile(`generationID=(\d+), memberID=(\S+)`)
	subscribedLine = regexp.MustCompile(`subscribed to partitions: map\[(.*)\]`)
)

// memberLog reads one member's Logger output.
type memberLog struct {
	run    *groupRun
	member *memberState
}

func (l *memberLog) Write(b []byte) (int, error) {
	g := l.run
	g.mu.Lock()
	defer g.mu.Unlock()
	line := string(b)
	if m := joinedLine.FindStringSubmatch(line); m != nil {
		gen, _ := strconv.Atoi(m[1])
		l.member.joined = session{Generation: gen, MemberID: m[2]}
	}
	if m := subscribedLine.FindStringSubmatch(line); m != nil {
		s := l.member.joined
		s.Offsets = map[string]int64{}
		for _, pair := range strings.Fields(m[1]) {
			kv := strings.SplitN(pair, ":", 2)
			if len(kv) == 2 {
				s.Offsets[kv[0]], _ = strconv.ParseInt(kv[1], 10, 64)
			}
		}
		l.member.Sessions = append(l.member.Sessions, s)
		close(g.changed)
		g.changed = make(chan struct{})
	}
	return len(b), nil
}

// errorLog collects the ErrorLogger's lines.
type errorLog struct{ run *groupRun }

func (l *errorLog) Write(b []byte) (int, error) {
	l.run.mu.Lock()
	defer l.run.mu.Unlock()
	l.run.logged = append(l.run.logged, strings.TrimSpace(string(b)))
	return len(b), nil
}

// settled waits until every member's latest subscription has the same generation.
func (g *groupRun) settled(ctx context.Context) bool {
	for {
		g.mu.Lock()
		ok := true
		gen := -1
		for _, m := range g.members {
			if len(m.Sessions) == 0 {
				ok = false
				break
			}
			last := m.Sessions[len(m.Sessions)-1].Generation
			if gen != -1 && last != gen {
				ok = false
			}
			gen = last
		}
		changed := g.changed
		g.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

func group(bootstrap string, o op) (interface{}, error) {
	timeout := o.TimeoutS
	if timeout == 0 {
		timeout = 30
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(timeout*float64(time.Second)))
	defer cancel()
	run := &groupRun{expect: o.ExpectTotal, done: cancel, changed: make(chan struct{})}
	readers := []*kafka.Reader{}
	for i := 0; i < o.Members; i++ {
		m := &memberState{Sessions: []session{}, Records: []record{}}
		run.members = append(run.members, m)
		readers = append(readers, kafka.NewReader(kafka.ReaderConfig{
			Brokers:           []string{bootstrap},
			Dialer:            dialer(o),
			GroupID:           o.Group,
			Topic:             o.Topic,
			MinBytes:          1,
			MaxBytes:          10 << 20,
			MaxWait:           100 * time.Millisecond,
			HeartbeatInterval: 200 * time.Millisecond,
			SessionTimeout:    time.Duration(o.SessionTimeoutS * float64(time.Second)),
			ReadLagInterval:   -1,
			Logger:            log.New(&memberLog{run: run, member: m}, "", 0),
			ErrorLogger:       log.New(&errorLog{run: run}, "", 0),
		}))
	}
	var wg sync.WaitGroup
	if run.settled(ctx) {
		for i, r := range readers {
			wg.Add(1)
			go func(i int, r *kafka.Reader, m *memberState) {
				defer wg.Done()
				for failures := 0; failures < 100; {
					msg, err := r.ReadMessage(ctx)
					if err != nil && ctx.Err() != nil {
						return
					}
					run.mu.Lock()
					if err != nil {
						run.errors = append(run.errors, fmt.Sprintf("member %d: %v", i, err))
						failures++
					} else {
						offset := msg.Offset
						ts := msg.Time.UnixNano() / int64(time.Millisecond)
						m.Records = append(m.Records, record{P: msg.Partition, K: msg.Key, V: msg.Value, Ts: &ts, O: &offset})
						run.total++
						if run.total >= run.expect {
							run.done()
						}
					}
					run.mu.Unlock()
				}
			}(i, r, run.members[i])
		}
	}
	wg.Wait()
	for _, r := range readers {
		wg.Add(1)
		go func(r *kafka.Reader) {
			defer wg.Done()
			r.Close()
		}(r)
	}
	wg.Wait()
	run.mu.Lock()
	defer run.mu.Unlock()
	return map[string]interface{}{
		"members":       run.members,
		"errors":        append([]string{}, run.errors...),
		"logged_errors": append([]string{}, run.logged...),
		"timed_out":     run.total < run.expect,
	}, nil
}
