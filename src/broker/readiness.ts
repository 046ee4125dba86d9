/**
 * Whether the broker is ready to serve, for `/readyz`: start-up moves through its phases
 * (opening storage, binding the Kafka listeners, joining the cluster and loading the groups of
 * the coordinator shards it leads), then a live check applies (this broker still holds its
 * place in the cluster: on PostgreSQL a broker whose lease lapsed is not). Shutdown makes it
 * unready first, so load balancers stop sending before listeners close.
 *
 * @module
 */

/** Where start-up or shutdown is. */
export type ReadinessPhase =
  | "starting"
  | "opening storage"
  | "binding listeners"
  | "joining cluster"
  | "ready"
  | "stopping";

/** What `/readyz` answers. */
export interface ReadinessReport {
  ready: boolean;
  phase: ReadinessPhase;
  /** Why the broker is not ready (null when it is). */
  reason: string | null;
}

/** The broker's readiness, set by start-up and shutdown. */
export class Readiness {
  #phase: ReadinessPhase = "starting";
  #check: (() => string | null) | null = null;

  /** Moves to `phase`. */
  set(phase: ReadinessPhase): void {
    this.#phase = phase;
  }

  get phase(): ReadinessPhase {
    return this.#phase;
  }

  /** A check applied while "ready": returns why the broker is not ready after all, or null. */
  whileReady(check: () => string | null): void {
    this.#check = check;
  }

  report(): ReadinessReport {
    if (this.#phase !== "ready") {
      const reason = this.#phase === "stopping" ? "the broker is shutting down" : `the broker is ${this.#phase}`;
      return { ready: false, phase: this.#phase, reason };
    }
    let reason: string | null = null;
    try {
      reason = this.#check?.() ?? null;
    } catch (err) {
      reason = `readiness check failed: ${err instanceof Error ? err.message : String(err)}`;
    }
    return { ready: reason === null, phase: this.#phase, reason };
  }
}
