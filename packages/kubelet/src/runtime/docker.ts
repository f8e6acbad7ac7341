// DockerRuntime: the ContainerRuntime on a real Docker engine. A pod is a sandbox container
// (docker-init + `sleep`, holding the network and IPC namespaces) plus one Docker container
// per Kubernetes container, joined to the sandbox with `container:<sandboxId>` modes.
// This class keeps the engine's objects (network, sandboxes, containers, events); what it
// asks the engine to create is docker-specs.ts, images are docker-images.ts, logs, exec and
// attach docker-streams.ts, stats docker-stats.ts, and reading the engine's JSON engine-json.ts.
import { writeFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import Docker from "dockerode";
import { PodNetworkConflictError, RuntimeError, RuntimeNotFoundError } from "../errors.js";
import { DockerImages } from "./docker-images.js";
import { containerBody, parseSubnet, sandboxBody } from "./docker-specs.js";
import { toContainerStats, type CPUSample } from "./docker-stats.js";
import { attachSession, execSession, logStream } from "./docker-streams.js";
import { arr, call, labelsOf, num, rec, statusOf, str, time, wrap } from "./engine-json.js";
import { jsonLines } from "./streams.js";
import {
  LABEL_ATTEMPT,
  LABEL_CONTAINER_NAME,
  LABEL_HASH,
  LABEL_POD_UID,
  LABEL_TYPE,
  SANDBOX_CONTAINER_NAME,
  podOfLabels,
  runtimeContainerName,
  runtimeLabels,
  type AttachOptions,
  type ContainerConfig,
  type ContainerRuntime,
  type ContainerState,
  type ContainerStats,
  type ContainerStatus,
  type ExecOptions,
  type ExecSession,
  type ListFilter,
  type ObjectState,
  type LogOptions,
  type PodNetwork,
  type PodNetworkConfig,
  type PodRef,
  type RuntimeEvent,
  type SandboxConfig,
  type SandboxStatus,
} from "./runtime.js";

export interface DockerRuntimeOptions {
  socketPath?: string;
  /** Runs `sleep infinity` under docker-init; needs nothing but busybox. */
  sandboxImage?: string;
  /** The Docker bridge network that holds the node's podCIDR. */
  networkName?: string;
  /**
   * Labels stamped on every object this runtime creates and required on every object it
   * lists, so several kubelets (or test runs) can share one engine without adopting each
   * other's containers.
   */
  ownerLabels?: Record<string, string>;
}

export const DEFAULT_SANDBOX_IMAGE = "skiff.local/busybox:1.36";
export const DEFAULT_NETWORK_NAME = "skiff-pods";

// The bridge driver's options the pod network sets (docker network create -o).
const MASQUERADE_OPTION = "com.docker.network.bridge.enable_ip_masquerade";
const MTU_OPTION = "com.docker.network.driver.mtu";

export class DockerRuntime implements ContainerRuntime {
  readonly type = "docker";
  /** The dockerode client (the project's Docker library). */
  readonly docker: Docker;
  readonly sandboxImage: string;
  readonly networkName: string;
  private readonly ownerLabels: Record<string, string>;
  private readonly images: DockerImages;
  // The previous CPU sample per container, to turn cumulative usage into a rate.
  private readonly cpuSamples = new Map<string, CPUSample>();
  /**
   * Containers the engine reported an "oom" event for. Docker 20.10 sets State.OOMKilled only
   * when containerd's OOM event reaches it before the exit; under load it may come just after,
   * so the event stream is the second witness.
   */
  private readonly oomEvents = new Set<string>();

  constructor(opts: DockerRuntimeOptions = {}) {
    this.docker = new Docker({ socketPath: opts.socketPath ?? "/var/run/docker.sock" });
    this.sandboxImage = opts.sandboxImage ?? DEFAULT_SANDBOX_IMAGE;
    this.networkName = opts.networkName ?? DEFAULT_NETWORK_NAME;
    this.ownerLabels = { ...opts.ownerLabels };
    this.images = new DockerImages(this.docker);
  }

  // ---- pod network ----

  async ensurePodNetwork(config: PodNetworkConfig): Promise<PodNetwork> {
    const { subnet, gateway } = parseSubnet(config.subnet);
    const options: Record<string, string> = {};
    if (config.ipMasquerade === false) options[MASQUERADE_OPTION] = "false";
    if (config.mtu !== undefined) options[MTU_OPTION] = String(config.mtu);
    const existing = await this.findNetwork();
    if (existing) {
      const ipam = existing.ipam;
      const same =
        ipam?.subnet === subnet &&
        ipam.gateway === gateway &&
        [MASQUERADE_OPTION, MTU_OPTION].every((k) => existing.options[k] === options[k]);
      if (same) return { name: this.networkName, id: existing.id, subnet, gateway };
      if (existing.containers > 0) {
        throw new PodNetworkConflictError(
          `network ${this.networkName} has subnet ${ipam?.subnet ?? "?"} and options ` +
            `${JSON.stringify(existing.options)}, not ${subnet} and ${JSON.stringify(options)}, ` +
            `and ${existing.containers} containers still use it`,
        );
      }
      await call(() => this.docker.getNetwork(existing.id).remove());
    }
    const created = await call(() =>
      this.docker.createNetwork({
        Name: this.networkName,
        Driver: "bridge",
        CheckDuplicate: true,
        IPAM: { Driver: "default", Config: [{ Subnet: subnet, Gateway: gateway }] },
        Options: options,
        Labels: { ...this.ownerLabels, [LABEL_TYPE]: "network" },
      }),
    );
    return { name: this.networkName, id: created.id, subnet, gateway };
  }

  private async findNetwork() {
    const list: unknown = await call(() =>
      this.docker.listNetworks({ filters: { name: [this.networkName] } }),
    );
    // The name filter matches substrings: compare exactly.
    const match = (Array.isArray(list) ? list : []).find(
      (n) => str(n, "Name") === this.networkName,
    );
    if (!match) return undefined;
    const id = str(match, "Id");
    const detail: unknown = await call(() => this.docker.getNetwork(id).inspect());
    const ipamConfig = arr(rec(detail, "IPAM").Config)[0];
    return {
      id,
      ipam: ipamConfig
        ? { subnet: str(ipamConfig, "Subnet"), gateway: str(ipamConfig, "Gateway") }
        : undefined,
      containers: Object.keys(rec(detail, "Containers")).length,
      options: Object.fromEntries(
        Object.entries(rec(detail, "Options")).filter(
          (e): e is [string, string] => typeof e[1] === "string",
        ),
      ),
    };
  }

  // ---- sandboxes ----

  async runPodSandbox(config: SandboxConfig): Promise<string> {
    const labels = this.labels(config.pod, SANDBOX_CONTAINER_NAME, config.attempt, "", "sandbox");
    const body = sandboxBody(config, this.sandboxImage, this.networkName, labels);
    const name = runtimeContainerName(config.pod, SANDBOX_CONTAINER_NAME, config.attempt);
    const id = await this.createAndStart(name, body, this.sandboxImage);
    return this.orRemove(id, () => this.writeResolvConf(id, config));
  }

  /**
   * On a user-defined network Docker points resolv.conf at its own embedded resolver
   * (127.0.0.11), which also answers container names: not what a pod should see. As
   * Kubernetes' dockershim did, the sandbox's resolv.conf is rewritten with exactly the pod's
   * DNS; the pod's containers share that file, and Docker leaves a file it did not write alone.
   * The kubelet runs beside its engine (host, Docker-in-Docker or VM), so the path is local.
   */
  private async writeResolvConf(id: string, config: SandboxConfig): Promise<void> {
    const path = str(await this.inspect(id), "ResolvConfPath");
    if (!path) throw new RuntimeError(`sandbox ${id} has no resolv.conf`);
    const lines = config.dns.servers.map((s) => `nameserver ${s}`);
    if (config.dns.searches.length) lines.push(`search ${config.dns.searches.join(" ")}`);
    if (config.dns.options.length) lines.push(`options ${config.dns.options.join(" ")}`);
    await writeFile(path, lines.map((l) => `${l}\n`).join(""));
  }

  async stopPodSandbox(id: string, gracePeriodSeconds = 10): Promise<void> {
    await this.stopContainer(id, gracePeriodSeconds);
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.removeContainer(id);
  }

  async listPodSandboxes(filter: ListFilter = {}): Promise<SandboxStatus[]> {
    const details = await this.inspectAll("sandbox", filter);
    return details.map((d) => this.toSandboxStatus(d)).sort(newestFirst);
  }

  private toSandboxStatus(d: unknown): SandboxStatus {
    const labels = labelsOf(d);
    const state = rec(d, "State");
    const networkMode = str(rec(d, "HostConfig"), "NetworkMode");
    const ip = str(rec(rec(rec(d, "NetworkSettings"), "Networks"), this.networkName), "IPAddress");
    const running = state.Running === true;
    return {
      id: str(d, "Id"),
      pod: podOfLabels(labels),
      attempt: Number(labels[LABEL_ATTEMPT] ?? 0),
      state: running ? "ready" : "notready",
      createdAt: str(d, "Created"),
      ip: running && ip ? ip : undefined,
      hostNetwork: networkMode === "host",
      labels,
    };
  }

  // ---- containers ----

  async createContainer(config: ContainerConfig): Promise<string> {
    const c = config.container;
    const labels = this.labels(config.pod, c.name, config.attempt, config.hash, "container");
    const body = containerBody(config, labels);
    const name = runtimeContainerName(config.pod, c.name, config.attempt);
    return this.create(name, body);
  }

  async startContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (err) {
      // 304: already started.
      if (statusOf(err) === 304) return;
      throw wrap(err);
    }
  }

  async stopContainer(id: string, gracePeriodSeconds: number): Promise<void> {
    const t = Math.max(0, Math.floor(gracePeriodSeconds));
    try {
      // Docker's stop is exactly the kubelet's: SIGTERM, wait t seconds, SIGKILL.
      await this.docker.getContainer(id).stop({ t });
    } catch (err) {
      if (statusOf(err) === 304 || statusOf(err) === 404) return;
      throw wrap(err);
    }
  }

  async removeContainer(id: string): Promise<void> {
    this.oomEvents.delete(id);
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      // 404: already gone; 409: "removal already in progress".
      if (statusOf(err) === 404 || statusOf(err) === 409) return;
      throw wrap(err);
    }
  }

  async listContainers(filter: ListFilter = {}): Promise<ContainerStatus[]> {
    const details = await this.inspectAll("container", filter);
    const statuses = await Promise.all(details.map((d) => this.toContainerStatus(d)));
    return statuses.sort(newestFirst);
  }

  private async toContainerStatus(d: unknown): Promise<ContainerStatus> {
    const labels = labelsOf(d);
    const state = rec(d, "State");
    const status = str(state, "Status");
    const mapped: ContainerState =
      status === "created"
        ? "created"
        : status === "running" || status === "paused" || status === "restarting"
          ? "running"
          : status === "exited" || status === "dead"
            ? "exited"
            : "unknown";
    const exitCode = typeof state.ExitCode === "number" ? state.ExitCode : undefined;
    const oomKilled = state.OOMKilled === true || this.oomEvents.has(str(d, "Id"));
    const image = str(rec(d, "Config"), "Image");
    const result: ContainerStatus = {
      id: str(d, "Id"),
      pod: podOfLabels(labels),
      name: labels[LABEL_CONTAINER_NAME] ?? "",
      attempt: Number(labels[LABEL_ATTEMPT] ?? 0),
      hash: labels[LABEL_HASH] ?? "",
      state: mapped,
      oomKilled,
      createdAt: str(d, "Created"),
      startedAt: time(str(state, "StartedAt")),
      image,
      imageID: await this.images.imageID(str(d, "Image"), image),
      labels,
    };
    if (mapped === "exited") {
      result.exitCode = exitCode;
      result.finishedAt = time(str(state, "FinishedAt"));
      result.reason = oomKilled ? "OOMKilled" : exitCode === 0 ? "Completed" : "Error";
      const message = str(state, "Error");
      if (message) result.message = message;
    }
    return result;
  }

  // ---- images (docker-images.ts) ----

  pullImage(image: string): Promise<string> {
    return this.images.pull(image);
  }

  imageStatus(image: string): Promise<string | undefined> {
    return this.images.status(image);
  }

  // ---- logs, exec, stats, events ----

  async containerLogs(
    pod: PodRef,
    containerName: string,
    opts: LogOptions = {},
  ): Promise<Readable> {
    const instances = (await this.listContainers({ podUid: pod.uid })).filter(
      (c) => c.name === containerName,
    );
    const target = opts.previous ? instances.find((c) => c.state === "exited") : instances[0];
    if (!target) {
      throw new RuntimeNotFoundError(
        opts.previous
          ? `previous terminated container "${containerName}" in pod "${pod.name}" not found`
          : `container "${containerName}" in pod "${pod.name}" not found`,
      );
    }
    const tty = rec(await this.inspect(target.id), "Config").Tty === true;
    return logStream(this.docker.getContainer(target.id), tty, opts);
  }

  exec(containerId: string, opts: ExecOptions): Promise<ExecSession> {
    return execSession(this.docker.getContainer(containerId), opts);
  }

  attach(containerId: string, opts: AttachOptions): Promise<ExecSession> {
    return attachSession(this.docker.getContainer(containerId), opts);
  }

  async containerStats(id: string): Promise<ContainerStats> {
    const raw: unknown = await call(() =>
      this.docker.getContainer(id).stats({ stream: false, "one-shot": true }),
    );
    const { stats, sample } = toContainerStats(raw, this.cpuSamples.get(id));
    this.cpuSamples.set(id, sample);
    return stats;
  }

  async *events(signal: AbortSignal): AsyncIterable<RuntimeEvent> {
    const filters = {
      type: ["container"],
      event: ["start", "die", "oom"],
      label: [LABEL_TYPE, ...Object.entries(this.ownerLabels).map(([k, v]) => `${k}=${v}`)],
    };
    let stream: Readable;
    try {
      stream = (await this.docker.getEvents({
        filters,
        abortSignal: signal,
      } as Docker.GetEventsOptions)) as Readable;
    } catch (err) {
      if (signal.aborted) return;
      throw wrap(err);
    }
    try {
      for await (const e of jsonLines(stream)) {
        const actor = rec(e, "Actor");
        const attrs = rec(actor, "Attributes") as Record<string, string>;
        const action = str(e, "Action") || str(e, "status");
        if (action !== "start" && action !== "die" && action !== "oom") continue;
        const event: RuntimeEvent = {
          type: action,
          containerId: str(actor, "ID") || str(e, "id"),
          kind: attrs[LABEL_TYPE] === "sandbox" ? "sandbox" : "container",
          at: Math.floor(num(e, "timeNano") / 1e6) || num(e, "time") * 1000,
        };
        if (attrs[LABEL_POD_UID]) event.pod = podOfLabels(attrs);
        if (attrs[LABEL_CONTAINER_NAME]) event.containerName = attrs[LABEL_CONTAINER_NAME];
        if (action === "die" && attrs.exitCode !== undefined)
          event.exitCode = Number(attrs.exitCode);
        if (action === "oom") this.rememberOom(event.containerId);
        yield event;
      }
    } catch (err) {
      if (!signal.aborted) throw wrap(err);
    }
  }

  // ---- helpers ----

  private rememberOom(id: string): void {
    this.oomEvents.add(id);
    // Bounded: the oldest entries belong to containers long since removed.
    if (this.oomEvents.size > 1000) this.oomEvents.delete(this.oomEvents.values().next().value!);
  }

  private labels(...of: Parameters<typeof runtimeLabels>): Record<string, string> {
    return { ...this.ownerLabels, ...runtimeLabels(...of) };
  }

  /** Runs the next step for a new container; if it fails, the container is removed again. */
  private async orRemove(id: string, step: () => Promise<void>): Promise<string> {
    try {
      await step();
    } catch (err) {
      await this.removeContainer(id);
      throw err;
    }
    return id;
  }

  async listStates(): Promise<ObjectState[]> {
    const label = [LABEL_TYPE, ...Object.entries(this.ownerLabels).map(([k, v]) => `${k}=${v}`)];
    const list = await call(() => this.docker.listContainers({ all: true, filters: { label } }));
    return list.map((c) => ({
      id: c.Id,
      podUid: c.Labels?.[LABEL_POD_UID] ?? "",
      state: c.State,
    }));
  }

  private async inspectAll(type: "sandbox" | "container", filter: ListFilter): Promise<unknown[]> {
    const label = [
      `${LABEL_TYPE}=${type}`,
      ...Object.entries(this.ownerLabels).map(([k, v]) => `${k}=${v}`),
    ];
    if (filter.podUid) label.push(`${LABEL_POD_UID}=${filter.podUid}`);
    const list = await call(() => this.docker.listContainers({ all: true, filters: { label } }));
    const details = await Promise.all(
      list.map(async (c): Promise<unknown> => {
        try {
          return await this.docker.getContainer(c.Id).inspect();
        } catch (err) {
          // Removed between the list and the inspect.
          if (statusOf(err) === 404) return undefined;
          throw wrap(err);
        }
      }),
    );
    return details.filter((d) => d !== undefined);
  }

  private async createAndStart(name: string, body: object, image: string): Promise<string> {
    let id: string;
    try {
      id = await this.create(name, body);
    } catch (err) {
      if (!(err instanceof RuntimeNotFoundError)) throw err;
      // The sandbox image is the kubelet's own business: pull it when missing.
      await this.pullImage(image);
      id = await this.create(name, body);
    }
    return this.orRemove(id, () => this.startContainer(id));
  }

  private async create(name: string, body: object): Promise<string> {
    for (let tries = 0; ; tries++) {
      try {
        return (await this.docker.createContainer({ name, ...body })).id;
      } catch (err) {
        // A container of this name left over from a crash between create and start: it
        // never ran this attempt, so it is safe to replace once.
        if (statusOf(err) === 409 && tries === 0) {
          await this.removeStale(name);
          continue;
        }
        throw wrap(err);
      }
    }
  }

  private async removeStale(name: string): Promise<void> {
    const detail = await this.inspect(name);
    if (rec(detail, "State").Running === true) {
      throw new RuntimeError(`container ${name} already exists and is running`, 409);
    }
    await this.removeContainer(str(detail, "Id"));
  }

  private inspect(id: string): Promise<unknown> {
    return call(() => this.docker.getContainer(id).inspect());
  }
}

function newestFirst(
  a: { createdAt: string; attempt: number },
  b: { createdAt: string; attempt: number },
) {
  return b.createdAt.localeCompare(a.createdAt) || b.attempt - a.attempt;
}
