/**
 * Requests one broker sends another (several brokers on PostgreSQL): the transaction coordinator
 * writes markers to partitions other brokers lead (WriteTxnMarkers) and a partition leader asks a
 * transaction's coordinator whether a transactional produce belongs to it (AddPartitionsToTxn,
 * KIP-890). The broker layer names what it needs; the server wires a Kafka-protocol client in.
 *
 * @module
 */

import type { ApiDescriptor } from "../protocol/generated/api_keys.ts";
import type { Input } from "../protocol/types.ts";

/** Sends one request to another broker of the cluster, at a version both sides support. */
export interface InterBroker {
  /**
   * @param nodeId the broker (as the cluster's live brokers list it)
   * @param api the API
   * @param body the request for the version picked
   * @throws Error when the broker cannot be reached or supports no version of `api`
   */
  send<Req, Res>(nodeId: number, api: ApiDescriptor<Req, Res>, body: (version: number) => Input<Req>): Promise<Res>;
}

/** The answer of a cluster with one broker: there is nobody else to ask. */
export const NO_INTER_BROKER: InterBroker = {
  send(nodeId, api) {
    return Promise.reject(new Error(`Cannot send ${api.name} to broker ${nodeId}: no inter-broker client`));
  },
};
