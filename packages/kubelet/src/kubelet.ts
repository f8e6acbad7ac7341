// Kubelet: watches this node's pods and makes the runtime match them. One worker per pod UID
// (serialized per pod, concurrent across pods), woken by the pod watch, by runtime events
// (the PLEG) and by a periodic relist; each sync decides with computePodActions, carries the
// plan out, and reports pods/status.
import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { qosClass, resourceInfo, rfc3339, type Container, type PodStatus } from "@skiff/api";
import type { Node, Pod, Service } from "./objects.js";
import { serviceEnv } from "./service-env.js";
import {
  EventRecorder,
  SharedInformerFactory,
  isNotFound,
  type Logger,
  type ResourceClient,
  type RestClient,
  type SharedInformer,
} from "@skiff/client";
import { computePodActions, type BackoffEntry, type ContainerToStart } from "./pod-actions.js";
import {
  ConfigError,
  ObjectSource,
  forgetTokens,
  cleanupPodDir,
  mountsFor,
  prepareVolumes,
  resolveEnv,
} from "./pod-config.js";
import { MIRROR_ANNOTATION, mirrorPod, readStaticPods } from "./static-pods.js";
import { noDNS, parseResolvConf, podDNSConfig } from "./pod-dns.js";
import { ProbeWorker, runHandler, type ProbeKind } from "./probes.js";
import type {
  ContainerRuntime,
  ContainerStatus as RuntimeContainer,
  DNSConfig,
  PodRef,
  SandboxStatus,
} from "./runtime/runtime.js";

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
  /** How often every pod is synced again regardless of events (default 10 s). */
  resyncPeriodMs?: number;
  /** A directory of static pod manifests. */
  podManifestPath?: string;
}

interface Waiting {
  reason: string;
  message: string;
}

/** What the kubelet remembers about one pod between syncs (all of it rebuildable). */
interface PodState {
  backoff: Record<string, BackoffEntry>;
  imageBackoff: Map<string, { until: number; delayMs: number }>;
  waiting: Map<string, Waiting>;
  probes: Map<string, ProbeWorker[]>;
  /** By container id. */
  ready: Map<string, boolean>;
  started: Map<string, boolean>;
  livenessFailed: Set<string>;
  startupFailed: Set<string>;
  startTime?: string;
  lastStatus?: string;
  requeue?: NodeJS.Timeout;
  terminated?: boolean;
}

const IMAGE_BACKOFF_INITIAL_MS = 10_000;
const IMAGE_BACKOFF_MAX_MS = 300_000;

export class Kubelet {
  private readonly pods = new Map<string, Pod>();
  private readonly states = new Map<string, PodState>();
  private readonly workers = new Map<string, { again: boolean }>();
  private readonly podClient: ResourceClient<Pod>;
  private readonly recorder: EventRecorder;
  private readonly factory: SharedInformerFactory;
  private informer: SharedInformer<Pod> | undefined;
  /** Every Service, for the service environment variables of new containers. */
  private services: SharedInformer<Service> | undefined;
  private readonly abort = new AbortController();
  private timers: NodeJS.Timeout[] = [];
  private podCIDR: string | undefined;
  private networkChain: Promise<void> = Promise.resolve();
  private synced = false;
  private readonly staticPods = new Set<string>();
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
          this.enqueue(uid);
        }
      },
    });
    this.services = this.factory.forResource<Service>(resourceInfo("", "v1", "services"));
    this.factory.start();
    await this.factory.waitForCacheSync();
    await this.markGonePodsNotReady();
    this.synced = true;
    void this.pleg();
    await this.relist();
    this.timers.push(
      setInterval(
        () => void this.relist().catch((err: unknown) => this.log.warn({ err }, "relist failed")),
        this.opts.resyncPeriodMs ?? 10_000,
      ),
    );
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.factory.stop();
    for (const t of this.timers) clearInterval(t);
    // Let running syncs finish so nothing is left half-done, then stop what they started.
    while (this.workers.size > 0) await new Promise((r) => setTimeout(r, 50));
    for (const st of this.states.values()) {
      if (st.requeue) clearTimeout(st.requeue);
      for (const ws of st.probes.values()) for (const w of ws) w.stop();
      st.probes.clear();
    }
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
    // As Kubernetes' pod config: a change of status alone (mostly this kubelet's own writes)
    // is no reason to sync; without this every status write would cost a second sync.
    if (old && !podsDifferSemantically(old, p)) return;
    this.enqueue(uid);
  }

  /** The PLEG: runtime events wake the pod they belong to. */
  private async pleg(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        for await (const e of this.runtime.events(this.abort.signal)) {
          // Only the pod's own worker starts its containers, and it lists them after it has:
          // a start seen while that worker runs needs no second sync.
          if (e.type === "start" && e.pod && this.workers.has(e.pod.uid)) continue;
          if (e.pod?.uid) this.enqueue(e.pod.uid);
        }
      } catch (err) {
        if (!this.abort.signal.aborted) this.log.warn({ err }, "runtime events ended");
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /** Syncs every known pod, and every pod the runtime holds that the API no longer has. */
  private async relist(): Promise<void> {
    if (this.opts.podManifestPath) await this.syncStaticPods(this.opts.podManifestPath);
    const uids = new Set(this.pods.keys());
    for (const s of await this.runtime.listPodSandboxes()) uids.add(s.pod.uid);
    for (const c of await this.runtime.listContainers()) uids.add(c.pod.uid);
    // A pod syncing right now is as fresh as a resync would make it.
    for (const uid of uids) if (!this.workers.has(uid)) this.enqueue(uid);
  }

  /** Runs the manifests' pods and keeps a mirror pod in the API for each. */
  private async syncStaticPods(dir: string): Promise<void> {
    const pods = await readStaticPods(dir, this.opts.nodeName);
    const seen = new Set<string>();
    const nodes = this.opts.client.resource<Node>(resourceInfo("", "v1", "nodes"));
    for (const pod of pods) {
      const uid = pod.metadata.uid!;
      seen.add(uid);
      this.staticPods.add(uid);
      if (!this.pods.has(uid)) this.pods.set(uid, pod);
      const ns = this.podClient.namespace(pod.metadata.namespace ?? "default");
      try {
        const mirror = await ns.get(pod.metadata.name!).catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw err;
        });
        // A mirror of another manifest, or one being deleted (nothing else would finish a
        // graceful delete of it), is replaced: the manifest, not the API, says what runs.
        const stale =
          mirror !== undefined &&
          (mirror.metadata.annotations?.[MIRROR_ANNOTATION] !== uid ||
            mirror.metadata.deletionTimestamp !== undefined);
        if (stale) await ns.delete(mirror.metadata.name!, { gracePeriodSeconds: 0 });
        if (!mirror || stale) {
          const node = await nodes.get(this.opts.nodeName);
          await ns.create(mirrorPod(pod, { name: this.opts.nodeName, uid: node.metadata.uid! }));
          // A new mirror has no status yet: report it again.
          delete this.state(uid).lastStatus;
        }
      } catch (err) {
        this.log.warn({ err, pod: podKey(pod) }, "cannot keep the mirror pod");
      }
    }
    for (const uid of [...this.staticPods]) {
      if (seen.has(uid)) continue;
      const pod = this.pods.get(uid);
      this.staticPods.delete(uid);
      this.pods.delete(uid);
      if (pod) {
        await this.podClient
          .namespace(pod.metadata.namespace ?? "default")
          .delete(pod.metadata.name!, { gracePeriodSeconds: 0 })
          .catch(() => undefined);
      }
    }
  }

  enqueue(uid: string): void {
    if (!this.synced || this.abort.signal.aborted) return;
    const w = this.workers.get(uid);
    if (w) {
      w.again = true;
      return;
    }
    const worker = { again: true };
    this.workers.set(uid, worker);
    void (async () => {
      while (worker.again && !this.abort.signal.aborted) {
        worker.again = false;
        try {
          await this.syncPod(uid);
        } catch (err) {
          this.log.warn({ err, uid }, "pod sync failed; retrying");
          this.requeue(uid, Date.now() + 2000);
        }
      }
      this.workers.delete(uid);
    })();
  }

  private requeue(uid: string, at: number): void {
    if (this.abort.signal.aborted) return;
    const st = this.state(uid);
    if (st.requeue) clearTimeout(st.requeue);
    st.requeue = setTimeout(() => this.enqueue(uid), Math.max(0, at - Date.now()) + 50);
  }

  private state(uid: string): PodState {
    let st = this.states.get(uid);
    if (!st) {
      st = {
        backoff: {},
        imageBackoff: new Map(),
        waiting: new Map(),
        probes: new Map(),
        ready: new Map(),
        started: new Map(),
        livenessFailed: new Set(),
        startupFailed: new Set(),
      };
      this.states.set(uid, st);
    }
    return st;
  }

  private podDir(uid: string): string {
    return join(this.opts.rootDir, "pods", uid);
  }

  // ---- one pod ----

  private async syncPod(uid: string): Promise<void> {
    const pod = this.pods.get(uid);
    if (!pod) return this.removePod(uid);
    const st = this.state(uid);
    if (pod.metadata?.deletionTimestamp) return this.terminatePod(pod, st);
    // A pod that reached Succeeded or Failed never runs again.
    if (st.terminated) return;
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed")
      return this.refreshFinishedStatus(pod, st);
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
    st.startTime ??= pod.status?.startTime ?? rfc3339();
    const ref = podRef(pod);
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

    if (plan.killPod) {
      await this.killAll(pod, st, containers, sandboxes, grace, plan.killPodReason ?? "");
    }
    let sandboxId = plan.sandboxId;
    let podIP = sandboxes.find((s) => s.id === sandboxId)?.ip ?? "";
    let volumes: Map<string, string> | undefined;
    const source = new ObjectSource(this.opts.client);
    const needsWork =
      plan.createSandbox ||
      plan.initContainerToStart ||
      plan.containersToStart.length > 0 ||
      plan.ephemeralContainersToStart.length > 0;
    if (needsWork || containers.some((c) => c.state === "running")) {
      // Rewritten on every sync, so configMap and secret contents follow updates.
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
        this.requeue(uid, Date.now() + 5000);
        await this.reportStatus(pod, st, sandboxes, containers);
        return;
      }
    }
    if (plan.createSandbox) {
      for (const s of sandboxes) await this.runtime.removePodSandbox(s.id);
      sandboxId = await this.runtime.runPodSandbox({
        pod: ref,
        attempt: plan.sandboxAttempt,
        hostname: pod.spec?.hostname ?? pod.metadata?.name ?? "",
        hostNetwork,
        hostIPC: pod.spec?.hostIPC,
        hostPID: pod.spec?.hostPID,
        dns: this.dnsFor(pod),
        portMappings: (pod.spec?.containers ?? []).flatMap((c) =>
          (c.ports ?? [])
            .filter((p) => p.hostPort)
            .map((p) => ({
              containerPort: p.containerPort,
              hostPort: p.hostPort!,
              hostIP: p.hostIP,
              protocol: (p.protocol ?? "TCP") as "TCP",
            })),
        ),
      });
      sandboxes = await this.runtime.listPodSandboxes({ podUid: uid });
      podIP = sandboxes.find((s) => s.id === sandboxId)?.ip ?? "";
    }
    for (const id of plan.initContainersToRemove) await this.runtime.removeContainer(id);
    for (const k of plan.containersToKill) {
      const spec = findContainer(pod, k.name);
      this.event(pod, "Normal", "Killing", k.message);
      await this.killContainer(pod, st, k.id, spec, podIP, grace);
    }
    const starts: ContainerToStart[] = [];
    if (plan.initContainerToStart) starts.push(plan.initContainerToStart);
    starts.push(...plan.containersToStart);
    if (sandboxId && volumes) {
      for (const s of starts) {
        const spec = findContainer(pod, s.name);
        if (spec) await this.startContainer(pod, st, sandboxId, podIP, spec, s, volumes, source);
      }
      for (const s of plan.ephemeralContainersToStart) {
        const spec = pod.spec?.ephemeralContainers?.find((c) => c.name === s.name);
        if (!spec) continue;
        // With a target, the debugger sees the target's processes (its PID namespace).
        const target = spec.targetContainerName
          ? containers.find((c) => c.name === spec.targetContainerName && c.state === "running")
          : undefined;
        await this.startContainer(pod, st, sandboxId, podIP, spec, s, volumes, source, target?.id);
      }
    }
    for (const b of plan.backOff) {
      st.waiting.set(b.name, { reason: "CrashLoopBackOff", message: b.message });
      this.event(
        pod,
        "Warning",
        "BackOff",
        `Back-off restarting failed container ${b.name} in pod ${podKeyWithUid(pod)}`,
      );
    }
    if (plan.requeueAt) this.requeue(uid, plan.requeueAt);
    if (plan.killPod && !plan.createSandbox) {
      // The kill stopped the sandbox: the status must not show it ready.
      sandboxes = await this.runtime.listPodSandboxes({ podUid: uid });
    }

    containers = await this.runtime.listContainers({ podUid: uid });
    this.syncProbes(pod, st, containers, podIP);
    await this.collectGarbage(containers, sandboxes, sandboxId);
    await this.reportStatus(pod, st, sandboxes, containers);
  }

  /**
   * A finished pod's status still takes facts the runtime reports late: Docker may mark an OOM
   * kill just after the exit. Written only while the phase stays what it was.
   */
  private async refreshFinishedStatus(pod: Pod, st: PodState): Promise<void> {
    const uid = pod.metadata!.uid!;
    const sandboxes = await this.runtime.listPodSandboxes({ podUid: uid });
    const containers = await this.runtime.listContainers({ podUid: uid });
    const status = this.computeStatus(pod, st, sandboxes, containers);
    if (status.phase === pod.status?.phase) await this.reportStatus(pod, st, sandboxes, containers);
  }

  private async startContainer(
    pod: Pod,
    st: PodState,
    sandboxId: string,
    podIP: string,
    c: Container,
    s: ContainerToStart,
    volumes: Map<string, string>,
    source: ObjectSource,
    /** An ephemeral container's target: it joins that container's PID namespace. */
    pidOfContainerId?: string,
  ): Promise<void> {
    const image = c.image ?? "";
    const uid = pod.metadata!.uid!;
    if (!(await this.ensureImage(pod, st, c, image))) return;
    let env: { name: string; value: string }[];
    let mounts;
    try {
      const services = serviceEnv(
        this.services?.lister().list() ?? [],
        pod.metadata?.namespace ?? "default",
        pod.spec?.enableServiceLinks ?? true,
      );
      env = await resolveEnv(pod, c, source, this.opts.nodeIP, services);
      mounts = mountsFor(c, volumes);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      st.waiting.set(c.name, { reason: "CreateContainerConfigError", message: err.message });
      this.event(pod, "Warning", "Failed", `Error: ${err.message}`);
      this.requeue(uid, Date.now() + 5000);
      return;
    }
    const id = await this.runtime.createContainer({
      pod: podRef(pod),
      sandboxId,
      container: c,
      attempt: s.attempt,
      hash: s.hash,
      env,
      mounts,
      hostNetwork: pod.spec?.hostNetwork,
      hostIPC: pod.spec?.hostIPC,
      hostPID: pod.spec?.hostPID,
      shareProcessNamespace: pod.spec?.shareProcessNamespace,
      pidOfContainerId,
    });
    this.event(pod, "Normal", "Created", `Created container ${c.name}`);
    await this.runtime.startContainer(id);
    this.event(pod, "Normal", "Started", `Started container ${c.name}`);
    st.waiting.delete(c.name);
    const postStart = c.lifecycle?.postStart;
    if (postStart) {
      const failure = await runHandler(
        postStart,
        { runtime: this.runtime, containerId: id, container: c, podIP },
        30_000,
      );
      if (failure) {
        this.event(pod, "Warning", "FailedPostStartHook", failure);
        await this.runtime.stopContainer(id, 0);
      }
    }
  }

  /** Applies imagePullPolicy; false leaves the container waiting (and the pod requeued). */
  private async ensureImage(pod: Pod, st: PodState, c: Container, image: string): Promise<boolean> {
    const uid = pod.metadata!.uid!;
    const policy = c.imagePullPolicy ?? defaultPullPolicy(image);
    const present = await this.runtime.imageStatus(image);
    if (present && policy !== "Always") {
      this.event(pod, "Normal", "Pulled", `Container image "${image}" already present on machine`);
      return true;
    }
    if (policy === "Never") {
      const message = `Container image "${image}" is not present with pull policy of Never`;
      st.waiting.set(c.name, { reason: "ErrImageNeverPull", message });
      this.event(pod, "Warning", "ErrImageNeverPull", message);
      this.requeue(uid, Date.now() + 10_000);
      return false;
    }
    const b = st.imageBackoff.get(image);
    if (b && Date.now() < b.until) {
      const message = `Back-off pulling image "${image}"`;
      st.waiting.set(c.name, { reason: "ImagePullBackOff", message });
      this.event(pod, "Normal", "BackOff", message);
      this.requeue(uid, b.until);
      return false;
    }
    this.event(pod, "Normal", "Pulling", `Pulling image "${image}"`);
    const started = Date.now();
    try {
      await this.runtime.pullImage(image);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const delayMs = b ? Math.min(b.delayMs * 2, IMAGE_BACKOFF_MAX_MS) : IMAGE_BACKOFF_INITIAL_MS;
      st.imageBackoff.set(image, { until: Date.now() + delayMs, delayMs });
      st.waiting.set(c.name, { reason: "ErrImagePull", message });
      this.event(pod, "Warning", "Failed", `Failed to pull image "${image}": ${message}`);
      this.event(pod, "Warning", "Failed", "Error: ErrImagePull");
      this.requeue(uid, Date.now() + delayMs);
      return false;
    }
    st.imageBackoff.delete(image);
    this.event(
      pod,
      "Normal",
      "Pulled",
      `Successfully pulled image "${image}" in ${Date.now() - started}ms`,
    );
    return true;
  }

  /** preStop, then SIGTERM and SIGKILL once the grace period (which preStop uses up) ends. */
  private async killContainer(
    pod: Pod,
    st: PodState,
    id: string,
    c: Container | undefined,
    podIP: string,
    graceSeconds: number,
  ): Promise<void> {
    this.stopProbes(st, id);
    const started = Date.now();
    const preStop = c?.lifecycle?.preStop;
    if (preStop && c) {
      const failure = await runHandler(
        preStop,
        { runtime: this.runtime, containerId: id, container: c, podIP },
        graceSeconds * 1000,
      );
      if (failure) this.event(pod, "Warning", "FailedPreStopHook", failure);
    }
    const left = Math.max(0, graceSeconds - Math.floor((Date.now() - started) / 1000));
    await this.runtime.stopContainer(id, left);
  }

  private async killAll(
    pod: Pod,
    st: PodState,
    containers: RuntimeContainer[],
    sandboxes: SandboxStatus[],
    graceSeconds: number,
    reason: string,
  ): Promise<void> {
    const podIP = sandboxes.find((s) => s.state === "ready")?.ip ?? "";
    await Promise.all(
      containers
        .filter((c) => c.state === "running" || c.state === "unknown")
        .map((c) => {
          this.event(pod, "Normal", "Killing", `Stopping container ${c.name}`);
          return this.killContainer(pod, st, c.id, findContainer(pod, c.name), podIP, graceSeconds);
        }),
    );
    for (const s of sandboxes) if (s.state === "ready") await this.runtime.stopPodSandbox(s.id, 0);
    this.log.info({ pod: podKey(pod), reason }, "pod killed");
  }

  /** Deletion: stop everything within the grace period, then confirm with a final DELETE. */
  private async terminatePod(pod: Pod, st: PodState): Promise<void> {
    const uid = pod.metadata!.uid!;
    if (!st.terminated) {
      const grace =
        pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
      const sandboxes = await this.runtime.listPodSandboxes({ podUid: uid });
      const containers = await this.runtime.listContainers({ podUid: uid });
      await this.killAll(pod, st, containers, sandboxes, grace, "pod is being deleted");
      st.terminated = true;
      const after = await this.runtime.listContainers({ podUid: uid });
      await this.reportStatus(pod, st, sandboxes, after).catch(() => undefined);
    }
    try {
      await this.podClient
        .namespace(pod.metadata!.namespace ?? "default")
        .delete(pod.metadata!.name!, { gracePeriodSeconds: 0, preconditions: { uid } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** The pod is gone from the API: remove whatever the runtime still holds of it. */
  private async removePod(uid: string): Promise<void> {
    const st = this.states.get(uid);
    if (st) {
      if (st.requeue) clearTimeout(st.requeue);
      for (const id of st.probes.keys()) this.stopProbes(st, id);
    }
    for (const c of await this.runtime.listContainers({ podUid: uid })) {
      if (c.state === "running") await this.runtime.stopContainer(c.id, 0);
      await this.runtime.removeContainer(c.id);
    }
    for (const s of await this.runtime.listPodSandboxes({ podUid: uid })) {
      await this.runtime.stopPodSandbox(s.id, 0);
      await this.runtime.removePodSandbox(s.id);
    }
    await cleanupPodDir(this.podDir(uid));
    forgetTokens(uid);
    this.states.delete(uid);
  }

  /** Keeps the newest dead instance of each container (for `logs --previous`); removes older ones. */
  private async collectGarbage(
    containers: RuntimeContainer[],
    sandboxes: SandboxStatus[],
    sandboxId: string | undefined,
  ): Promise<void> {
    const seen = new Set<string>();
    for (const c of [...containers].sort((a, b) => b.attempt - a.attempt)) {
      if (c.state !== "exited") continue;
      if (seen.has(c.name)) await this.runtime.removeContainer(c.id);
      seen.add(c.name);
    }
    // The newest sandbox stays even when stopped: its attempt tells a finished pod from a new one.
    const newest = [...sandboxes].sort((a, b) => b.attempt - a.attempt)[0];
    for (const s of sandboxes) {
      if (s.id !== sandboxId && s.id !== newest?.id && s.state !== "ready") {
        await this.runtime.removePodSandbox(s.id);
      }
    }
  }

  // ---- probes ----

  private syncProbes(pod: Pod, st: PodState, containers: RuntimeContainer[], podIP: string): void {
    if (this.abort.signal.aborted) return;
    const running = new Set(containers.filter((c) => c.state === "running").map((c) => c.id));
    for (const id of st.probes.keys()) if (!running.has(id)) this.stopProbes(st, id);
    for (const c of containers) {
      if (c.state !== "running" || st.probes.has(c.id)) continue;
      const spec = pod.spec?.containers.find((x) => x.name === c.name);
      if (!spec) continue;
      const workers: ProbeWorker[] = [];
      const target = { runtime: this.runtime, containerId: c.id, container: spec, podIP };
      // Liveness and readiness wait until a startup probe (if any) has succeeded.
      const started = () => !spec.startupProbe || st.started.get(c.id) === true;
      const add = (kind: ProbeKind, probe: typeof spec.livenessProbe) => {
        if (!probe) return;
        workers.push(
          new ProbeWorker(
            kind,
            probe,
            target,
            (w, message) => this.onProbe(pod, st, c.id, spec.name, w, message),
            (w, message) =>
              this.event(
                pod,
                "Warning",
                "Unhealthy",
                `${capitalize(w.kind)} probe failed: ${message}`,
              ),
            kind === "startup" ? undefined : started,
          ),
        );
      };
      add("startup", spec.startupProbe);
      add("liveness", spec.livenessProbe);
      add("readiness", spec.readinessProbe);
      st.probes.set(c.id, workers);
    }
  }

  private onProbe(
    pod: Pod,
    st: PodState,
    id: string,
    name: string,
    w: ProbeWorker,
    message: string,
  ) {
    if (w.kind === "readiness") st.ready.set(id, w.result === true);
    if (w.kind === "startup") {
      st.started.set(id, w.result === true);
      if (w.result === false) st.startupFailed.add(id);
    }
    if (w.kind === "liveness" && w.result === false) {
      st.livenessFailed.add(id);
      this.log.info({ pod: podKey(pod), container: name, message }, "liveness probe failed");
    }
    this.enqueue(pod.metadata!.uid!);
  }

  private stopProbes(st: PodState, id: string): void {
    for (const w of st.probes.get(id) ?? []) w.stop();
    st.probes.delete(id);
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
        .namespace(pod.metadata!.namespace ?? "default")
        .patch(pod.metadata!.name!, [{ op: "add", path: "/status", value: status }], "json", {
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
    const spec = pod.spec!;
    const policy = spec.restartPolicy ?? "Always";
    const byName = new Map<string, RuntimeContainer[]>();
    for (const c of [...containers].sort(
      (a, b) => b.attempt - a.attempt || b.createdAt.localeCompare(a.createdAt),
    )) {
      const list = byName.get(c.name) ?? [];
      list.push(c);
      byName.set(c.name, list);
    }
    const podWaiting = st.waiting.get("*");
    const statusOf = (c: Container, init: boolean) => {
      const [latest, previous] = byName.get(c.name) ?? [];
      const waiting = st.waiting.get(c.name) ?? podWaiting;
      const out: Record<string, unknown> = {
        name: c.name,
        ready: false,
        restartCount: latest?.attempt ?? 0,
        image: c.image ?? "",
        imageID: latest?.imageID ?? "",
        started: false,
      };
      if (latest) out.containerID = `docker://${latest.id}`;
      const terminated = (x: RuntimeContainer) => ({
        terminated: {
          exitCode: x.exitCode ?? 0,
          reason: x.reason ?? "Error",
          ...(x.message ? { message: x.message } : {}),
          ...(x.startedAt ? { startedAt: rfc3339(Date.parse(x.startedAt)) } : {}),
          ...(x.finishedAt ? { finishedAt: rfc3339(Date.parse(x.finishedAt)) } : {}),
          containerID: `docker://${x.id}`,
        },
      });
      if (latest?.state === "running") {
        const started = c.startupProbe ? st.started.get(latest.id) === true : true;
        out.state = {
          running: { startedAt: rfc3339(Date.parse(latest.startedAt ?? latest.createdAt)) },
        };
        out.started = started;
        out.ready = init
          ? false
          : started && (c.readinessProbe ? st.ready.get(latest.id) === true : true);
        if (previous) out.lastState = terminated(previous);
      } else if (waiting && (!latest || waiting.reason === "CrashLoopBackOff")) {
        out.state = { waiting: waiting };
        if (latest) out.lastState = terminated(latest);
      } else if (latest?.state === "exited") {
        out.state = terminated(latest);
        out.ready = false;
        if (previous) out.lastState = terminated(previous);
      } else {
        out.state = {
          waiting: {
            reason: init || !spec.initContainers?.length ? "ContainerCreating" : "PodInitializing",
          },
        };
      }
      if (!out.lastState) out.lastState = {};
      return out;
    };
    const initStatuses = (spec.initContainers ?? []).map((c) => statusOf(c, true));
    const containerStatuses = spec.containers.map((c) => statusOf(c, false));
    // Ephemeral containers are reported, never counted in the phase or readiness.
    const ephemeralStatuses = (spec.ephemeralContainers ?? []).map((c) => statusOf(c, true));
    const stateOf = (s: Record<string, unknown>) =>
      s.state as Record<string, { exitCode?: number } | undefined>;
    const initDone =
      initStatuses.every((s) => stateOf(s).terminated?.exitCode === 0) ||
      containerStatuses.some(
        (s) =>
          stateOf(s).running ||
          stateOf(s).terminated ||
          (s.lastState as Record<string, unknown>).terminated,
      );
    const initFailed = initStatuses.some((s) => (stateOf(s).terminated?.exitCode ?? 0) !== 0);

    let phase = "Pending";
    if (!initDone) {
      phase = initFailed && policy === "Never" ? "Failed" : "Pending";
    } else {
      let running = 0,
        waiting = 0,
        stopped = 0,
        succeeded = 0;
      for (const s of containerStatuses) {
        const state = stateOf(s);
        if (state.running) running++;
        else if (state.terminated) {
          stopped++;
          if (state.terminated.exitCode === 0) succeeded++;
        } else if ((s.lastState as Record<string, unknown>).terminated) stopped++;
        else waiting++;
      }
      if (waiting > 0) phase = "Pending";
      else if (running > 0) phase = "Running";
      else if (stopped > 0) {
        if (policy === "Always") phase = "Running";
        else if (stopped === succeeded) phase = "Succeeded";
        else phase = policy === "OnFailure" ? "Running" : "Failed";
      }
    }
    const now = rfc3339();
    const old = new Map((pod.status?.conditions ?? []).map((c) => [c.type, c]));
    const cond = (type: string, ok: boolean, reason?: string) => {
      const status = ok ? "True" : "False";
      const prev = old.get(type);
      return {
        type,
        status,
        lastProbeTime: null,
        lastTransitionTime: prev?.status === status ? prev.lastTransitionTime : now,
        ...(ok || !reason ? {} : { reason }),
      };
    };
    const containersReady = containerStatuses.every((s) => s.ready === true);
    const terminal = phase === "Succeeded" || phase === "Failed";
    const sandbox = sandboxes.find((s) => s.state === "ready");
    const podIP = spec.hostNetwork ? this.opts.nodeIP : sandbox?.ip;
    const status: Record<string, unknown> = {
      phase,
      conditions: [
        cond("PodReadyToStartContainers", !!sandbox || terminal),
        cond("Initialized", initDone, "ContainersNotInitialized"),
        cond(
          "Ready",
          containersReady && !terminal,
          terminal ? "PodCompleted" : "ContainersNotReady",
        ),
        cond(
          "ContainersReady",
          containersReady && !terminal,
          terminal ? "PodCompleted" : "ContainersNotReady",
        ),
        cond("PodScheduled", true),
      ],
      hostIP: this.opts.nodeIP,
      hostIPs: [{ ip: this.opts.nodeIP }],
      startTime: st.startTime,
      qosClass: qosClass(pod),
      containerStatuses,
    };
    if (podIP && !terminal) {
      status.podIP = podIP;
      status.podIPs = [{ ip: podIP }];
    } else if (pod.status?.podIP) {
      status.podIP = pod.status.podIP;
      status.podIPs = pod.status.podIPs;
    }
    if (initStatuses.length) status.initContainerStatuses = initStatuses;
    if (ephemeralStatuses.length) status.ephemeralContainerStatuses = ephemeralStatuses;
    return status as PodStatus;
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

function podRef(pod: Pod): PodRef {
  return {
    uid: pod.metadata?.uid ?? "",
    namespace: pod.metadata?.namespace ?? "default",
    name: pod.metadata?.name ?? "",
  };
}

function podKey(pod: Pod): string {
  return `${pod.metadata?.namespace ?? "default"}/${pod.metadata?.name ?? ""}`;
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

function findContainer(pod: Pod, name: string): Container | undefined {
  return [
    ...(pod.spec?.initContainers ?? []),
    ...(pod.spec?.containers ?? []),
    ...(pod.spec?.ephemeralContainers ?? []),
  ].find((c) => c.name === name);
}

/** Kubernetes: Always for `:latest` or no tag, else IfNotPresent. */
export function defaultPullPolicy(image: string): "Always" | "IfNotPresent" {
  if (image.includes("@")) return "IfNotPresent";
  const last = image.slice(image.lastIndexOf("/") + 1);
  const colon = last.indexOf(":");
  return colon < 0 || last.slice(colon + 1) === "latest" ? "Always" : "IfNotPresent";
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
