#!/usr/bin/env node
// skiff-kubelet: flags → options → start → signals.
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { pino } from "pino";
import { startKubelet } from "./start.js";

const argv = yargs(hideBin(process.argv))
  .scriptName("skiff-kubelet")
  .usage("$0 [flags]: runs this node's pods as Docker containers")
  .options({
    kubeconfig: { type: "string", describe: "Path to a kubeconfig for the kubelet's identity" },
    "node-name": { type: "string", describe: "The Node's name (default: the hostname)" },
    "node-ip": { type: "string", describe: "The node's InternalIP (default: primary address)" },
    "root-dir": { type: "string", default: "/var/lib/skiff-kubelet" },
    port: { type: "number", default: 10250, describe: "HTTPS port of the kubelet API (0: off)" },
    address: { type: "string", default: "0.0.0.0", describe: "Address the HTTPS API binds" },
    "client-ca-file": { type: "string", describe: "CA that signs the apiserver's client cert" },
    "tls-cert-file": { type: "string", describe: "Serving cert (default: self-signed)" },
    "tls-private-key-file": { type: "string" },
    "authorization-mode": {
      choices: ["Webhook", "AlwaysAllow"] as const,
      default: "Webhook" as const,
      describe: "Webhook: the apiserver decides each call (SubjectAccessReview)",
    },
    "cluster-dns": { type: "string", default: "10.96.0.10", describe: "Comma-separated" },
    "cluster-domain": { type: "string", default: "cluster.local" },
    "pod-network-mtu": {
      type: "number",
      describe: "MTU of pod interfaces (default: the engine's); the uplink's minus 50 under VXLAN",
    },
    "resolv-conf": {
      type: "string",
      default: "",
      describe:
        "The node's resolv.conf, for pods with dnsPolicy Default (Kubernetes: /etc/resolv.conf; here none unless named, so that no pod gets a nameserver nobody chose)",
    },
    "register-with-taints": { type: "string", default: "", describe: "key=value:Effect,..." },
    runtime: { choices: ["docker", "simulated"] as const, default: "docker" as const },
    "pod-manifest-path": { type: "string", describe: "Directory of static pod manifests" },
    "log-level": { type: "string", default: "info" },
  })
  .check((a) => {
    const mtu = a["pod-network-mtu"];
    if (mtu !== undefined && !(Number.isInteger(mtu) && mtu >= 576 && mtu <= 65535)) {
      throw new Error(`--pod-network-mtu=${String(mtu)}: must be a whole number from 576 to 65535`);
    }
    return true;
  })
  .strict()
  .fail((msg, err) => {
    process.stderr.write(`skiff-kubelet: ${msg ?? err?.message}\n`);
    process.exit(2);
  })
  .parseSync();

const logger = pino({ level: argv["log-level"], base: { component: "skiff-kubelet" } });

const running = await startKubelet({
  kubeconfig: argv.kubeconfig,
  nodeName: argv["node-name"],
  nodeIP: argv["node-ip"],
  rootDir: argv["root-dir"],
  port: argv.port,
  bindAddress: argv.address,
  clientCAFile: argv["client-ca-file"],
  tlsCertFile: argv["tls-cert-file"],
  tlsPrivateKeyFile: argv["tls-private-key-file"],
  authorizationMode: argv["authorization-mode"],
  clusterDNS: argv["cluster-dns"].split(",").filter(Boolean),
  clusterDomain: argv["cluster-domain"],
  podNetworkMTU: argv["pod-network-mtu"],
  resolvConf: argv["resolv-conf"],
  registerWithTaints: argv["register-with-taints"],
  runtime: argv.runtime,
  podManifestPath: argv["pod-manifest-path"],
  logger,
}).catch((err: unknown) => {
  // One line naming the cause (no engine, a bad kubeconfig, a refused registration).
  logger.fatal({ err: err instanceof Error ? err.message : String(err) }, "kubelet cannot start");
  process.exit(1);
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    logger.info({ signal }, "shutting down");
    void running.stop().then(() => process.exit(0));
  });
}
