package main

// Topic admin through one Conn to the bootstrap broker (kafka-go 0.2.1 has no admin client):
//
//	create_topics  topics [{topic, num_partitions, replication, configs {name: value}}] -> error
//	               (Conn.CreateTopics: CreateTopics v0; it treats TOPIC_ALREADY_EXISTS as success)
//	delete_topics  topics [{topic}] -> error (Conn.DeleteTopics: DeleteTopics v1)
//	partitions     topics [{topic}] -> partitions [{topic, id, leader, replicas}], error
//	               (Conn.ReadPartitions: Metadata v1)
//
// A Kafka error the call returns is data ("error"); failing to reach the broker is an exception.

import (
	"context"
	"sort"
	"time"

	kafka "github.com/segmentio/kafka-go"
)

type topicSpec struct {
	Topic         string            `json:"topic"`
	NumPartitions int               `json:"num_partitions"`
	Replication   int               `json:"replication"`
	Configs       map[string]string `json:"configs"`
}

func errorOf(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}

func admin(bootstrap string, o op) (interface{}, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := dialer(o).DialContext(ctx, "tcp", bootstrap)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	names := []string{}
	for _, t := range o.Topics {
		names = append(names, t.Topic)
	}
	switch o.Op {
	case "create_topics":
		configs := []kafka.TopicConfig{}
		for _, t := range o.Topics {
			c := kafka.TopicConfig{Topic: t.Topic, NumPartitions: t.NumPartitions, ReplicationFactor: t.Replication}
			keys := []string{}
			for k := range t.Configs {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				c.ConfigEntries = append(c.ConfigEntries, kafka.ConfigEntry{ConfigName: k, ConfigValue: t.Configs[k]})
			}
			configs = append(configs, c)
		}
		return map[string]interface{}{"error": errorOf(conn.CreateTopics(configs...))}, nil
	case "delete_topics":
		return map[string]interface{}{"error": errorOf(conn.DeleteTopics(names...))}, nil
	case "partitions":
		parts, err := conn.ReadPartitions(names...)
		out := []map[string]interface{}{}
		for _, p := range parts {
			replicas := []int{}
			for _, r := range p.Replicas {
				replicas = append(replicas, r.ID)
			}
			out = append(out, map[string]interface{}{
				"topic":    p.Topic,
				"id":       p.ID,
				"leader":   p.Leader.ID,
				"replicas": replicas,
			})
		}
		return map[string]interface{}{"error": errorOf(err), "partitions": out}, nil
	}
	return nil, nil
}
