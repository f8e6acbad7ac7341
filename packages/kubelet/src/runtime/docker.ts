// DockerRuntime: the ContainerRuntime on a real Docker engine. A pod is a sandbox container
// (docker-init + `sleep`, holding the network and IPC namespaces) plus one Docker container
// per Kubernetes container, joined to the sandbox with `container:<sandboxId>` modes.
import { writeFile } from "node:fs/promises";
import { PassThrough, Readable, type Duplex } from "node:stream";
import Docker from "dockerode";
import { isObject, parseQuantity } from "@skiff/api";
import {
  ImageNotFoundError,
  KubeletError,
  ImagePullError,
  PodNetworkConflictError,
  RuntimeError,
  RuntimeNotFoundError,
} from "../errors.js";
import type { Container } from "@skiff/api";
import { demultiplex, jsonLines } from "./streams.js";
import {
  LABEL_ATTEMPT,
  LABEL_CONTAINER_NAME,
  LABEL_HASH,
  LABEL_POD_NAME,
  LABEL_POD_NAMESPACE,
  LABEL_POD_UID,
  LABEL_TYPE,
  SANDBOX_CONTAINER_NAME,
  runtimeContainerName,
  type AttachOptions,
  type ContainerConfig,
  type ContainerRuntime,
  type ContainerState,
  type ContainerStats,
  type ContainerStatus,
  type ExecOptions,
  type ExecSession,
  type ListFilter,
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

// Kubernetes' defaults for container log rotation (containerLogMaxSize, containerLogMaxFiles).
const LOG_CONFIG = { Type: "json-file", Config: { "max-size": "10m", "max-file": "5" } };
const NEVER = "0001-01-01T00:00:00Z";
// The bridge driver's options the pod network sets (docker network create -o).
const MASQUERADE_OPTION = "com.docker.network.bridge.enable_ip_masquerade";
const MTU_OPTION = "com.docker.network.driver.mtu";
// How long a "present" answer of imageStatus is reused (see imageStatus).
const IMAGE_STATUS_TTL_MS = 2000;

export class DockerRuntime implements ContainerRuntime {
  readonly type = "docker";
  /** The dockerode client (the project's Docker library). */
  readonly docker: Docker;
  readonly sandboxImage: string;
  readonly networkName: string;
  private readonly ownerLabels: Record<string, string>;
  // Image IDs never change meaning, so their repo digests are cached for imageID.
  private readonly repoDigests = new Map<string, string[]>();
  // imageStatus answers by reference: in flight, or "present" and younger than the TTL.
  private readonly imageAnswers = new Map<
    string,
    { at: number; id: Promise<string | undefined> }
  >();
  // The previous CPU sample per container, to turn cumulative usage into a rate.
  private readonly cpuSamples = new Map<string, { at: number; usage: number }>();
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
      await this.call(() => this.docker.getNetwork(existing.id).remove());
    }
    const created = await this.call(() =>
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
    const list: unknown = await this.call(() =>
      this.docker.listNetworks({ filters: { name: [this.networkName] } }),
    );
    // The name filter matches substrings: compare exactly.
    const match = (Array.isArray(list) ? list : []).find(
      (n) => str(n, "Name") === this.networkName,
    );
    if (!match) return undefined;
    const id = str(match, "Id");
    const detail: unknown = await this.call(() => this.docker.getNetwork(id).inspect());
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
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const p of config.portMappings) {
      const key = `${p.containerPort}/${p.protocol.toLowerCase()}`;
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: p.hostIP ?? "", HostPort: String(p.hostPort) });
    }
    const body = {
      Image: this.sandboxImage,
      Cmd: ["sleep", "infinity"],
      // Host-network pods see the node's hostname, as in Kubernetes.
      Hostname: config.hostNetwork ? undefined : config.hostname,
      Labels: this.labels(config.pod, SANDBOX_CONTAINER_NAME, config.attempt, "", "sandbox"),
      ExposedPorts: exposed,
      HostConfig: {
        // A shell or `sleep` as PID 1 ignores SIGTERM; docker-init forwards it, so a sandbox
        // stops at once instead of after the whole grace period.
        Init: true,
        NetworkMode: config.hostNetwork ? "host" : this.networkName,
        IpcMode: config.hostIPC ? "host" : "shareable",
        PidMode: config.hostPID ? "host" : "",
        Dns: config.dns.servers,
        DnsSearch: config.dns.searches,
        DnsOptions: config.dns.options,
        PortBindings: bindings,
        RestartPolicy: { Name: "no" },
        LogConfig: LOG_CONFIG,
      },
    };
    const name = runtimeContainerName(config.pod, SANDBOX_CONTAINER_NAME, config.attempt);
    const id = await this.createAndStart(name, body, this.sandboxImage);
    try {
      await this.writeResolvConf(id, config);
    } catch (err) {
      await this.removeContainer(id);
      throw err;
    }
    return id;
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
      pod: podOf(labels),
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
    const sandbox = `container:${config.sandboxId}`;
    const body = {
      Image: c.image,
      // Kubernetes: command replaces the image's ENTRYPOINT (and drops its CMD); args
      // replace CMD. Docker ignores the image's CMD once Entrypoint is set, which matches.
      Entrypoint: c.command,
      Cmd: c.command ? (c.args ?? []) : c.args,
      WorkingDir: c.workingDir ?? "",
      Env: config.env.map((e) => `${e.name}=${e.value}`),
      User: userOf(c),
      Tty: c.tty === true,
      OpenStdin: c.stdin === true,
      StdinOnce: c.stdinOnce === true,
      Labels: this.labels(config.pod, c.name, config.attempt, config.hash, "container"),
      HostConfig: {
        NetworkMode: sandbox,
        IpcMode: config.hostIPC ? "host" : sandbox,
        PidMode: config.hostPID
          ? "host"
          : config.pidOfContainerId
            ? `container:${config.pidOfContainerId}`
            : config.shareProcessNamespace
              ? sandbox
              : "",
        Binds: config.mounts.map(
          (m) => `${m.hostPath}:${m.containerPath}${m.readOnly ? ":ro" : ""}`,
        ),
        ReadonlyRootfs: c.securityContext?.readOnlyRootFilesystem === true,
        RestartPolicy: { Name: "no" },
        LogConfig: LOG_CONFIG,
        ...resourcesOf(c),
        ...privilegesOf(c),
      },
    };
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
      pod: podOf(labels),
      name: labels[LABEL_CONTAINER_NAME] ?? "",
      attempt: Number(labels[LABEL_ATTEMPT] ?? 0),
      hash: labels[LABEL_HASH] ?? "",
      state: mapped,
      oomKilled,
      createdAt: str(d, "Created"),
      startedAt: time(str(state, "StartedAt")),
      image,
      imageID: await this.imageIDOf(str(d, "Image"), image),
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

  /** Kubernetes reports a pullable reference (repo@sha256:...) where one is known. */
  private async imageIDOf(id: string, image: string): Promise<string> {
    let digests = this.repoDigests.get(id);
    if (!digests) {
      try {
        const detail: unknown = await this.docker.getImage(id).inspect();
        digests = arr(isObject(detail) ? detail.RepoDigests : undefined).filter(
          (x): x is string => typeof x === "string",
        );
      } catch {
        digests = [];
      }
      this.repoDigests.set(id, digests);
    }
    const repo = repositoryOf(image);
    return digests.find((x) => x.startsWith(`${repo}@`)) ?? digests[0] ?? id;
  }

  // ---- images ----

  async pullImage(image: string): Promise<string> {
    const ref = withDefaultTag(image);
    let progress: Readable;
    try {
      progress = (await this.docker.pull(ref)) as Readable;
    } catch (err) {
      throw pullError(image, err);
    }
    // The engine answers 200 at once and reports a failure later, inside the stream.
    for await (const line of jsonLines(progress)) {
      if (isObject(line) && typeof line.error === "string") throw pullError(image, line.error);
    }
    this.imageAnswers.delete(ref);
    const id = await this.imageStatus(ref);
    if (!id) throw new ImagePullError(image, "the engine reported success but has no such image");
    return id;
  }

  /**
   * Pods starting together ask about the same image: they share one inspect, and a "present"
   * answer serves for a moment (an image removed meanwhile makes the create fail, and the
   * pod's next sync asks again). "Absent" is never reused, so a pull is seen at once.
   */
  imageStatus(image: string): Promise<string | undefined> {
    const ref = withDefaultTag(image);
    const cached = this.imageAnswers.get(ref);
    if (cached && Date.now() - cached.at < IMAGE_STATUS_TTL_MS) return cached.id;
    const id = this.inspectImage(ref);
    const answer = { at: Date.now(), id };
    this.imageAnswers.set(ref, answer);
    const forget = () => {
      if (this.imageAnswers.get(ref) === answer) this.imageAnswers.delete(ref);
    };
    id.then((v) => v === undefined && forget(), forget);
    return id;
  }

  private async inspectImage(ref: string): Promise<string | undefined> {
    try {
      return (await this.docker.getImage(ref).inspect()).Id;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw wrap(err);
    }
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
    const detail = await this.inspect(target.id);
    const since = opts.sinceTime
      ? Date.parse(opts.sinceTime) / 1000
      : opts.sinceSeconds !== undefined
        ? Date.now() / 1000 - opts.sinceSeconds
        : undefined;
    const logOpts = {
      stdout: true,
      stderr: true,
      timestamps: opts.timestamps === true,
      tail: opts.tailLines ?? "all",
      since: since === undefined ? undefined : since.toFixed(9),
      abortSignal: opts.signal,
    } as Docker.ContainerLogsOptions;
    const container = this.docker.getContainer(target.id);
    // dockerode answers a followed log with a stream and a finished one with a Buffer.
    const raw: Readable = opts.follow
      ? ((await this.call(() => container.logs({ ...logOpts, follow: true }))) as Readable)
      : Readable.from([await this.call(() => container.logs({ ...logOpts, follow: false }))]);
    if (rec(detail, "Config").Tty === true) return raw;
    // Without a TTY the engine multiplexes stdout and stderr; Kubernetes shows them merged.
    const merged = new PassThrough();
    demultiplex(raw, merged, merged);
    return merged;
  }

  async exec(containerId: string, opts: ExecOptions): Promise<ExecSession> {
    const tty = opts.tty === true;
    const exec = await this.call(() =>
      this.docker.getContainer(containerId).exec({
        AttachStdin: opts.stdin === true,
        AttachStdout: true,
        AttachStderr: true,
        Tty: tty,
        Cmd: opts.command,
      }),
    );
    // hijack: the engine hands over the raw connection (stdin in, framed output back).
    const socket = await this.call(() =>
      exec.start({ hijack: true, stdin: opts.stdin === true, Detach: false, Tty: tty }),
    );
    return hijackedSession(socket, {
      tty,
      stdin: opts.stdin === true,
      // Ending stdin half-closes the connection, which the engine passes on as EOF.
      endStdin: true,
      exitCode: () => this.execExitCode(exec),
      resize: (w, h) => this.call(() => exec.resize({ w, h })),
    });
  }

  async attach(containerId: string, opts: AttachOptions): Promise<ExecSession> {
    const container = this.docker.getContainer(containerId);
    const config = rec(await this.inspect(containerId), "Config");
    const withStdin = opts.stdin === true && config.OpenStdin === true;
    const socket = (await this.call(() =>
      container.attach({
        stream: true,
        stdin: withStdin,
        stdout: true,
        stderr: true,
        hijack: true,
      }),
    )) as Duplex;
    return hijackedSession(socket, {
      tty: config.Tty === true,
      stdin: withStdin,
      // The client's EOF ends the container's stdin only for stdinOnce containers: others
      // keep it open for the next attach, as Kubernetes does.
      endStdin: config.StdinOnce === true,
      exitCode: async () => {
        // A container removed meanwhile ends the attachment as cleanly as one still running.
        const state = rec(await this.inspect(containerId).catch(() => ({})), "State");
        return state.Running === true ? 0 : Number(state.ExitCode ?? 0);
      },
      resize: (w, h) => this.call(() => container.resize({ w, h })),
    });
  }

  private async execExitCode(exec: Docker.Exec): Promise<number> {
    // The output can close a moment before the engine records the exit.
    for (let i = 0; i < 50; i++) {
      const info: unknown = await this.call(() => exec.inspect());
      if (isObject(info) && info.Running !== true && typeof info.ExitCode === "number") {
        return info.ExitCode;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new RuntimeError(`exec ${exec.id} did not report an exit code`);
  }

  async containerStats(id: string): Promise<ContainerStats> {
    const s: unknown = await this.call(() =>
      this.docker.getContainer(id).stats({ stream: false, "one-shot": true }),
    );
    const at = Date.parse(str(s, "read")) || Date.now();
    const usage = num(rec(rec(s, "cpu_stats"), "cpu_usage"), "total_usage");
    const previous = this.cpuSamples.get(id);
    this.cpuSamples.set(id, { at, usage });
    const mem = rec(s, "memory_stats");
    const memStats = rec(mem, "stats");
    const usageBytes = num(mem, "usage");
    // cgroup v1 names these total_*; v2 drops the prefix. Working set as cAdvisor counts it.
    const inactiveFile = num(memStats, "total_inactive_file") || num(memStats, "inactive_file");
    const rss = num(memStats, "total_rss") || num(memStats, "anon");
    const stats: ContainerStats = {
      timestamp: new Date(at).toISOString(),
      cpu: { usageCoreNanoSeconds: usage },
      memory: {
        usageBytes,
        workingSetBytes: Math.max(0, usageBytes - inactiveFile),
        rssBytes: rss,
        limitBytes: num(mem, "limit") || undefined,
      },
    };
    if (previous && at > previous.at) {
      stats.cpu.usageNanoCores = Math.round(((usage - previous.usage) / (at - previous.at)) * 1e3);
    }
    const networks = Object.values(rec(s, "networks"));
    if (networks.length > 0) {
      stats.network = { rxBytes: 0, txBytes: 0, rxErrors: 0, txErrors: 0 };
      for (const n of networks) {
        stats.network.rxBytes += num(n, "rx_bytes");
        stats.network.txBytes += num(n, "tx_bytes");
        stats.network.rxErrors += num(n, "rx_errors");
        stats.network.txErrors += num(n, "tx_errors");
      }
    }
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
        if (attrs[LABEL_POD_UID]) event.pod = podOf(attrs);
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

  private labels(
    pod: PodRef,
    containerName: string,
    attempt: number,
    hash: string,
    type: "sandbox" | "container",
  ): Record<string, string> {
    return {
      ...this.ownerLabels,
      [LABEL_POD_UID]: pod.uid,
      [LABEL_POD_NAMESPACE]: pod.namespace,
      [LABEL_POD_NAME]: pod.name,
      [LABEL_CONTAINER_NAME]: containerName,
      [LABEL_ATTEMPT]: String(attempt),
      [LABEL_HASH]: hash,
      [LABEL_TYPE]: type,
    };
  }

  private async inspectAll(type: "sandbox" | "container", filter: ListFilter): Promise<unknown[]> {
    const label = [
      `${LABEL_TYPE}=${type}`,
      ...Object.entries(this.ownerLabels).map(([k, v]) => `${k}=${v}`),
    ];
    if (filter.podUid) label.push(`${LABEL_POD_UID}=${filter.podUid}`);
    const list = await this.call(() =>
      this.docker.listContainers({ all: true, filters: { label } }),
    );
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
    try {
      await this.startContainer(id);
    } catch (err) {
      await this.removeContainer(id);
      throw err;
    }
    return id;
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

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw wrap(err);
    }
  }

  private inspect(id: string): Promise<unknown> {
    return this.call(() => this.docker.getContainer(id).inspect());
  }
}

// ---- mapping a Kubernetes container onto Docker's HostConfig ----

function resourcesOf(c: Container): Record<string, number> {
  const out: Record<string, number> = {};
  const limits = c.resources?.limits ?? {};
  const requests = c.resources?.requests ?? {};
  if (limits.memory !== undefined) {
    out.Memory = Math.floor(parseQuantity(limits.memory));
    // Kubernetes runs without swap: the swap limit equals the memory limit.
    out.MemorySwap = out.Memory;
  }
  if (limits.cpu !== undefined) {
    out.CpuPeriod = 100_000;
    // As Kubernetes: quota = milliCPU * period / 1000, never below 1 ms.
    out.CpuQuota = Math.max(1000, Math.floor((milliCPU(limits.cpu) * 100_000) / 1000));
  }
  // A request defaults to the limit when only a limit is given (Kubernetes' defaulting).
  const cpuRequest = requests.cpu ?? limits.cpu;
  out.CpuShares =
    cpuRequest === undefined ? 2 : Math.max(2, Math.floor((milliCPU(cpuRequest) * 1024) / 1000));
  return out;
}

function milliCPU(q: string | number): number {
  return Math.ceil(parseQuantity(q) * 1000);
}

function privilegesOf(c: Container): Record<string, unknown> {
  const sc = c.securityContext;
  if (sc?.privileged) {
    // Docker's --privileged fails on this kind of VM ("unable to apply caps": the engine
    // itself lacks CAP_SYS_RESOURCE), so a privileged container gets every capability the
    // engine can grant and no seccomp filter. Device access stays Docker's default.
    return { CapAdd: ["ALL"], CapDrop: ["SYS_RESOURCE"], SecurityOpt: ["seccomp=unconfined"] };
  }
  return { CapAdd: sc?.capabilities?.add ?? [], CapDrop: sc?.capabilities?.drop ?? [] };
}

function userOf(c: Container): string | undefined {
  const sc = c.securityContext;
  if (sc?.runAsUser === undefined) return undefined;
  return sc.runAsGroup === undefined ? String(sc.runAsUser) : `${sc.runAsUser}:${sc.runAsGroup}`;
}

// ---- small readers for the engine's JSON (unknown until checked) ----

function rec(v: unknown, key: string): Record<string, unknown> {
  const x = isObject(v) ? v[key] : undefined;
  return isObject(x) ? x : {};
}
function str(v: unknown, key: string): string {
  const x = isObject(v) ? v[key] : undefined;
  return typeof x === "string" ? x : "";
}
function num(v: unknown, key: string): number {
  const x = isObject(v) ? v[key] : undefined;
  return typeof x === "number" ? x : 0;
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function time(s: string): string | undefined {
  return s && s !== NEVER ? s : undefined;
}

function labelsOf(detail: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(rec(rec(detail, "Config"), "Labels"))) {
    if (typeof v === "string") out[k] = v;
  }
  return out;
}

function podOf(labels: Record<string, string>): PodRef {
  return {
    uid: labels[LABEL_POD_UID] ?? "",
    namespace: labels[LABEL_POD_NAMESPACE] ?? "",
    name: labels[LABEL_POD_NAME] ?? "",
  };
}

function newestFirst(
  a: { createdAt: string; attempt: number },
  b: { createdAt: string; attempt: number },
) {
  return b.createdAt.localeCompare(a.createdAt) || b.attempt - a.attempt;
}

/** "repo" and "repo@sha256:..." stay as they are elsewhere; "repo" alone means ":latest". */
function withDefaultTag(image: string): string {
  if (image.includes("@") || image.startsWith("sha256:")) return image;
  const last = image.slice(image.lastIndexOf("/") + 1);
  return last.includes(":") ? image : `${image}:latest`;
}

function repositoryOf(image: string): string {
  const at = image.indexOf("@");
  if (at >= 0) return image.slice(0, at);
  const slash = image.lastIndexOf("/");
  const colon = image.lastIndexOf(":");
  return colon > slash ? image.slice(0, colon) : image;
}

function parseSubnet(cidr: string): { subnet: string; gateway: string } {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const bits = m ? Number(m[5]) : -1;
  if (!m || octets.some((o) => o > 255) || bits < 8 || bits > 30) {
    throw new RuntimeError(`podCIDR ${cidr} is not an IPv4 CIDR with a prefix from /8 to /30`, 400);
  }
  const ip = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - bits);
  const network = ip - (ip % size);
  const dotted = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
  return { subnet: `${dotted(network)}/${bits}`, gateway: dotted(network + 1) };
}

function pullError(image: string, err: unknown): Error {
  const message = typeof err === "string" ? err : engineMessage(err);
  const notFound =
    statusOf(err) === 404 ||
    /not found|manifest unknown|repository does not exist|name unknown/i.test(message);
  return notFound ? new ImageNotFoundError(image, message) : new ImagePullError(image, message);
}

/** dockerode's errors carry the engine's HTTP status and its JSON answer. */
function statusOf(err: unknown): number | undefined {
  return isObject(err) && typeof err.statusCode === "number" ? err.statusCode : undefined;
}

function engineMessage(err: unknown): string {
  const json = isObject(err) ? err.json : undefined;
  if (isObject(json) && typeof json.message === "string") return json.message;
  return err instanceof Error ? err.message : String(err);
}

function wrap(err: unknown): Error {
  if (err instanceof KubeletError) return err;
  const status = statusOf(err);
  if (status !== undefined) {
    if (status === 404) return new RuntimeNotFoundError(engineMessage(err));
    return new RuntimeError(engineMessage(err), status);
  }
  if (err instanceof Error && err.name !== "AbortError") {
    return new RuntimeError(`docker: ${err.message}`);
  }
  return err instanceof Error ? err : new RuntimeError(String(err));
}

/**
 * A hijacked exec or attach connection as a session: output raw with a TTY, else
 * demultiplexed; stdin written into the connection; the exit code read once it closes.
 */
function hijackedSession(
  socket: Duplex,
  o: {
    tty: boolean;
    stdin: boolean;
    endStdin: boolean;
    exitCode: () => Promise<number>;
    resize: (width: number, height: number) => Promise<unknown>;
  },
): ExecSession {
  let stdout: Readable;
  let stderr: Readable | null = null;
  if (o.tty) stdout = socket.pipe(new PassThrough());
  else {
    const out = new PassThrough();
    const err = new PassThrough();
    demultiplex(socket, out, err);
    stdout = out;
    stderr = err;
  }
  let stdin: PassThrough | null = null;
  if (o.stdin) {
    stdin = new PassThrough();
    stdin.pipe(socket, { end: o.endStdin });
  }
  const exitCode = new Promise<number>((resolve, reject) => {
    socket.once("close", () => o.exitCode().then(resolve, reject));
  });
  return {
    stdin,
    stdout,
    stderr,
    exitCode,
    resize: async (width, height) => {
      await o.resize(width, height);
    },
    close: () => socket.destroy(),
  };
}
