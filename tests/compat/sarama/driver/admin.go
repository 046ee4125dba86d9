package main

// ClusterAdmin ops (Sarama 1.22 picks the versions: ListTopics sends Metadata v0 and
// DescribeConfigs v0 whatever Config.Version says; CreateTopics v0/v1/v2 and DeleteTopics v0/v1
// follow Config.Version):
//
//	create_topic     topic, num_partitions, replication, configs {name: value}, validate_only -> error
//	list_topics      -> topics {name: {partitions, replication, configs {name: value}}}
//	describe_config  topic -> entries [{name, value, read_only, default, sensitive}]
//	describe_topics  topics -> topics [{name, error, partitions [{id, leader, replicas, error}]}]
//	delete_topic     topic -> error
//	delete_records   topic, offsets {partition: offset} -> error (Sarama 1.22 drops per-partition errors)
//
// A Kafka error the call returns is data ("error"); failing to reach the broker is an exception.

import (
	"strconv"
	"time"

	"github.com/Shopify/sarama"
)

func errorOf(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}

func admin(bootstrap string, o op) (interface{}, error) {
	c, err := config(o)
	if err != nil {
		return nil, err
	}
	c.Admin.Timeout = 10 * time.Second
	a, err := sarama.NewClusterAdmin([]string{bootstrap}, c)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	switch o.Op {
	case "create_topic":
		entries := map[string]*string{}
		for k, v := range o.Configs {
			v := v
			entries[k] = &v
		}
		err := a.CreateTopic(o.Topic, &sarama.TopicDetail{
			NumPartitions:     o.NumPartitions,
			ReplicationFactor: o.Replication,
			ConfigEntries:     entries,
		}, o.ValidateOnly)
		return map[string]interface{}{"error": errorOf(err)}, nil
	case "list_topics":
		topics, err := a.ListTopics()
		if err != nil {
			return map[string]interface{}{"error": errorOf(err)}, nil
		}
		out := map[string]interface{}{}
		for name, d := range topics {
			configs := map[string]*string{}
			for k, v := range d.ConfigEntries {
				configs[k] = v
			}
			out[name] = map[string]interface{}{
				"partitions":  d.NumPartitions,
				"replication": d.ReplicationFactor,
				"configs":     configs,
			}
		}
		return map[string]interface{}{"error": nil, "topics": out}, nil
	case "describe_config":
		entries, err := a.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: o.Topic})
		out := []map[string]interface{}{}
		for _, e := range entries {
			out = append(out, map[string]interface{}{
				"name":      e.Name,
				"value":     e.Value,
				"read_only": e.ReadOnly,
				"default":   e.Default,
				"sensitive": e.Sensitive,
			})
		}
		return map[string]interface{}{"error": errorOf(err), "entries": out}, nil
	case "describe_topics":
		topics, err := a.DescribeTopics(o.Topics)
		out := []map[string]interface{}{}
		for _, t := range topics {
			parts := []map[string]interface{}{}
			for _, p := range t.Partitions {
				parts = append(parts, map[string]interface{}{
					"id":       p.ID,
					"leader":   p.Leader,
					"replicas": p.Replicas,
					"error":    errorOf(nilIfNoError(p.Err)),
				})
			}
			out = append(out, map[string]interface{}{
				"name":       t.Name,
				"error":      errorOf(nilIfNoError(t.Err)),
				"partitions": parts,
			})
		}
		return map[string]interface{}{"error": errorOf(err), "topics": out}, nil
	case "delete_topic":
		return map[string]interface{}{"error": errorOf(a.DeleteTopic(o.Topic))}, nil
	case "delete_records":
		offsets := map[int32]int64{}
		for p, off := range o.Offsets {
			n, err := strconv.Atoi(p)
			if err != nil {
				return nil, err
			}
			offsets[int32(n)] = off
		}
		return map[string]interface{}{"error": errorOf(a.DeleteRecords(o.Topic, offsets))}, nil
	}
	return nil, nil
}

func nilIfNoError(e sarama.KError) error {
	if e == sarama.ErrNoError {
		return nil
	}
	return e
}
