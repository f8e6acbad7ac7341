// What the Docker runtime asks the engine to create, as pure functions: the sandbox's and a
// container's create bodies (a Kubernetes container mapped onto Docker's Config and
// HostConfig), and the pod network's subnet and gateway.
import { parseQuantity, type Container } from "@skiff/api";
import { RuntimeError } from "../errors.js";
import type { ContainerConfig, SandboxConfig } from "./runtime.js";

// Kubernetes' defaults for container log rotation (containerLogMaxSize, containerLogMaxFiles).
const LOG_CONFIG = { Type: "json-file", Config: { "max-size": "10m", "max-file": "5" } };

/** The sandbox: docker-init + `sleep infinity`, holding the pod's network and IPC namespaces. */
export function sandboxBody(
  config: SandboxConfig,
  image: string,
  networkName: string,
  labels: Record<string, string>,
): object {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of config.portMappings) {
    const key = `${p.containerPort}/${p.protocol.toLowerCase()}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: p.hostIP ?? "", HostPort: String(p.hostPort) });
  }
  return {
    Image: image,
    Cmd: ["sleep", "infinity"],
    // Host-network pods see the node's hostname, as in Kubernetes.
    Hostname: config.hostNetwork ? undefined : config.hostname,
    Labels: labels,
    ExposedPorts: exposed,
    HostConfig: {
      // A shell or `sleep` as PID 1 ignores SIGTERM; docker-init forwards it, so a sandbox
      // stops at once instead of after the whole grace period.
      Init: true,
      NetworkMode: config.hostNetwork ? "host" : networkName,
      IpcMode: config.hostIPC ? "host" : "shareable",
      PidMode: config.hostPID ? "host" : "",
      Dns: config.dns.servers,
      DnsSearch: config.dns.searches,
      DnsOptions: config.dns.options,
      PortBindings: bindings,
      // hostAliases: Docker adds these lines to the sandbox's /etc/hosts, which the pod's
      // containers share through their container: network mode.
      ExtraHosts: (config.hostAliases ?? []).flatMap((a) =>
        (a.hostnames ?? []).map((name) => `${name}:${a.ip}`),
      ),
      RestartPolicy: { Name: "no" },
      LogConfig: LOG_CONFIG,
    },
  };
}

/** A Kubernetes container, joined to its sandbox with `container:<sandboxId>` modes. */
export function containerBody(config: ContainerConfig, labels: Record<string, string>): object {
  const c = config.container;
  const sandbox = `container:${config.sandboxId}`;
  return {
    Image: c.image,
    // Kubernetes: command replaces the image's ENTRYPOINT (and drops its CMD); args
    // replace CMD. Docker ignores the image's CMD once Entrypoint is set, which matches.
    Entrypoint: c.command,
    Cmd: c.command ? (c.args ?? []) : c.args,
    WorkingDir: c.workingDir ?? "",
    Env: config.env.map((e) => `${e.name}=${e.value}`),
    User: userOf(c, config.podSecurityContext),
    Tty: c.tty === true,
    OpenStdin: c.stdin === true,
    StdinOnce: c.stdinOnce === true,
    Labels: labels,
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
      Binds: config.mounts.map((m) => `${m.hostPath}:${m.containerPath}${m.readOnly ? ":ro" : ""}`),
      ReadonlyRootfs: c.securityContext?.readOnlyRootFilesystem === true,
      RestartPolicy: { Name: "no" },
      LogConfig: LOG_CONFIG,
      ...resourcesOf(c),
      ...privilegesOf(c),
      GroupAdd: groupsOf(c, config.podSecurityContext),
    },
  };
}

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

/** runAsUser and runAsGroup: the container's own, else the pod's (Kubernetes' precedence). */
function userOf(c: Container, pod: ContainerConfig["podSecurityContext"]): string | undefined {
  const uid = c.securityContext?.runAsUser ?? pod?.runAsUser;
  const gid = c.securityContext?.runAsGroup ?? pod?.runAsGroup;
  if (uid === undefined) return undefined;
  return gid === undefined ? String(uid) : `${uid}:${gid}`;
}

/**
 * The supplementary groups: the pod's fsGroup and supplementalGroups, and, as containerd adds
 * it, the primary group a runAsGroup names (the image's own memberships stay, as Docker keeps them).
 */
function groupsOf(c: Container, pod: ContainerConfig["podSecurityContext"]): string[] {
  const extra = [pod?.fsGroup, ...(pod?.supplementalGroups ?? [])].filter(
    (g): g is number => g !== undefined,
  );
  if (extra.length === 0) return [];
  const gid = c.securityContext?.runAsGroup ?? pod?.runAsGroup;
  if (gid !== undefined) extra.unshift(gid);
  return [...new Set(extra)].map(String);
}

/** The pod network's subnet (normalized) and its gateway, the subnet's first address. */
export function parseSubnet(cidr: string): { subnet: string; gateway: string } {
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
