// Leader election on a coordination.k8s.io/v1 Lease: among candidates with the same lease,
// one leads at a time.
//
// Contract:
// - A candidate takes the lease when it does not exist (create), when its holder is empty
//   (released), or when no one has renewed it for leaseDurationSeconds as measured on OUR
//   clock from when we first saw its current renewTime (so clock skew between machines
//   does not matter). Every write is a compare-and-swap on resourceVersion: of two
//   candidates racing, one gets 409 Conflict and stays a follower.
// - The leader renews every retryPeriod. If it cannot renew for renewDeadline, or it sees
//   someone else holding the lease, it stops leading: the AbortSignal given to
//   onStartedLeading aborts, onStoppedLeading runs, and `run()` resolves. Since
//   renewDeadline < leaseDuration, it gives up before anyone else may take over.
// - This is not fencing: for a moment two processes may both believe they lead, so
//   leaders must write with compare-and-swap and keep syncs idempotent.
// - `stop()` ends the election; with releaseOnCancel a leader first clears the holder so
//   another candidate can take over at once instead of after leaseDurationSeconds.
import {
  resourceInfo,
  rfc3339Micro,
  type Lease as ApiLease,
  type LeaseSpec,
} from "@skiff/api/light";
import { isAlreadyExists, isConflict, isNotFound } from "./errors.js";
import { defaultLogger, type Logger } from "./log.js";
import type { RestClient, ResourceClient } from "./rest.js";
import type { KubeObject } from "./types.js";

/** A coordination.k8s.io/v1 Lease: @skiff/api's kind with the client's metadata. */
export type Lease = ApiLease & KubeObject;

export interface LeaderCallbacks {
  /** We lead now; do the work until `signal` aborts. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** We no longer lead (lost the lease or stopped). Usually: exit the process. */
  onStoppedLeading(): void;
  /** The holder changed (it may be us). */
  onNewLeader?(identity: string): void;
}

export interface LeaderElectionConfig {
  client: RestClient;
  namespace: string;
  /** The Lease's name, e.g. "kube-scheduler". */
  name: string;
  /** Unique per candidate, e.g. hostname + "_" + a random suffix. */
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  releaseOnCancel?: boolean;
  callbacks: LeaderCallbacks;
  logger?: Logger;
}

const jitterFactor = 1.2;

export class LeaderElector {
  private readonly leases: ResourceClient<Lease>;
  private readonly leaseDurationSeconds: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly log: Logger;
  private observedSpec: LeaseSpec | undefined;
  private observedTime = 0;
  private observedLease: Lease | undefined;
  private reportedLeader = "";
  private leading = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly config: LeaderElectionConfig) {
    this.leaseDurationSeconds = config.leaseDurationSeconds ?? 15;
    this.renewDeadlineMs = config.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = config.retryPeriodMs ?? 2_000;
    if (this.leaseDurationSeconds * 1000 <= this.renewDeadlineMs) {
      throw new Error("leaseDurationSeconds must be greater than the renew deadline");
    }
    if (this.renewDeadlineMs <= jitterFactor * this.retryPeriodMs) {
      throw new Error(`the renew deadline must be greater than ${jitterFactor} x the retry period`);
    }
    if (!config.identity) throw new Error("leader election needs an identity");
    const leaseInfo = resourceInfo("coordination.k8s.io", "v1", "leases");
    this.leases = config.client.resource<Lease>(leaseInfo).namespace(config.namespace);
    this.log = config.logger ?? defaultLogger;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder last seen on the lease ("" if none). */
  getLeader(): string {
    return this.observedSpec?.holderIdentity ?? "";
  }

  /** Campaigns, then leads until the lease is lost or `stop()` is called. */
  run(): Promise<void> {
    this.running ??= this.campaign();
    return this.running;
  }

  /** Ends the election (releasing the lease if configured) and resolves once `run()` has. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  private async campaign(): Promise<void> {
    const { identity, callbacks } = this.config;
    while (!this.stopped && !(await this.tryAcquireOrRenew())) {
      await this.sleep(this.retryPeriodMs * (1 + jitterFactor * Math.random()));
    }
    if (this.stopped) return;

    this.leading = true;
    const leadership = new AbortController();
    this.log.info({ lease: this.config.name, identity }, "became leader");
    try {
      void Promise.resolve(callbacks.onStartedLeading(leadership.signal)).catch((e: unknown) =>
        this.log.error({ err: e }, "onStartedLeading failed"),
      );
    } catch (e) {
      this.log.error({ err: e }, "onStartedLeading failed");
    }

    let lastRenew = Date.now();
    while (!this.stopped) {
      await this.sleep(this.retryPeriodMs);
      if (this.stopped) break;
      const left = this.renewDeadlineMs - (Date.now() - lastRenew);
      const renewed = left > 0 && (await this.withDeadline(this.tryAcquireOrRenew(), left));
      if (renewed) {
        lastRenew = Date.now();
        continue;
      }
      const takenBy = this.getLeader();
      if (takenBy !== identity || Date.now() - lastRenew >= this.renewDeadlineMs) {
        this.log.warn({ lease: this.config.name, identity, holder: takenBy }, "lost leadership");
        break;
      }
    }

    if (this.stopped && this.config.releaseOnCancel) await this.release();
    this.leading = false;
    leadership.abort();
    try {
      callbacks.onStoppedLeading();
    } catch (e) {
      this.log.error({ err: e }, "onStoppedLeading failed");
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private withDeadline(p: Promise<boolean>, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      void p.then((v) => {
        clearTimeout(timer);
        resolve(v);
      });
    });
  }

  private observe(lease: Lease, now: number): void {
    const spec = lease.spec ?? {};
    const seen = this.observedSpec;
    if (
      !seen ||
      seen.holderIdentity !== spec.holderIdentity ||
      seen.renewTime !== spec.renewTime ||
      seen.acquireTime !== spec.acquireTime
    ) {
      this.observedTime = now;
    }
    this.observedSpec = spec;
    this.observedLease = lease;
    const holder = spec.holderIdentity ?? "";
    if (holder && holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      try {
        this.config.callbacks.onNewLeader?.(holder);
      } catch (e) {
        this.log.error({ err: e }, "onNewLeader failed");
      }
    }
  }

  /** One attempt to create, take over or renew the lease. Never throws. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { identity, name, namespace } = this.config;
    const now = Date.now();
    const stamp = rfc3339Micro(now);
    let lease: Lease;
    try {
      lease = await this.leases.get(name);
    } catch (e) {
      if (!isNotFound(e)) {
        this.log.warn({ lease: name, err: e }, "cannot read lease");
        return false;
      }
      try {
        const created = await this.leases.create({
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: this.leaseDurationSeconds,
            acquireTime: stamp,
            renewTime: stamp,
            leaseTransitions: 0,
          },
        });
        this.observe(created, now);
        return true;
      } catch (e2) {
        if (!isAlreadyExists(e2)) this.log.warn({ lease: name, err: e2 }, "cannot create lease");
        return false;
      }
    }

    this.observe(lease, now);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const durationMs = (spec.leaseDurationSeconds ?? this.leaseDurationSeconds) * 1000;
    if (holder !== "" && holder !== identity && this.observedTime + durationMs > now) return false;

    const mine = holder === identity;
    const next: LeaseSpec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: this.leaseDurationSeconds,
      renewTime: stamp,
      acquireTime: mine && spec.acquireTime ? spec.acquireTime : stamp,
      leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
    };
    try {
      // The update carries the resourceVersion we read: compare-and-swap.
      const updated = await this.leases.update({ ...lease, spec: next });
      this.observe(updated, now);
      return true;
    } catch (e) {
      if (!isConflict(e)) this.log.warn({ lease: name, err: e }, "cannot update lease");
      return false;
    }
  }

  /** Clears the holder so the next candidate need not wait for the lease to expire. */
  private async release(): Promise<void> {
    const lease = this.observedLease;
    if (!lease || lease.spec?.holderIdentity !== this.config.identity) return;
    const stamp = rfc3339Micro(Date.now());
    try {
      await this.leases.update({
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: "",
          leaseDurationSeconds: 1,
          renewTime: stamp,
          acquireTime: stamp,
        },
      });
    } catch (e) {
      this.log.warn({ lease: this.config.name, err: e }, "cannot release lease");
    }
  }
}
