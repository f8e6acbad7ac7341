// PodExecutor: carries out what a plan (pod-actions.ts) decided, on the runtime — create a
// sandbox, start a container (image, environment, mounts, postStart), kill one (preStop, then
// SIGTERM and SIGKILL within the grace period), kill a whole pod, remove what the API no
// longer has, and collect dead instances. The decisions are elsewhere; this is the doing.
import type { Container } from "@skiff/api";
import type { Logger } from "@skiff/client";
import { ensureImage } from "./images.js";
import type { Pod, Service } from "./objects.js";
import type { ContainerToStart } from "./pod-actions.js";
import { ConfigError, mountsFor, resolveEnv, type ObjectSource } from "./pod-config.js";
import { podKey, stopProbes, type PodState } from "./pod-state.js";
import { runHandler } from "./probes.js";
import type {
  ContainerRuntime,
  ContainerStatus as RuntimeContainer,
  DNSConfig,
  PodRef,
  SandboxStatus,
} from "./runtime/runtime.js";
import { serviceEnv } from "./service-env.js";

export interface ExecutorContext {
  runtime: ContainerRuntime;
  nodeIP: string;
  log: Logger;
  /** Records an event on the pod. */
  event(pod: Pod, type: "Normal" | "Warning", reason: string, message: string): void;
  /** Syncs the pod again at `at` (ms since the epoch). */
  requeue(uid: string, at: number): void;
  /** Every Service, for the service environment variables of new containers. */
  services(): Service[];
}

/** Where a container starts: the pod's sandbox and IP, its volumes, and its API objects. */
export interface StartTarget {
  sandboxId: string;
  podIP: string;
  /** Host directories by volume name (prepareVolumes). */
  volumes: Map<string, string>;
  source: ObjectSource;
}

/** How long a postStart hook may run. */
const POST_START_TIMEOUT_MS = 30_000;
/** How soon a container whose configuration is missing (a configMap, a secret) is retried. */
const CONFIG_RETRY_MS = 5000;

export class PodExecutor {
  constructor(private readonly ctx: ExecutorContext) {}

  private get runtime(): ContainerRuntime {
    return this.ctx.runtime;
  }

  /** Creates and starts the pod's sandbox with its DNS and host ports; returns its id. */
  async runSandbox(pod: Pod, attempt: number, dns: DNSConfig): Promise<string> {
    return this.runtime.runPodSandbox({
      pod: podRef(pod),
      attempt,
      hostname: pod.spec?.hostname ?? pod.metadata.name ?? "",
      hostNetwork: pod.spec?.hostNetwork === true,
      hostIPC: pod.spec?.hostIPC,
      hostPID: pod.spec?.hostPID,
      dns,
      hostAliases: pod.spec?.hostAliases,
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
  }

  /** Pulls (per policy), resolves the environment, creates, starts and runs postStart. */
  async startContainer(
    pod: Pod,
    st: PodState,
    c: Container,
    s: ContainerToStart,
    { sandboxId, podIP, volumes, source }: StartTarget,
    /** An ephemeral container's target: it joins that container's PID namespace. */
    pidOfContainerId?: string,
  ): Promise<void> {
    const uid = pod.metadata.uid ?? "";
    const image = await ensureImage(
      {
        runtime: this.runtime,
        backoff: st.imageBackoff,
        event: (type, reason, message) => this.ctx.event(pod, type, reason, message),
      },
      c,
    );
    if (!image.ok) {
      st.waiting.set(c.name, image.waiting);
      this.ctx.requeue(uid, image.retryAt);
      return;
    }
    let env: { name: string; value: string }[];
    let mounts;
    try {
      const services = serviceEnv(
        this.ctx.services(),
        pod.metadata.namespace ?? "default",
        pod.spec?.enableServiceLinks ?? true,
      );
      env = await resolveEnv(pod, c, source, this.ctx.nodeIP, services);
      mounts = mountsFor(c, volumes);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      st.waiting.set(c.name, { reason: "CreateContainerConfigError", message: err.message });
      this.ctx.event(pod, "Warning", "Failed", `Error: ${err.message}`);
      this.ctx.requeue(uid, Date.now() + CONFIG_RETRY_MS);
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
      podSecurityContext: pod.spec?.securityContext,
    });
    this.ctx.event(pod, "Normal", "Created", `Created container ${c.name}`);
    await this.runtime.startContainer(id);
    this.ctx.event(pod, "Normal", "Started", `Started container ${c.name}`);
    st.waiting.delete(c.name);
    const postStart = c.lifecycle?.postStart;
    if (postStart) {
      const failure = await runHandler(
        postStart,
        { runtime: this.runtime, containerId: id, container: c, podIP },
        POST_START_TIMEOUT_MS,
      );
      if (failure) {
        this.ctx.event(pod, "Warning", "FailedPostStartHook", failure);
        await this.runtime.stopContainer(id, 0);
      }
    }
  }

  /** preStop, then SIGTERM and SIGKILL once the grace period (which preStop uses up) ends. */
  async killContainer(
    pod: Pod,
    st: PodState,
    id: string,
    c: Container | undefined,
    podIP: string,
    graceSeconds: number,
  ): Promise<void> {
    stopProbes(st, id);
    const started = Date.now();
    const preStop = c?.lifecycle?.preStop;
    if (preStop && c) {
      const failure = await runHandler(
        preStop,
        { runtime: this.runtime, containerId: id, container: c, podIP },
        graceSeconds * 1000,
      );
      if (failure) this.ctx.event(pod, "Warning", "FailedPreStopHook", failure);
    }
    const left = Math.max(0, graceSeconds - Math.floor((Date.now() - started) / 1000));
    await this.runtime.stopContainer(id, left);
  }

  /** Stops every running container (in parallel), then the ready sandboxes. */
  async killPod(
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
          this.ctx.event(pod, "Normal", "Killing", `Stopping container ${c.name}`);
          return this.killContainer(pod, st, c.id, findContainer(pod, c.name), podIP, graceSeconds);
        }),
    );
    for (const s of sandboxes) if (s.state === "ready") await this.runtime.stopPodSandbox(s.id, 0);
    this.ctx.log.info({ pod: podKey(pod), reason }, "pod killed");
  }

  /** Stops and removes every container and sandbox of a pod the API no longer has. */
  async removeAll(uid: string): Promise<void> {
    for (const c of await this.runtime.listContainers({ podUid: uid })) {
      if (c.state === "running") await this.runtime.stopContainer(c.id, 0);
      await this.runtime.removeContainer(c.id);
    }
    for (const s of await this.runtime.listPodSandboxes({ podUid: uid })) {
      await this.runtime.stopPodSandbox(s.id, 0);
      await this.runtime.removePodSandbox(s.id);
    }
  }

  /** Keeps the newest dead instance of each container (for `logs --previous`); removes older ones. */
  async collectGarbage(
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
}

export function podRef(pod: Pod): PodRef {
  return {
    uid: pod.metadata.uid ?? "",
    namespace: pod.metadata.namespace ?? "default",
    name: pod.metadata.name ?? "",
  };
}

/** An init, app or ephemeral container of the pod, by name. */
export function findContainer(pod: Pod, name: string): Container | undefined {
  return [
    ...(pod.spec?.initContainers ?? []),
    ...(pod.spec?.containers ?? []),
    ...(pod.spec?.ephemeralContainers ?? []),
  ].find((c) => c.name === name);
}
