// SimulatedRuntime: a ContainerRuntime held in memory, for scale benchmarks only (hundreds of
// simulated nodes without hundreds of Docker engines). Containers "start" at once and run
// until stopped, unless the script given to the constructor makes them exit. Nothing real
// runs: never use it where Docker can run the real thing.
import { EventEmitter, on } from "node:events";
import { PassThrough, Readable } from "node:stream";
import { ImageNotFoundError, PodNetworkConflictError, RuntimeNotFoundError } from "../errors.js";
import type { Container } from "@skiff/api";
import {
  runtimeLabels,
  SANDBOX_CONTAINER_NAME,
  type ContainerConfig,
  type ContainerRuntime,
  type ContainerStats,
  type ContainerStatus,
  type AttachOptions,
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

/** What a simulated container does once started. */
export interface SimulatedBehaviour {
  /** Exit this long after starting (default: run until stopped). */
  runForMs?: number;
  exitCode?: number;
  oomKilled?: boolean;
  /** Printed to the container's log when it starts. */
  logs?: string;
}

export interface SimulatedRuntimeOptions {
  script?: (pod: PodRef, container: Container) => SimulatedBehaviour | undefined;
  /** Images a pull reports as not found. */
  missingImages?: (image: string) => boolean;
}

interface Sim {
  status: ContainerStatus;
  sandbox?: SandboxStatus;
  behaviour: SimulatedBehaviour;
  logs: string;
  timer?: NodeJS.Timeout;
}

export class SimulatedRuntime implements ContainerRuntime {
  readonly type = "simulated";
  private readonly objects = new Map<string, Sim>();
  private readonly images = new Set<string>();
  private readonly emitter = new EventEmitter();
  private network?: PodNetwork;
  private nextId = 1;
  private nextHost = 2;

  constructor(private readonly opts: SimulatedRuntimeOptions = {}) {
    this.emitter.setMaxListeners(0);
  }

  async ensurePodNetwork(config: PodNetworkConfig): Promise<PodNetwork> {
    if (this.network && this.network.subnet !== config.subnet) {
      const inUse = [...this.objects.values()].some((o) => o.sandbox?.state === "ready");
      if (inUse)
        throw new PodNetworkConflictError(
          `simulated network is in use with ${this.network.subnet}`,
        );
    }
    const base = config.subnet.split("/")[0]!.split(".").slice(0, 3).join(".");
    this.network = {
      name: "simulated",
      id: "simulated",
      subnet: config.subnet,
      gateway: `${base}.1`,
    };
    return this.network;
  }

  async runPodSandbox(config: SandboxConfig): Promise<string> {
    const id = this.newId();
    const now = new Date().toISOString();
    const labels = runtimeLabels(config.pod, SANDBOX_CONTAINER_NAME, config.attempt, "", "sandbox");
    const base = this.network?.subnet.split("/")[0]!.split(".").slice(0, 3).join(".") ?? "10.244.0";
    const sandbox: SandboxStatus = {
      id,
      pod: config.pod,
      attempt: config.attempt,
      state: "ready",
      createdAt: now,
      ip: config.hostNetwork ? undefined : `${base}.${(this.nextHost++ % 253) + 2}`,
      hostNetwork: config.hostNetwork,
      labels,
    };
    const status = this.newStatus(
      id,
      config.pod,
      SANDBOX_CONTAINER_NAME,
      config.attempt,
      "",
      "simulated/sandbox",
      labels,
    );
    status.state = "running";
    status.startedAt = now;
    this.objects.set(id, { status, sandbox, behaviour: {}, logs: "" });
    this.emit("start", this.objects.get(id)!);
    return id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    const o = this.objects.get(id);
    if (!o?.sandbox) return;
    this.exit(o, 0, false);
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.removeContainer(id);
  }

  async listPodSandboxes(filter: ListFilter = {}): Promise<SandboxStatus[]> {
    return [...this.objects.values()]
      .flatMap((o) => (o.sandbox ? [o.sandbox] : []))
      .filter((s) => !filter.podUid || s.pod.uid === filter.podUid)
      .map((s) => structuredClone(s))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.attempt - a.attempt);
  }

  async createContainer(config: ContainerConfig): Promise<string> {
    if (!this.objects.get(config.sandboxId)?.sandbox) {
      throw new RuntimeNotFoundError(`sandbox ${config.sandboxId} not found`);
    }
    const id = this.newId();
    const c = config.container;
    const labels = runtimeLabels(config.pod, c.name, config.attempt, config.hash, "container");
    const status = this.newStatus(
      id,
      config.pod,
      c.name,
      config.attempt,
      config.hash,
      c.image ?? "",
      labels,
    );
    this.objects.set(id, { status, behaviour: this.opts.script?.(config.pod, c) ?? {}, logs: "" });
    return id;
  }

  async startContainer(id: string): Promise<void> {
    const o = this.get(id);
    if (o.status.state !== "created") return;
    o.status.state = "running";
    o.status.startedAt = new Date().toISOString();
    o.logs += o.behaviour.logs ?? "";
    this.emit("start", o);
    const { runForMs } = o.behaviour;
    if (runForMs !== undefined) {
      o.timer = setTimeout(
        () => this.exit(o, o.behaviour.exitCode ?? 0, o.behaviour.oomKilled === true),
        runForMs,
      );
    }
  }

  async stopContainer(id: string): Promise<void> {
    const o = this.objects.get(id);
    // A simulated process always honours SIGTERM at once.
    if (o && o.status.state === "running") this.exit(o, 0, false);
  }

  async removeContainer(id: string): Promise<void> {
    const o = this.objects.get(id);
    if (o?.timer) clearTimeout(o.timer);
    this.objects.delete(id);
  }

  async listContainers(filter: ListFilter = {}): Promise<ContainerStatus[]> {
    return [...this.objects.values()]
      .filter((o) => !o.sandbox && (!filter.podUid || o.status.pod.uid === filter.podUid))
      .map((o) => structuredClone(o.status))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.attempt - a.attempt);
  }

  async listStates(): Promise<ObjectState[]> {
    return [...this.objects.values()].map((o) => {
      const { id, pod, state } = o.sandbox ?? o.status;
      return { id, podUid: pod.uid, state };
    });
  }

  async pullImage(image: string): Promise<string> {
    if (this.opts.missingImages?.(image))
      throw new ImageNotFoundError(image, "simulated: not found");
    this.images.add(image);
    return imageID(image);
  }

  async imageStatus(image: string): Promise<string | undefined> {
    return this.images.has(image) ? imageID(image) : undefined;
  }

  async containerLogs(
    pod: PodRef,
    containerName: string,
    opts: LogOptions = {},
  ): Promise<Readable> {
    const instances = [...this.objects.values()]
      .filter((o) => !o.sandbox && o.status.pod.uid === pod.uid && o.status.name === containerName)
      .sort((a, b) => b.status.attempt - a.status.attempt);
    const target = opts.previous
      ? instances.find((o) => o.status.state === "exited")
      : instances[0];
    if (!target)
      throw new RuntimeNotFoundError(`container "${containerName}" in pod "${pod.name}" not found`);
    let lines = target.logs.split(/(?<=\n)/).filter(Boolean);
    if (opts.tailLines !== undefined)
      lines = lines.slice(Math.max(0, lines.length - opts.tailLines));
    return Readable.from(lines);
  }

  async exec(containerId: string, opts: ExecOptions): Promise<ExecSession> {
    this.get(containerId);
    const stdout = new PassThrough();
    stdout.end(`simulated exec: ${opts.command.join(" ")}\n`);
    const stderr = opts.tty ? null : new PassThrough().end();
    return {
      stdin: opts.stdin ? new PassThrough() : null,
      stdout,
      stderr,
      resize: async () => {},
      exitCode: Promise.resolve(0),
      close: () => stdout.destroy(),
    };
  }

  async attach(containerId: string, opts: AttachOptions): Promise<ExecSession> {
    this.get(containerId);
    const stdout = new PassThrough().end();
    return {
      stdin: opts.stdin ? new PassThrough() : null,
      stdout,
      stderr: null,
      resize: async () => {},
      exitCode: Promise.resolve(0),
      close: () => stdout.destroy(),
    };
  }

  async containerStats(id: string): Promise<ContainerStats> {
    const o = this.get(id);
    const ranMs = o.status.startedAt ? Date.now() - Date.parse(o.status.startedAt) : 0;
    return {
      timestamp: new Date().toISOString(),
      cpu: { usageCoreNanoSeconds: ranMs * 1000, usageNanoCores: 1_000_000 },
      memory: { usageBytes: 4 << 20, workingSetBytes: 4 << 20 },
      ...(o.sandbox ? { network: { rxBytes: 0, txBytes: 0, rxErrors: 0, txErrors: 0 } } : {}),
    };
  }

  async *events(signal: AbortSignal): AsyncIterable<RuntimeEvent> {
    try {
      for await (const [event] of on(this.emitter, "event", { signal }))
        yield event as RuntimeEvent;
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  }

  /** Makes a running container exit now, as a crash or an OOM kill would. */
  exitContainer(id: string, exitCode: number, oomKilled = false): void {
    const o = this.get(id);
    if (o.status.state === "running") this.exit(o, exitCode, oomKilled);
  }

  private exit(o: Sim, exitCode: number, oomKilled: boolean): void {
    if (o.timer) clearTimeout(o.timer);
    o.status.state = "exited";
    o.status.exitCode = exitCode;
    o.status.oomKilled = oomKilled;
    o.status.reason = oomKilled ? "OOMKilled" : exitCode === 0 ? "Completed" : "Error";
    o.status.finishedAt = new Date().toISOString();
    if (o.sandbox) {
      o.sandbox.state = "notready";
      delete o.sandbox.ip;
    }
    if (oomKilled) this.emit("oom", o);
    this.emit("die", o, exitCode);
  }

  private emit(type: RuntimeEvent["type"], o: Sim, exitCode?: number): void {
    const event: RuntimeEvent = {
      type,
      containerId: o.status.id,
      kind: o.sandbox ? "sandbox" : "container",
      pod: o.status.pod,
      containerName: o.status.name,
      at: Date.now(),
    };
    if (exitCode !== undefined) event.exitCode = exitCode;
    this.emitter.emit("event", event);
  }

  private get(id: string): Sim {
    const o = this.objects.get(id);
    if (!o) throw new RuntimeNotFoundError(`container ${id} not found`);
    return o;
  }

  private newId(): string {
    return `sim${(this.nextId++).toString(16).padStart(12, "0")}`;
  }

  private newStatus(
    id: string,
    pod: PodRef,
    name: string,
    attempt: number,
    hash: string,
    image: string,
    labels: Record<string, string>,
  ): ContainerStatus {
    return {
      id,
      pod,
      name,
      attempt,
      hash,
      state: "created",
      oomKilled: false,
      createdAt: new Date().toISOString(),
      image,
      imageID: imageID(image),
      labels,
    };
  }
}

function imageID(image: string): string {
  let h = 0;
  for (const ch of image) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
  return `sha256:${h.toString(16).padStart(64, "0")}`;
}
