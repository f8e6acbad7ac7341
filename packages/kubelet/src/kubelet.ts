// Kubelet: watches this node's pods and makes the runtime match them. Pod workers
// (pod-workers.ts) run one sync per pod at a time, woken by the pod watch, by runtime events
// (the PLEG) and by a periodic relist. Each sync (syncPod, in numbered steps) decides with
// computePodActions, carries the plan out through the PodExecutor, and reports the status
// computePodStatus makes. Static pods come from static-pods.ts, probes from pod-state.ts.
import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { resourceInfo, rfc3339, type PodStatus } from "@skiff/api";
import {
  EventRecorder,
  SharedInformerFactory,
  isNotFound,
  type Logger,
  type ResourceClient,
  type RestClient,
  type SharedInformer,
} from "@skiff/client";
import type { Node, Pod, Service } from "./objects.js";
import { ObjectWatches } from "./object-watches.js";
import { computePodActions, type ContainerToStart } from "./pod-actions.js";
import {
  ConfigError,
  ObjectSource,
  cleanupPodDir,
  forgetTokens,
  prepareVolumes,
} from "./pod-config.js";
import { noDNS, parseResolvConf, podDNSConfig } from "./pod-dns.js";
import { PodExecutor, findContainer } from "./pod-executor.js";
import { newPodState, stopAllProbes, syncProbes, type PodState } from "./pod-state.js";
import { computePodStatus, readinessGateChanged } from "./pod-status.js";
import { PodWorkers } from "./pod-workers.js";
import type {
  ContainerRuntime,
  ContainerStatus as RuntimeContainer,
  DNSConfig,
  SandboxStatus,
} from "./runtime/runtime.js";
import { MIRROR_ANNOTATION, StaticPods } from "./static-pods.js";

export interface KubeletOptions {
  client: RestClient;
  /**
   * The client events are written with (default: `client`). As Kubernetes' kubelet does
   * (eventRecordQPS, eventBurst), a client of its own keeps events from using up the rate
   * limit that status writes need.
   */
  eventClient?: RestClient;
  runtime: ContainerRuntime;
  nodeName: string;
  nodeIP: string;
  rootDir: string;
  clusterDNS: string[];
  clusterDomain: string;
  /** MTU of the pod network's interfaces (default: the engine's); lower under an overlay. */
  podNetworkMTU?: number;
  /**
   * The node's resolv.conf, which pods with dnsPolicy Default (and hostNetwork pods with
   * ClusterFirst) get; "" or unset: none, so that such pods have no nameserver rather than
   * one nobody chose for them.
   */
  resolvConf?: string;
  log: Logger;
  /**
   * How often every pod is synced again regardless of events (default 1 min, Kubernetes'
   * syncFrequency).
   */
  resyncPeriodMs?: number;
  /**
   * How often the runtime is listed to catch what its events missed (default 10 s, or the
   * resync period when that is shorter): pods whose sandboxes or containers changed since
   * the last list are synced (Kubernetes' generic PLEG relist).
   */
  relistPeriodMs?: number;
  /** A directory of static pod manifests. */
  podManifestPath?: string;
}

/** How soon a pod whose volumes cannot be made yet (a missing configMap, secret) is retried. */
const VOLUME_RETRY_MS = 5000;
/** Every pod is synced at least this often (Kubernetes' syncFrequency, 1 min). */
const RESYNC_PERIOD_MS = 60_000;
/** The runtime is listed at least this often, for changes its events did not bring. */
const RELIST_PERIOD_MS = 10_000;
/** The longest delay setTimeout takes (2^31 - 1 ms); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Why a pod past spec.activeDeadlineSeconds failed, in Kubernetes' words. */
const DEADLINE_EXCEEDED = {
  reason: "DeadlineExceeded",
  message: "Pod was active on the node longer than the specified deadline",
};

export class Kubelet {
  private readonly pods = new Map<string, Pod>();
  private readonly states = new Map<string, PodState>();
  private readonly workers: PodWorkers;
  private readonly executor: PodExecutor;
  private readonly podClient: ResourceClient<Pod>;
  private readonly recorder: EventRecorder;
  private readonly factory: SharedInformerFactory;
  private readonly staticPods: StaticPods | undefined;
  /** The ConfigMaps and Secrets the pods use; a change syncs the pods using it. */
  private readonly objects: ObjectWatches;
  private informer: SharedInformer<Pod> | undefined;
  /** Every Service, for the service environment variables of new containers. */
  private services: SharedInformer<Service> | undefined;
  private readonly abort = new AbortController();
  private timers: NodeJS.Timeout[] = [];
  /** What the runtime held of each pod at the last relist: its sandboxes' and containers' states. */
  private relisted = new Map<string, string>();
  private podCIDR: string | undefined;
  private networkChain: Promise<void> = Promise.resolve();
  readonly log: Logger;

  constructor(private readonly opts: KubeletOptions) {
    this.log = opts.log;
    this.podClient = opts.client.resource<Pod>(resourceInfo("", "v1", "pods"));
    this.recorder = new EventRecorder(opts.eventClient ?? opts.client, {
      component: "kubelet",
      host: opts.nodeName,
      logger: opts.log,
    });
    this.factory = new SharedInformerFactory(opts.client, { logger: opts.log });
    this.objects = new ObjectWatches(
      opts.client,
      (uids) => {
        for (const uid of uids) this.enqueue(uid);
      },
      opts.log,
    );
    this.workers = new PodWorkers((uid) => this.syncPod(uid), this.abort.signal, opts.log);
    this.executor = new PodExecutor({
      runtime: opts.runtime,
      nodeIP: opts.nodeIP,
      log: opts.log,
      event: (pod, type, reason, message) => this.event(pod, type, reason, message),
      requeue: (uid, at) => this.workers.requeue(uid, at),
      services: () => this.services?.lister().list() ?? [],
    });
    if (opts.podManifestPath) {
      this.staticPods = new StaticPods({
        dir: opts.podManifestPath,
        nodeName: opts.nodeName,
        client: opts.client,
        log: opts.log,
      });
    }
  }

  get runtime(): ContainerRuntime {
    return this.opts.runtime;
  }

  /** The pods this kubelet runs, as last seen from the API. */
  listPods(): Pod[] {
    return [...this.pods.values()];
  }

  async start(): Promise<void> {
    const nodes = this.factory.forResource<Node>(resourceInfo("", "v1", "nodes"), {
      fieldSelector: `metadata.name=${this.opts.nodeName}`,
    });
    nodes.addEventHandler({
      add: (n) => this.onNode(n),
      update: (_o, n) => this.onNode(n),
    });
    this.informer = this.factory.forResource<Pod>(resourceInfo("", "v1", "pods"), {
      fieldSelector: `spec.nodeName=${this.opts.nodeName}`,
    });
    this.informer.addEventHandler({
      add: (p) => this.setPod(p),
      update: (o, p) => this.setPod(p, o),
      delete: (p) => {
        const uid = "metadata" in p ? p.metadata?.uid : undefined;
        if (uid) {
          this.pods.delete(uid);
          this.objects.deletePod(uid);
          this.enqueue(uid);
        }
      },
    });
    this.services = this.factory.forResource<Service>(resourceInfo("", "v1", "services"));
    this.factory.start();
    await this.factory.waitForCacheSync();
    await this.markGonePodsNotReady();
    this.workers.open();
    void this.pleg();
    await this.relist();
    this.resync();
    const resyncMs = this.opts.resyncPeriodMs ?? RESYNC_PERIOD_MS;
    this.timers.push(
      setInterval(
        () => void this.relist().catch((err: unknown) => this.log.warn({ err }, "relist failed")),
        this.opts.relistPeriodMs ?? Math.min(RELIST_PERIOD_MS, resyncMs),
      ),
      setInterval(() => this.resync(), resyncMs),
    );
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.factory.stop();
    this.objects.stop();
    for (const t of this.timers) clearInterval(t);
    // Let running syncs finish so nothing is left half-done, then stop what they started.
    await this.workers.drain();
    for (const st of this.states.values()) stopAllProbes(st);
    await this.recorder.flush();
  }

  /**
   * On start, before the first sync: a pod the API still shows ready whose sandbox or
   * containers are gone (the engine restarted, `make down` removed them) is reported not
   * ready at once, so endpoints drop it; its first sync (image pulls, many pods) may be slow.
   */
  private async markGonePodsNotReady(): Promise<void> {
    const sandboxes = new Set(
      (await this.runtime.listPodSandboxes())
        .filter((s) => s.state === "ready")
        .map((s) => s.pod.uid),
    );
    const running = new Set(
      (await this.runtime.listContainers())
        .filter((c) => c.state === "running")
        .map((c) => `docker://${c.id}`),
    );
    const pods = this.informer?.lister().list() ?? [];
    await Promise.all(
      pods.map(async (pod) => {
        const uid = pod.metadata?.uid;
        const status = pod.status;
        if (!uid || !status || pod.metadata.annotations?.[MIRROR_ANNOTATION]) return;
        const gone = (cs: { containerID?: string }) =>
          !sandboxes.has(uid) || !cs.containerID || !running.has(cs.containerID);
        let changed = false;
        const containerStatuses = status.containerStatuses?.map((cs) => {
          if (!cs.ready || !gone(cs)) return cs;
          changed = true;
          return { ...cs, ready: false, started: false };
        });
        if (!changed) return;
        const now = rfc3339();
        const conditions = status.conditions?.map((c) =>
          (c.type === "Ready" || c.type === "ContainersReady") && c.status === "True"
            ? { ...c, status: "False", reason: "ContainersNotReady", lastTransitionTime: now }
            : c,
        );
        try {
          await this.podClient
            .namespace(pod.metadata.namespace ?? "default")
            .patch(
              pod.metadata.name!,
              [{ op: "add", path: "/status", value: { ...status, conditions, containerStatuses } }],
              "json",
              { subresource: "status" },
            );
          this.log.info(
            { pod: `${pod.metadata.namespace}/${pod.metadata.name}` },
            "containers gone: marked not ready",
          );
        } catch (err) {
          if (!isNotFound(err)) this.log.warn({ err, uid }, "cannot mark a pod not ready");
        }
      }),
    );
  }

  /** Called with every read of this kubelet's Node: the podCIDR makes the pod network. */
  onNode(node: Node): void {
    const cidr = node.spec?.podCIDR;
    if (!cidr || cidr === this.podCIDR) return;
    this.networkChain = this.networkChain.then(async () => {
      if (cidr === this.podCIDR) return;
      try {
        await this.runtime.ensurePodNetwork({
          subnet: cidr,
          ipMasquerade: false,
          mtu: this.opts.podNetworkMTU,
        });
        this.podCIDR = cidr;
        this.log.info({ podCIDR: cidr }, "pod network ready");
        for (const uid of this.pods.keys()) this.enqueue(uid);
      } catch (err) {
        this.log.error({ err, podCIDR: cidr }, "cannot make the pod network");
      }
    });
  }

  private setPod(p: Pod, old?: Pod): void {
    const uid = p.metadata?.uid;
    // A mirror pod only shows a static pod; the manifest file is what runs.
    if (!uid || p.metadata.annotations?.[MIRROR_ANNOTATION]) return;
    this.pods.set(uid, p);
    this.objects.setPod(p);
    // As Kubernetes' pod config: a change of status alone (mostly this kubelet's own writes)
    // is no reason to sync; without this every status write would cost a second sync.
    // A readiness gate's condition, set by another controller, changes the pod's Ready.
    if (old && !podsDifferSemantically(old, p) && !readinessGateChanged(old, p)) return;
    this.enqueue(uid);
  }

  /** The PLEG: runtime events wake the pod they belong to. */
  private async pleg(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        for await (const e of this.runtime.events(this.abort.signal)) {
          // Only the pod's own worker starts its containers, and it lists them after it has:
          // a start seen while that worker runs needs no second sync.
          if (e.type === "start" && e.pod && this.workers.busy(e.pod.uid)) continue;
          if (e.pod?.uid) this.enqueue(e.pod.uid);
        }
      } catch (err) {
        if (!this.abort.signal.aborted) this.log.warn({ err }, "runtime events ended");
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /** Syncs every pod (at start, and once per resync period). */
  private resync(): void {
    // A pod syncing right now is as fresh as a resync would make it.
    for (const uid of this.pods.keys()) if (!this.workers.busy(uid)) this.enqueue(uid);
  }

  /**
   * Lists the runtime and syncs the pods whose sandboxes or containers changed since the last
   * list (a runtime event lost while the event stream reconnected), and every pod the runtime
   * holds that the API no longer has.
   */
  private async relist(): Promise<void> {
    await this.staticPods?.sync(this.pods, (uid) => {
      // A new mirror has no status yet: report it again.
      delete this.state(uid).lastStatus;
    });
    const held = new Map<string, string[]>();
    for (const o of await this.runtime.listStates()) {
      // Not the kubelet's (no pod label): never a pod to sync, let alone to clean up.
      if (!o.podUid) continue;
      const list = held.get(o.podUid);
      if (list) list.push(`${o.id}=${o.state}`);
      else held.set(o.podUid, [`${o.id}=${o.state}`]);
    }
    const seen = new Map([...held].map(([uid, parts]) => [uid, parts.sort().join(",")]));
    const changed = new Set<string>();
    for (const uid of new Set([...seen.keys(), ...this.relisted.keys()])) {
      if (seen.get(uid) !== this.relisted.get(uid) || !this.pods.has(uid)) changed.add(uid);
    }
    this.relisted = seen;
    for (const uid of changed) this.enqueue(uid);
  }

  enqueue(uid: string): void {
    this.workers.enqueue(uid);
  }

  private state(uid: string): PodState {
    let st = this.states.get(uid);
    if (!st) {
      st = newPodState();
      this.states.set(uid, st);
    }
    return st;
  }

  private podDir(uid: string): string {
    return join(this.opts.rootDir, "pods", uid);
  }

  // ---- one pod ----

  /**
   * Makes the runtime match one pod, in steps as Kubernetes' SyncPod: each step either hands
   * over to the next or ends the sync (and, where it must, asks for another one later).
   */
  private async syncPod(uid: string): Promise<void> {
    // 1. A pod gone from the API: remove what the runtime still holds of it.
    const pod = this.pods.get(uid);
    if (!pod) return this.removePod(uid);
    const st = this.state(uid);
    // 2. A pod being deleted: stop it and confirm the deletion.
    if (pod.metadata.deletionTimestamp) return this.terminatePod(pod, st);
    // 3. A pod that reached Succeeded or Failed never runs again; only late facts are reported.
    if (st.terminated) return;
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed")
      return this.refreshFinishedStatus(pod, st);
    // The pod is active on this node from its first sync (every status written carries the
    // time, as Kubernetes' status manager sets it).
    st.startTime ??= pod.status?.startTime ?? rfc3339();

    // 4. A pod active longer than spec.activeDeadlineSeconds is stopped and fails; one that
    //    has a deadline is synced again when it comes (Kubernetes' active deadline handler).
    if (this.pastDeadline(pod, st)) return this.failPod(pod, st, DEADLINE_EXCEEDED);

    // 5. No pod network yet: the pod waits.
    const hostNetwork = pod.spec?.hostNetwork === true;
    if (!hostNetwork && !this.podCIDR) {
      st.waiting.set("*", {
        reason: "ContainerCreating",
        message: "network is not ready: the node has no podCIDR yet",
      });
      await this.reportStatus(pod, st, [], []);
      return;
    }
    st.waiting.delete("*");

    // 6. Observe the runtime and decide (pod-actions.ts).
    let [sandboxes, containers] = await Promise.all([
      this.runtime.listPodSandboxes({ podUid: uid }),
      this.runtime.listContainers({ podUid: uid }),
    ]);
    const plan = computePodActions(pod, {
      sandboxes,
      containers,
      livenessFailed: [...st.livenessFailed],
      startupFailed: [...st.startupFailed],
      backoff: st.backoff,
      now: Date.now(),
    });
    st.backoff = plan.backoff;
    const grace = pod.spec?.terminationGracePeriodSeconds ?? 30;

    // 7. Kill the whole pod when the plan says so (its sandbox is gone or unusable).
    if (plan.killPod) {
      await this.executor.killPod(pod, st, containers, sandboxes, grace, plan.killPodReason ?? "");
    }
    let sandboxId = plan.sandboxId;
    let podIP = sandboxes.find((s) => s.id === sandboxId)?.ip ?? "";

    // 8. Write the volumes, on every sync while anything runs or will, so that configMap and
    //    secret contents follow updates. One that cannot be made yet leaves the pod waiting.
    let volumes: Map<string, string> | undefined;
    const source = new ObjectSource(this.opts.client, this.objects);
    const needsWork =
      plan.createSandbox ||
      plan.initContainerToStart ||
      plan.containersToStart.length > 0 ||
      plan.ephemeralContainersToStart.length > 0;
    if (needsWork || containers.some((c) => c.state === "running")) {
      try {
        volumes = await prepareVolumes({
          pod,
          dir: join(this.podDir(uid), "volumes"),
          source,
          hostIP: this.opts.nodeIP,
        });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        for (const c of pod.spec?.containers ?? [])
          st.waiting.set(c.name, { reason: "CreateContainerConfigError", message: err.message });
        this.event(pod, "Warning", "FailedMount", err.message);
        this.workers.requeue(uid, Date.now() + VOLUME_RETRY_MS);
        await this.reportStatus(pod, st, sandboxes, containers);
        return;
      }
    }

    // 9. Create the sandbox (after removing the old ones).
    if (plan.createSandbox) {
      for (const s of sandboxes) await this.runtime.removePodSandbox(s.id);
      sandboxId = await this.executor.runSandbox(pod, plan.sandboxAttempt, this.dnsFor(pod));
      sandboxes = await this.runtime.listPodSandboxes({ podUid: uid });
      podIP = sandboxes.find((s) => s.id === sandboxId)?.ip ?? "";
    }

    // 10. Remove the init containers a new sandbox runs again; kill what the plan names.
    for (const id of plan.initContainersToRemove) await this.runtime.removeContainer(id);
    for (const k of plan.containersToKill) {
      this.event(pod, "Normal", "Killing", k.message);
      await this.executor.killContainer(pod, st, k.id, findContainer(pod, k.name), podIP, grace);
    }

    // 11. Start the next init container or the app containers, then ephemeral containers.
    const starts: ContainerToStart[] = [];
    if (plan.initContainerToStart) starts.push(plan.initContainerToStart);
    starts.push(...plan.containersToStart);
    if (sandboxId && volumes) {
      const where = { sandboxId, podIP, volumes, source };
      for (const s of starts) {
        const spec = findContainer(pod, s.name);
        if (spec) await this.executor.startContainer(pod, st, spec, s, where);
      }
      for (const s of plan.ephemeralContainersToStart) {
        const spec = pod.spec?.ephemeralContainers?.find((c) => c.name === s.name);
        if (!spec) continue;
        // With a target, the debugger sees the target's processes (its PID namespace).
        const target = spec.targetContainerName
          ? containers.find((c) => c.name === spec.targetContainerName && c.state === "running")
          : undefined;
        await this.executor.startContainer(pod, st, spec, s, where, target?.id);
      }
    }

    // 12. Record the restarts held back by CrashLoopBackOff; sync again when they are due.
    for (const b of plan.backOff) {
      st.waiting.set(b.name, { reason: "CrashLoopBackOff", message: b.message });
      this.event(
        pod,
        "Warning",
        "BackOff",
        `Back-off restarting failed container ${b.name} in pod ${podKeyWithUid(pod)}`,
      );
    }
    if (plan.requeueAt) this.workers.requeue(uid, plan.requeueAt);

    // 13. Observe again: probes for what runs now, garbage collection, and the status.
    if (plan.killPod && !plan.createSandbox) {
      // The kill stopped the sandbox: the status must not show it ready.
      sandboxes = await this.runtime.listPodSandboxes({ podUid: uid });
    }
    containers = await this.runtime.listContainers({ podUid: uid });
    syncProbes(this.probeContext(), pod, st, containers, podIP);
    await this.executor.collectGarbage(containers, sandboxes, sandboxId);
    await this.reportStatus(pod, st, sandboxes, containers);
  }

  /**
   * Whether the pod has been active longer than spec.activeDeadlineSeconds (which may be
   * shortened on a running pod); if not yet, a timer syncs it again when the deadline comes.
   */
  private pastDeadline(pod: Pod, st: PodState): boolean {
    const seconds = pod.spec?.activeDeadlineSeconds;
    if (seconds === undefined || !st.startTime) return false;
    const at = Date.parse(st.startTime) + seconds * 1000;
    if (Date.now() >= at) return true;
    if (st.deadline?.at !== at) {
      clearTimeout(st.deadline?.timer);
      const uid = pod.metadata.uid ?? "";
      // A timer waits at most ~24.8 days: a longer deadline is timed again by the sync it wakes.
      const timer = setTimeout(
        () => {
          if (st.deadline?.timer === timer) st.deadline = undefined;
          this.enqueue(uid);
        },
        Math.min(at - Date.now() + 50, MAX_TIMER_MS),
      );
      timer.unref();
      st.deadline = { at, timer };
    }
    return false;
  }

  /** Stops the pod's containers for good and reports it Failed, with the reason. */
  private async failPod(
    pod: Pod,
    st: PodState,
    why: { reason: string; message: string },
  ): Promise<void> {
    const uid = pod.metadata.uid ?? "";
    if (!st.failed) {
      st.failed = why;
      this.event(pod, "Normal", why.reason, why.message);
    }
    stopAllProbes(st);
    const sandboxes = await this.runtime.listPodSandboxes({ podUid: uid });
    const containers = await this.runtime.listContainers({ podUid: uid });
    const grace = pod.spec?.terminationGracePeriodSeconds ?? 30;
    await this.executor.killPod(pod, st, containers, sandboxes, grace, why.reason);
    await this.reportStatus(
      pod,
      st,
      await this.runtime.listPodSandboxes({ podUid: uid }),
      await this.runtime.listContainers({ podUid: uid }),
    );
  }

  /**
   * A finished pod's status still takes facts the runtime reports late: Docker may mark an OOM
   * kill just after the exit. Written only while the phase stays what it was.
   */
  private async refreshFinishedStatus(pod: Pod, st: PodState): Promise<void> {
    const uid = pod.metadata.uid ?? "";
    const sandboxes = await this.runtime.listPodSandboxes({ podUid: uid });
    const containers = await this.runtime.listContainers({ podUid: uid });
    const status = this.computeStatus(pod, st, sandboxes, containers);
    if (status.phase === pod.status?.phase) await this.reportStatus(pod, st, sandboxes, containers);
  }

  /** Deletion: stop everything within the grace period, then confirm with a final DELETE. */
  private async terminatePod(pod: Pod, st: PodState): Promise<void> {
    const uid = pod.metadata.uid ?? "";
    if (!st.terminated) {
      const grace =
        pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
      const sandboxes = await this.runtime.listPodSandboxes({ podUid: uid });
      const containers = await this.runtime.listContainers({ podUid: uid });
      await this.executor.killPod(pod, st, containers, sandboxes, grace, "pod is being deleted");
      st.terminated = true;
      const after = await this.runtime.listContainers({ podUid: uid });
      await this.reportStatus(pod, st, sandboxes, after).catch(() => undefined);
    }
    try {
      await this.podClient
        .namespace(pod.metadata.namespace ?? "default")
        .delete(pod.metadata.name ?? "", { gracePeriodSeconds: 0, preconditions: { uid } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** The pod is gone from the API: remove whatever the runtime still holds of it. */
  private async removePod(uid: string): Promise<void> {
    const st = this.states.get(uid);
    this.workers.cancel(uid);
    if (st) stopAllProbes(st);
    await this.executor.removeAll(uid);
    await cleanupPodDir(this.podDir(uid));
    forgetTokens(uid);
    this.states.delete(uid);
  }

  private probeContext() {
    return {
      runtime: this.runtime,
      log: this.log,
      signal: this.abort.signal,
      event: (pod: Pod, type: "Normal" | "Warning", reason: string, message: string) =>
        this.event(pod, type, reason, message),
      enqueue: (uid: string) => this.enqueue(uid),
    };
  }

  // ---- status ----

  private async reportStatus(
    pod: Pod,
    st: PodState,
    sandboxes: SandboxStatus[],
    containers: RuntimeContainer[],
  ): Promise<void> {
    const status = this.computeStatus(pod, st, sandboxes, containers);
    const text = JSON.stringify(status);
    if (text === st.lastStatus) return;
    try {
      await this.podClient
        .namespace(pod.metadata.namespace ?? "default")
        .patch(pod.metadata.name ?? "", [{ op: "add", path: "/status", value: status }], "json", {
          subresource: "status",
        });
      st.lastStatus = text;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private computeStatus(
    pod: Pod,
    st: PodState,
    sandboxes: SandboxStatus[],
    containers: RuntimeContainer[],
  ): PodStatus {
    return computePodStatus({
      pod,
      sandboxes,
      containers,
      waiting: st.waiting,
      ready: st.ready,
      started: st.started,
      startTime: st.startTime,
      failed: st.failed,
      nodeIP: this.opts.nodeIP,
      now: Date.now(),
    });
  }

  /** The pod's resolv.conf (pod-dns.ts decides); what it had to leave out becomes an event. */
  private dnsFor(pod: Pod): DNSConfig {
    const { dns, warnings } = podDNSConfig({
      namespace: pod.metadata?.namespace ?? "default",
      spec: pod.spec ?? {},
      clusterDNS: this.opts.clusterDNS,
      clusterDomain: this.opts.clusterDomain,
      hostDNS: this.hostDNS(),
    });
    for (const w of warnings) this.event(pod, "Warning", w.reason, w.message);
    return dns;
  }

  /** The node's resolver, read again for each new sandbox (as the kubelet re-reads the file). */
  private hostDNS(): DNSConfig {
    if (!this.opts.resolvConf) return noDNS;
    try {
      return parseResolvConf(readFileSync(this.opts.resolvConf, "utf8"));
    } catch (err) {
      this.log.warn({ path: this.opts.resolvConf, err: String(err) }, "cannot read --resolv-conf");
      return noDNS;
    }
  }

  private event(pod: Pod, type: "Normal" | "Warning", reason: string, message: string): void {
    if (this.abort.signal.aborted) return;
    this.recorder.event(
      { apiVersion: "v1", kind: "Pod", metadata: pod.metadata ?? {} },
      type,
      reason,
      message,
    );
  }
}

export async function ensureRootDir(rootDir: string): Promise<void> {
  await mkdir(join(rootDir, "pods"), { recursive: true });
}

/** Whether anything but status (and the resourceVersion and managedFields it bumps) changed. */
function podsDifferSemantically(a: Pod, b: Pod): boolean {
  const rest = (p: Pod) => {
    const { resourceVersion: _rv, managedFields: _mf, ...meta } = p.metadata ?? {};
    return JSON.stringify([meta, p.spec]);
  };
  return rest(a) !== rest(b);
}

/** As Kubernetes' messages name a pod: `name_namespace(uid)`. */
function podKeyWithUid(pod: Pod): string {
  const m = pod.metadata;
  return `${m?.name ?? ""}_${m?.namespace ?? "default"}(${m?.uid ?? ""})`;
}
