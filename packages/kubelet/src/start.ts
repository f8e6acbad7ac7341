// startKubelet: typed options → a running kubelet (node agent, pod workers, HTTPS server).
// main.ts only turns flags into these options; tests call this directly.
import { hostname } from "node:os";
import { resolve } from "node:path";
import { loadClientConfig, RestClient, type Logger } from "@skiff/client";
import { Kubelet, ensureRootDir } from "./kubelet.js";
import { NodeAgent, parseTaints, primaryAddress } from "./node.js";
import type { DockerRuntime } from "./runtime/docker.js";
import { LABEL_KUBELET, type ContainerRuntime } from "./runtime/runtime.js";
import { SimulatedRuntime } from "./runtime/simulated.js";
import { startKubeletServer, type KubeletServer } from "./server.js";
import { KubeletAuth, type AuthorizationMode } from "./auth.js";

export interface StartKubeletOptions {
  kubeconfig?: string;
  nodeName?: string;
  nodeIP?: string;
  rootDir?: string;
  /** 0: no HTTPS server. */
  port?: number;
  bindAddress?: string;
  clientCAFile?: string;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  clusterDNS?: string[];
  clusterDomain?: string;
  podNetworkMTU?: number;
  /** The node's resolv.conf for dnsPolicy Default; "" or unset: none. */
  resolvConf?: string;
  registerWithTaints?: string;
  /** "docker" (default) or "simulated". */
  runtime?: "docker" | "simulated";
  /** A ready runtime instead of one made from `runtime` (tests: owner labels, network name). */
  containerRuntime?: ContainerRuntime;
  resyncPeriodMs?: number;
  relistPeriodMs?: number;
  podManifestPath?: string;
  /** Webhook (default: SubjectAccessReview) or AlwaysAllow, as the kubelet's --authorization-mode. */
  authorizationMode?: AuthorizationMode;
  logger: Logger;
}

export interface RunningKubelet {
  kubelet: Kubelet;
  node: NodeAgent;
  server?: KubeletServer;
  nodeName: string;
  stop(): Promise<void>;
}

export async function startKubelet(opts: StartKubeletOptions): Promise<RunningKubelet> {
  const config = loadClientConfig({ kubeconfig: opts.kubeconfig });
  const client = new RestClient(config);
  // Events get their own rate limit, as Kubernetes' kubelet gives them (50/s, burst 100).
  const eventClient = new RestClient(config);
  // Node status and the node's Lease go through a client of their own (Kubernetes' kubelet has
  // a heartbeat client), on a connection of their own: the request pool is shared by the other
  // two clients and bounded, and a heartbeat must not wait behind a burst of pod status writes.
  const heartbeatClient = new RestClient(config, { pool: "heartbeat", maxSockets: 2 });
  const nodeName = (opts.nodeName ?? hostname()).toLowerCase();
  const nodeIP = opts.nodeIP ?? primaryAddress();
  const rootDir = resolve(opts.rootDir ?? "/var/lib/skiff-kubelet");
  const port = opts.port ?? 10250;
  await ensureRootDir(rootDir);
  // The Docker runtime (dockerode and its dependencies, ~28 MB of RSS) is loaded only when it
  // is used: a simulated kubelet never needs it.
  const runtime =
    opts.containerRuntime ??
    (opts.runtime === "simulated"
      ? new SimulatedRuntime()
      : new (await import("./runtime/docker.js")).DockerRuntime({
          ownerLabels: { [LABEL_KUBELET]: rootDir },
        }));
  let runtimeVersion = "simulated://0.1.0";
  let storagePath = rootDir;
  let runtimeHealthy = () => Promise.resolve(true);
  if (isDocker(runtime)) {
    const info = (await runtime.docker.info()) as {
      ServerVersion?: string;
      DockerRootDir?: string;
    };
    runtimeVersion = `docker://${info.ServerVersion ?? "unknown"}`;
    storagePath = info.DockerRootDir ?? "/var/lib/docker";
    runtimeHealthy = () => runtime.docker.ping().then(() => true);
  }
  const kubelet = new Kubelet({
    client,
    eventClient,
    runtime,
    nodeName,
    nodeIP,
    rootDir,
    clusterDNS: opts.clusterDNS ?? ["10.96.0.10"],
    clusterDomain: opts.clusterDomain ?? "cluster.local",
    podNetworkMTU: opts.podNetworkMTU,
    resolvConf: opts.resolvConf ?? "",
    log: opts.logger,
    resyncPeriodMs: opts.resyncPeriodMs,
    relistPeriodMs: opts.relistPeriodMs,
    podManifestPath: opts.podManifestPath,
  });
  const node = new NodeAgent({
    client: heartbeatClient,
    nodeName,
    nodeIP,
    port,
    runtimeVersion,
    storagePath,
    taints: parseTaints(opts.registerWithTaints ?? ""),
    runtimeHealthy,
    log: opts.logger,
  });
  await node.start((n) => kubelet.onNode(n));
  await kubelet.start();
  let server: KubeletServer | undefined;
  if (port > 0) {
    server = await startKubeletServer({
      kubelet,
      port,
      bindAddress: opts.bindAddress ?? "0.0.0.0",
      rootDir,
      nodeName,
      clientCAFile: opts.clientCAFile,
      tlsCertFile: opts.tlsCertFile,
      tlsPrivateKeyFile: opts.tlsPrivateKeyFile,
      auth: new KubeletAuth({
        client,
        nodeName,
        authorizationMode: opts.authorizationMode,
        log: opts.logger,
      }),
      logger: opts.logger,
    });
  }
  opts.logger.info({ nodeName, nodeIP, runtime: runtime.type }, "kubelet started");
  return {
    kubelet,
    node,
    server,
    nodeName,
    async stop() {
      node.stop();
      await server?.close();
      await kubelet.stop();
      client.close();
      eventClient.close();
      heartbeatClient.close();
    },
  };
}

function isDocker(runtime: ContainerRuntime): runtime is DockerRuntime {
  return runtime.type === "docker";
}
