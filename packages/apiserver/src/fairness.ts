// API Priority and Fairness, enforced (kube-apiserver's --enable-priority-and-fairness, on by
// default). Every request is classified by the FlowSchemas — the first that matches, by
// matchingPrecedence then name, names its priority level and how its flow is told apart (by
// user, by namespace, or not) — and then waits for a seat of its priority level:
// - The server's seats (--max-requests-inflight plus --max-mutating-requests-inflight) are
//   shared among the Limited levels by their nominalConcurrencyShares, rounded up. A level at
//   its nominal seats borrows while other levels leave lendable seats (lendablePercent of
//   theirs) unused, up to its borrowingLimitPercent.
// - A level that has no seat free queues the request (limitResponse Queue) or answers 429
//   (Reject). Its flow is dealt a hand of `handSize` of the level's `queues` (shuffle
//   sharding: flows that flood reach few queues) and joins the shortest; a full queue answers
//   429. Seats that free go to the level's queues in turn, so a flood of one flow waits on its
//   own queues while other flows' requests get through.
// - A request that waits longer than a quarter of the request timeout (15 s) answers 429.
// - Exempt levels (system:masters, health probes) never wait; long-running requests (watches,
//   exec, attach, port-forward, proxy, logs) are classified but hold no seat.
// Differences from Kubernetes, for reading the code against it: a request is one seat (no
// width estimate for large lists), queues are served in turn rather than by virtual finish
// time, and borrowing is decided per request instead of by a periodic readjustment.
// Every answer carries the X-Kubernetes-PF-FlowSchema-UID and -PriorityLevel-UID headers, and
// each FlowSchema gets the Dangling condition (whether its priority level exists).
import { createHash } from "node:crypto";
import type { Attributes } from "./authz/attributes.js";
import { nonResourceURLMatches } from "./authz/rbac.js";
import { ApiError } from "./errors.js";
import { meta, type KubeObject } from "./objects.js";
import { bootstrapObjects } from "./flowcontrol.js";
import type { ApiserverMetrics } from "./metrics.js";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Where the configuration comes from: the objects, and a stamp that changes with them. */
export interface FairnessConfigSource {
  flowSchemas(): readonly KubeObject[] | undefined;
  priorityLevels(): readonly KubeObject[] | undefined;
  /** Changes whenever either list may have; undefined while they cannot be read yet. */
  stamp(): string | undefined;
}

export interface FairnessOptions {
  /** The server's seats: --max-requests-inflight + --max-mutating-requests-inflight. */
  serverConcurrency: number;
  source: FairnessConfigSource;
  metrics?: ApiserverMetrics;
  /** How long a request may wait in a queue before a 429 (Kubernetes: 1/4 of 60 s). */
  queueWaitMs?: number;
  /**
   * Writes a FlowSchema's Dangling condition (whether its priority level exists) when it is
   * not what the objects say, as Kubernetes' APF controller does; kubectl prints it as
   * MISSINGPL. Called outside any request; failures are the writer's to log.
   */
  writeDangling?: (flowSchema: string, condition: DanglingCondition) => Promise<void>;
}

/** A FlowSchema's status condition of type Dangling. */
export interface DanglingCondition {
  type: "Dangling";
  status: "True" | "False";
  reason: "NotFound" | "Found";
  message: string;
}

/** What a request was classified as, and how to give its seat back. */
export interface Admitted {
  flowSchemaUid: string;
  priorityLevelUid: string;
  release(): void;
}

interface Queuing {
  queues: number;
  handSize: number;
  queueLengthLimit: number;
}

interface Waiter {
  flow: string;
  queue: number;
  since: number;
  start: () => void;
  timer: NodeJS.Timeout;
}

class Level {
  uid = "";
  exempt = false;
  nominal = 0;
  lendable = 0;
  borrowLimit = Infinity;
  queuing: Queuing | undefined;
  /** Seats taken (exempt levels count their requests too, for the metrics). */
  inUse = 0;
  queues: Waiter[][] = [[]];
  /** Requests running per queue, for choosing the shortest queue of a hand. */
  running: number[] = [0];
  waiting = 0;
  next = 0;
  hands = new Map<string, number[]>();

  constructor(readonly name: string) {}

  configure(obj: KubeObject, serverConcurrency: number, totalShares: number): void {
    const spec = (obj as Obj).spec ?? {};
    this.uid = meta(obj).uid ?? "";
    this.exempt = spec.type === "Exempt";
    const limited: Obj = spec.limited ?? {};
    this.nominal = this.exempt
      ? Infinity
      : Math.ceil((serverConcurrency * sharesOf(obj)) / Math.max(1, totalShares));
    this.lendable = this.exempt
      ? 0
      : Math.round((this.nominal * (limited.lendablePercent ?? 0)) / 100);
    const borrowing = limited.borrowingLimitPercent;
    this.borrowLimit =
      typeof borrowing === "number" ? Math.round((this.nominal * borrowing) / 100) : Infinity;
    const response: Obj = limited.limitResponse ?? {};
    const q: Obj | undefined =
      !this.exempt && response.type !== "Reject" ? (response.queuing ?? {}) : undefined;
    const queuing = q && {
      queues: Math.max(1, q.queues ?? 64),
      handSize: Math.max(1, q.handSize ?? 8),
      queueLengthLimit: Math.max(1, q.queueLengthLimit ?? 50),
    };
    const before = this.queuing;
    this.queuing = queuing;
    if (queuing?.queues !== before?.queues || queuing?.handSize !== before?.handSize) {
      // Waiters already queued keep their order, spread over the new queues.
      const waiters = this.queues.flat().sort((a, b) => a.since - b.since);
      this.queues = Array.from({ length: queuing?.queues ?? 1 }, () => []);
      this.running = this.queues.map(() => 0);
      this.hands.clear();
      for (const w of waiters) {
        w.queue = this.shortestOfHand(w.flow);
        this.queues[w.queue]!.push(w);
      }
    }
  }

  /** The flow's hand of queues (shuffle sharding), dealt from a hash of the flow. */
  hand(flow: string): number[] {
    let hand = this.hands.get(flow);
    if (hand) return hand;
    hand = dealHand(flow, this.queues.length, this.queuing?.handSize ?? 1);
    if (this.hands.size >= 10_000) this.hands.clear();
    this.hands.set(flow, hand);
    return hand;
  }

  shortestOfHand(flow: string): number {
    let best = -1;
    for (const q of this.hand(flow)) {
      if (best < 0 || this.load(q) < this.load(best)) best = q;
    }
    return best;
  }

  private load(q: number): number {
    return this.queues[q]!.length + this.running[q]!;
  }

  /** The next waiter in turn, round the non-empty queues. */
  take(): Waiter | undefined {
    const n = this.queues.length;
    for (let i = 0; i < n; i++) {
      const q = (this.next + i) % n;
      const w = this.queues[q]!.shift();
      if (w) {
        this.next = (q + 1) % n;
        this.waiting--;
        return w;
      }
    }
    return undefined;
  }
}

interface Flow {
  name: string;
  uid: string;
  level: string;
  precedence: number;
  distinguisher: string | undefined;
  rules: Obj[];
}

const CATCH_ALL = "catch-all";

export class PriorityAndFairness {
  private readonly levels = new Map<string, Level>();
  private flows: Flow[] = [];
  private stampOfConfig: string | undefined | null = null;
  /** Dangling conditions being written, so that each is written once. */
  private readonly danglingWrites = new Set<string>();
  private readonly queueWaitMs: number;

  constructor(private readonly opts: FairnessOptions) {
    this.queueWaitMs = opts.queueWaitMs ?? 15_000;
    this.refresh();
  }

  /**
   * Classifies the request and waits for its seat; throws a 429 ApiError when its level
   * rejects it. `gone` registers a callback for the client going away while it waits.
   */
  async admit(
    attrs: Attributes,
    longRunning: boolean,
    gone: (cb: () => void) => void,
  ): Promise<Admitted> {
    this.refresh();
    const flow = this.classify(attrs);
    const level = this.levels.get(flow.level) ?? this.levels.get(CATCH_ALL)!;
    const labels = { priority_level: level.name, flow_schema: flow.name };
    const admitted = (release: () => void): Admitted => ({
      flowSchemaUid: flow.uid,
      priorityLevelUid: level.uid,
      release,
    });
    if (longRunning) return admitted(() => {});
    const key = `${flow.name}\0${
      flow.distinguisher === "ByUser"
        ? attrs.user.name
        : flow.distinguisher === "ByNamespace"
          ? attrs.namespace
          : ""
    }`;
    const metrics = this.opts.metrics;
    const queue = level.queuing ? level.shortestOfHand(key) : 0;
    const run = (queue: number): Admitted => {
      level.inUse++;
      level.running[queue] = (level.running[queue] ?? 0) + 1;
      metrics?.fairnessExecuting.inc(labels);
      let released = false;
      return admitted(() => {
        if (released) return;
        released = true;
        level.inUse--;
        // (The level's queues may have been remade since: a count never goes below zero.)
        if ((level.running[queue] ?? 0) > 0) level.running[queue]!--;
        metrics?.fairnessExecuting.dec(labels);
        this.dispatch();
      });
    };
    if (level.exempt || (level.waiting === 0 && this.hasSeat(level))) {
      metrics?.fairnessWait.observe({ ...labels, execute: "true" }, 0);
      return run(queue);
    }
    const reject = (reason: string, message: string): ApiError => {
      metrics?.fairnessRejected.inc({ ...labels, reason });
      return new ApiError(429, "TooManyRequests", message, { retryAfterSeconds: 1 }, true);
    };
    if (!level.queuing) {
      throw reject("concurrency-limit", "too many requests, please try again later");
    }
    if (level.queues[queue]!.length >= level.queuing.queueLengthLimit) {
      throw reject("queue-full", "too many requests, please try again later");
    }
    const since = Date.now();
    return new Promise<Admitted>((resolve, reject429) => {
      const leave = (): boolean => {
        const list = level.queues[waiter.queue]!;
        const i = list.indexOf(waiter);
        if (i < 0) return false;
        list.splice(i, 1);
        level.waiting--;
        metrics?.fairnessInQueue.dec(labels);
        return true;
      };
      const waiter: Waiter = {
        flow: key,
        queue,
        since,
        start: () => {
          clearTimeout(waiter.timer);
          metrics?.fairnessInQueue.dec(labels);
          metrics?.fairnessWait.observe({ ...labels, execute: "true" }, (Date.now() - since) / 1e3);
          resolve(run(waiter.queue));
        },
        timer: setTimeout(() => {
          if (!leave()) return;
          metrics?.fairnessWait.observe(
            { ...labels, execute: "false" },
            (Date.now() - since) / 1e3,
          );
          reject429(
            reject(
              "time-out",
              "the request has been timed out waiting in the queue; please try again later",
            ),
          );
        }, this.queueWaitMs),
      };
      waiter.timer.unref();
      level.queues[queue]!.push(waiter);
      level.waiting++;
      metrics?.fairnessInQueue.inc(labels);
      gone(() => {
        if (leave()) clearTimeout(waiter.timer);
      });
    });
  }

  /** The FlowSchema that matches first (catch-all when none does). */
  classify(attrs: Attributes): Flow {
    for (const flow of this.flows) {
      if (flow.rules.some((r) => ruleMatches(r, attrs))) return flow;
    }
    return this.flows.find((f) => f.name === CATCH_ALL) ?? fallbackFlow;
  }

  /** Seats per priority level, as kube-apiserver's nominal limit. */
  nominalSeats(): Record<string, number> {
    return Object.fromEntries([...this.levels].map(([n, l]) => [n, l.nominal]));
  }

  private hasSeat(level: Level): boolean {
    if (level.inUse < level.nominal) return true;
    if (level.inUse - level.nominal >= level.borrowLimit) return false;
    let lendable = 0;
    let borrowed = 0;
    for (const l of this.levels.values()) {
      if (l.exempt) continue;
      lendable += Math.min(l.lendable, Math.max(0, l.nominal - l.inUse));
      borrowed += Math.max(0, l.inUse - l.nominal);
    }
    return borrowed < lendable;
  }

  /** Gives freed seats to waiting requests, each level's queues in turn. */
  private dispatch(): void {
    for (const level of this.levels.values()) {
      while (level.waiting > 0 && this.hasSeat(level)) level.take()!.start();
    }
  }

  /** Reads the FlowSchemas and priority levels again when they changed. */
  private refresh(): void {
    const stamp = this.opts.source.stamp();
    if (stamp !== undefined && stamp === this.stampOfConfig) return;
    if (stamp === undefined && this.stampOfConfig === undefined) return;
    this.stampOfConfig = stamp;
    const flows =
      (stamp !== undefined && this.opts.source.flowSchemas()) || bootstrap("FlowSchema");
    const levels =
      (stamp !== undefined && this.opts.source.priorityLevels()) ||
      bootstrap("PriorityLevelConfiguration");
    const total = levels.reduce((n, l) => n + sharesOf(l), 0);
    const seen = new Set<string>();
    for (const obj of levels) {
      const name = meta(obj).name ?? "";
      seen.add(name);
      let level = this.levels.get(name);
      if (!level) this.levels.set(name, (level = new Level(name)));
      level.configure(obj, this.opts.serverConcurrency, total);
      this.opts.metrics?.fairnessNominalSeats.set(
        { priority_level: name },
        level.exempt ? 0 : level.nominal,
      );
    }
    // A level that went away lets its waiting requests through (its seats go with it).
    for (const [name, level] of this.levels) {
      if (seen.has(name)) continue;
      this.levels.delete(name);
      for (let w = level.take(); w; w = level.take()) w.start();
    }
    if (!this.levels.has(CATCH_ALL)) {
      const level = new Level(CATCH_ALL);
      level.configure(fallbackLevel, this.opts.serverConcurrency, total + 5);
      this.levels.set(CATCH_ALL, level);
    }
    this.flows = flows
      .map((f): Flow => {
        const spec: Obj = (f as Obj).spec ?? {};
        return {
          name: meta(f).name ?? "",
          uid: meta(f).uid ?? "",
          level: spec.priorityLevelConfiguration?.name ?? "",
          precedence: spec.matchingPrecedence ?? 1000,
          distinguisher: spec.distinguisherMethod?.type,
          rules: spec.rules ?? [],
        };
      })
      // A FlowSchema whose level does not exist is dangling: Kubernetes skips it.
      .filter((f) => this.levels.has(f.level))
      .sort(
        (a, b) => a.precedence - b.precedence || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
      );
    if (stamp !== undefined) this.reportDangling(flows);
    this.dispatch();
  }

  /** Schedules a status write for each FlowSchema whose Dangling condition is out of date. */
  private reportDangling(flows: readonly KubeObject[]): void {
    const write = this.opts.writeDangling;
    if (!write) return;
    for (const f of flows) {
      const name = meta(f).name ?? "";
      const level: string = (f as Obj).spec?.priorityLevelConfiguration?.name ?? "";
      const dangling = !this.levels.has(level);
      const want: DanglingCondition = {
        type: "Dangling",
        status: dangling ? "True" : "False",
        reason: dangling ? "NotFound" : "Found",
        message: `This FlowSchema references the PriorityLevelConfiguration object named ${JSON.stringify(level)} ${
          dangling ? "but there is no such object" : "and it exists"
        }`,
      };
      const have = ((f as Obj).status?.conditions ?? []).find((c: Obj) => c.type === "Dangling") as
        Obj | undefined;
      if (
        have?.status === want.status &&
        have.reason === want.reason &&
        have.message === want.message
      )
        continue;
      const key = `${name}\0${want.status}\0${want.message}`;
      if (this.danglingWrites.has(key)) continue;
      this.danglingWrites.add(key);
      setImmediate(() => {
        void write(name, want).finally(() => this.danglingWrites.delete(key));
      });
    }
  }
}

/**
 * Shuffle sharding: `handSize` distinct queues of `queues`, dealt from a hash of the flow, so
 * that two flows rarely share a whole hand.
 */
export function dealHand(flow: string, queues: number, handSize: number): number[] {
  let h = createHash("sha256").update(flow).digest().readBigUInt64BE(0);
  const left = Array.from({ length: queues }, (_, i) => i);
  const hand: number[] = [];
  for (let i = 0; i < Math.min(handSize, queues); i++) {
    const pick = Number(h % BigInt(left.length));
    h /= BigInt(left.length);
    hand.push(left.splice(pick, 1)[0]!);
  }
  return hand;
}

/** A level's nominalConcurrencyShares (Kubernetes' default 30; an exempt level has none). */
function sharesOf(level: KubeObject): number {
  const spec = (level as Obj).spec;
  return spec?.type === "Exempt" ? 0 : (spec?.limited?.nominalConcurrencyShares ?? 30);
}

function bootstrap(kind: "FlowSchema" | "PriorityLevelConfiguration"): KubeObject[] {
  return bootstrapObjects(kind).map((o) => o.object);
}

const fallbackLevel: KubeObject = bootstrap("PriorityLevelConfiguration").find(
  (o) => meta(o).name === CATCH_ALL,
)!;
const fallbackFlow: Flow = {
  name: CATCH_ALL,
  uid: "",
  level: CATCH_ALL,
  precedence: 10_000,
  distinguisher: "ByUser",
  rules: [],
};

function ruleMatches(rule: Obj, attrs: Attributes): boolean {
  if (!(rule.subjects ?? []).some((s: Obj) => subjectMatches(s, attrs))) return false;
  if (attrs.resourceRequest) {
    return (rule.resourceRules ?? []).some((r: Obj) => resourceRuleMatches(r, attrs));
  }
  return (rule.nonResourceRules ?? []).some((r: Obj) => nonResourceRuleMatches(r, attrs));
}

function subjectMatches(s: Obj, attrs: Attributes): boolean {
  const { user } = attrs;
  switch (s.kind) {
    case "User":
      return s.user?.name === "*" || s.user?.name === user.name;
    case "Group":
      return s.group?.name === "*" || user.groups.includes(s.group?.name);
    case "ServiceAccount": {
      const prefix = `system:serviceaccount:${s.serviceAccount?.namespace}:`;
      if (!user.name.startsWith(prefix)) return false;
      const name = s.serviceAccount?.name;
      return name === "*" || user.name === prefix + name;
    }
    default:
      return false;
  }
}

const has = (list: unknown, value: string): boolean =>
  Array.isArray(list) && (list.includes("*") || list.includes(value));

function resourceRuleMatches(r: Obj, attrs: Attributes): boolean {
  if (!has(r.verbs, attrs.verb) || !has(r.apiGroups, attrs.apiGroup)) return false;
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  if (!has(r.resources, resource)) return false;
  // A namespaced request matches the listed namespaces ("*": any); a cluster-scoped one
  // (and a list across namespaces) matches clusterScope.
  return attrs.namespace ? has(r.namespaces, attrs.namespace) : r.clusterScope === true;
}

function nonResourceRuleMatches(r: Obj, attrs: Attributes): boolean {
  return has(r.verbs, attrs.verb) && nonResourceURLMatches(r.nonResourceURLs, attrs.path);
}
