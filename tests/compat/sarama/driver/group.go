package main

// The group op: `members` ConsumerGroup members (one Sarama client each) join `group` for
// `topics`, starting at OffsetOldest where the group has no committed offset. Each ConsumeClaim
// waits until every member has set up a session of the same generation (so no member reads
// while the group still rebalances), then reads, marking every message (MarkMessage). Once the
// members have read `expect_total` messages together, the run ends: each session commits what it
// marked when it is released, and each member leaves the group (Close).
//
// Offsets are committed every 100 ms and at release, with OffsetCommit v1 when retention_s is 0
// (Sarama's default) and v2 with that retention otherwise.
//
//	group  group, topics, version, members, expect_total, retention_s, timeout_s
//	       -> members [{sessions [{generation, member_id, claims, initial}], records}], errors, timed_out

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

type session struct {
	Generation int32              `json:"generation"`
	MemberID   string             `json:"member_id"`
	Claims     map[string][]int32 `json:"claims"`
	// Initial is where each claim started ("topic/partition": offset): the committed offset
	// Sarama fetched (OffsetFetch v1), or the oldest offset where there was none.
	Initial map[string]int64 `json:"initial"`
}

type memberState struct {
	Sessions []session `json:"sessions"`
	Records  []record  `json:"records"`
}

// groupRun is what the members of one run share.
type groupRun struct {
	mu      sync.Mutex
	members []*memberState
	errors  []string
	total   int
	expect  int
	done    context.CancelFunc
	changed chan struct{} // closed and replaced whenever a member sets up a session
}

func (g *groupRun) fail(format string, args ...interface{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.errors = append(g.errors, fmt.Sprintf(format, args...))
}

// sameGeneration waits until every member's latest session has generation gen; false if ctx ends first.
func (g *groupRun) sameGeneration(ctx context.Context, gen int32) bool {
	for {
		g.mu.Lock()
		ok := true
		for _, m := range g.members {
			if len(m.Sessions) == 0 || m.Sessions[len(m.Sessions)-1].Generation != gen {
				ok = false
			}
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

type groupHandler struct {
	run    *groupRun
	member *memberState
}

func (h *groupHandler) Setup(s sarama.ConsumerGroupSession) error {
	g := h.run
	g.mu.Lock()
	defer g.mu.Unlock()
	claims := s.Claims()
	if claims == nil {
		claims = map[string][]int32{}
	}
	h.member.Sessions = append(h.member.Sessions, session{
		Generation: s.GenerationID(),
		MemberID:   s.MemberID(),
		Claims:     claims,
		Initial:    map[string]int64{},
	})
	close(g.changed)
	g.changed = make(chan struct{})
	return nil
}

func (h *groupHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *groupHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	h.run.mu.Lock()
	h.member.Sessions[len(h.member.Sessions)-1].Initial[fmt.Sprintf("%s/%d", c.Topic(), c.Partition())] = c.InitialOffset()
	h.run.mu.Unlock()
	if !h.run.sameGeneration(s.Context(), s.GenerationID()) {
		return nil
	}
	for m := range c.Messages() {
		s.MarkMessage(m, "")
		g := h.run
		g.mu.Lock()
		h.member.Records = append(h.member.Records, fromMessage(m))
		g.total++
		if g.total >= g.expect {
			g.done()
		}
		g.mu.Unlock()
	}
	return nil
}

func group(bootstrap string, o op) (interface{}, error) {
	c, err := config(o)
	if err != nil {
		return nil, err
	}
	c.Consumer.Return.Errors = true
	c.Consumer.MaxWaitTime = 100 * time.Millisecond
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Offsets.CommitInterval = 100 * time.Millisecond
	c.Consumer.Offsets.Retention = time.Duration(o.RetentionS * float64(time.Second))
	c.Consumer.Group.Heartbeat.Interval = 200 * time.Millisecond
	c.Consumer.Group.Rebalance.Retry.Backoff = 100 * time.Millisecond
	timeout := o.TimeoutS
	if timeout == 0 {
		timeout = 30
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(timeout*float64(time.Second)))
	defer cancel()
	run := &groupRun{expect: o.ExpectTotal, done: cancel, changed: make(chan struct{})}
	for i := 0; i < o.Members; i++ {
		run.members = append(run.members, &memberState{Sessions: []session{}, Records: []record{}})
	}
	var wg sync.WaitGroup
	for i, m := range run.members {
		wg.Add(1)
		go func(i int, m *memberState) {
			defer wg.Done()
			cg, err := sarama.NewConsumerGroup([]string{bootstrap}, o.Group, c)
			if err != nil {
				run.fail("member %d: NewConsumerGroup: %v", i, err)
				return
			}
			errsDone := make(chan struct{})
			go func() {
				defer close(errsDone)
				for err := range cg.Errors() {
					run.fail("member %d: %v", i, err)
				}
			}()
			for ctx.Err() == nil {
				if err := cg.Consume(ctx, o.Topics, &groupHandler{run: run, member: m}); err != nil {
					run.fail("member %d: Consume: %v", i, err)
					select {
					case <-ctx.Done():
					case <-time.After(100 * time.Millisecond):
					}
				}
			}
			if err := cg.Close(); err != nil {
				run.fail("member %d: Close: %v", i, err)
			}
			<-errsDone
		}(i, m)
	}
	wg.Wait()
	run.mu.Lock()
	defer run.mu.Unlock()
	return map[string]interface{}{
		"members":   run.members,
		"errors":    append([]string{}, run.errors...),
		"timed_out": run.total < run.expect,
	}, nil
}
