#!/usr/bin/env node
// skiff-apiserver: parses kube-apiserver's flags, starts the server, stops on a signal.
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { parseDuration } from "@skiff/api";
import {
  ApiServer,
  DEFAULT_MAX_MUTATING_REQUESTS_INFLIGHT,
  DEFAULT_MAX_REQUESTS_INFLIGHT,
} from "./server.js";
import { parseAuthorizationModes } from "./authz/authorizer.js";

// Read as text so that a bad value is quoted as given (a number option would say "NaN").
function seats(flag: string): (v: string | number) => number {
  return (v) => {
    if (!/^\d+$/.test(String(v).trim()))
      throw new Error(`${flag}: invalid number of seats "${v}" (a whole number ≥ 0)`);
    return Number(v);
  };
}

const argv = yargs(hideBin(process.argv))
  .scriptName("skiff-apiserver")
  .usage("$0 [flags]: the Kubernetes API on etcd")
  .option("etcd-servers", {
    type: "string",
    default: "http://127.0.0.1:2379",
    describe: "comma-separated etcd client URLs",
  })
  .option("etcd-cafile", {
    type: "string",
    describe: "CA (PEM) that signs etcd's serving certificates",
  })
  .option("etcd-certfile", { type: "string", describe: "client certificate (PEM) for etcd" })
  .option("etcd-keyfile", { type: "string", describe: "its key (PEM)" })
  .option("bind-address", { type: "string", default: "0.0.0.0" })
  .option("advertise-address", {
    type: "string",
    describe: "address of this apiserver for in-cluster clients (default: the host's)",
  })
  .option("secure-port", { type: "number", default: 6443 })
  .option("tls-cert-file", {
    type: "string",
    demandOption: true,
    describe: "serving certificate (PEM)",
  })
  .option("tls-private-key-file", {
    type: "string",
    demandOption: true,
    describe: "serving key (PEM)",
  })
  .option("client-ca-file", { type: "string", describe: "CA that signs client certificates" })
  .option("kubelet-client-certificate", {
    type: "string",
    describe: "client certificate (PEM) for pods/log and pods/exec calls to kubelets",
  })
  .option("kubelet-client-key", { type: "string", describe: "its key (PEM)" })
  .option("metric-resolution", {
    type: "number",
    default: 15,
    describe: "Seconds between scrapes of the kubelets for metrics.k8s.io",
  })
  .option("authorization-mode", {
    type: "string",
    default: "Node,RBAC",
    describe: "ordered comma-separated authorizers: AlwaysAllow, AlwaysDeny, Node, RBAC",
    coerce: (v: string) => parseAuthorizationModes(v),
  })
  .option("token-auth-file", { type: "string", describe: 'CSV of token,user,uid,"group1,group2"' })
  .option("service-account-signing-key-file", {
    type: "string",
    describe: "private key (PEM) that signs service account tokens",
  })
  .option("service-account-key-file", {
    type: "string",
    array: true,
    describe: "public keys (PEM) that verify service account tokens",
  })
  .option("service-account-issuer", {
    type: "string",
    default: "https://kubernetes.default.svc.cluster.local",
  })
  .option("disable-admission-plugins", {
    type: "string",
    default: "",
    describe: "comma-separated admission plugins to turn off (ServiceAccount)",
  })
  .option("encryption-provider-config", {
    type: "string",
    describe: "EncryptionConfiguration file: resources encrypted at rest in etcd",
  })
  .option("audit-policy-file", { type: "string", describe: "audit.k8s.io/v1 Policy file" })
  .option("audit-log-path", {
    type: "string",
    describe: "file the audit Events are appended to, one JSON line each (- for stdout)",
  })
  .option("audit-log-maxsize", {
    type: "number",
    default: 0,
    describe: "megabytes an audit log file may reach before it is rotated (0: never)",
  })
  .option("audit-log-maxbackup", {
    type: "number",
    default: 0,
    describe: "rotated audit log files to keep (0: all)",
  })
  .option("service-cluster-ip-range", { type: "string", default: "10.96.0.0/12" })
  .option("service-node-port-range", { type: "string", default: "30000-32767" })
  .option("event-ttl", {
    type: "string",
    default: "1h0m0s",
    describe: "how long Events are kept",
    coerce: (v: string) => {
      let ms: number;
      try {
        ms = parseDuration(v);
      } catch {
        throw new Error(`--event-ttl: invalid duration "${v}" (examples: 30m, 1h0m0s)`);
      }
      if (ms < 1000) throw new Error(`--event-ttl must be at least 1s, got "${v}"`);
      return ms;
    },
  })
  .option("etcd-compaction-interval", {
    type: "string",
    default: "5m0s",
    describe: "how often etcd's history is compacted (0: never, leave it to etcd)",
    coerce: (v: string) => {
      try {
        return parseDuration(v);
      } catch {
        throw new Error(`--etcd-compaction-interval: invalid duration "${v}" (examples: 5m, 0)`);
      }
    },
  })
  .option("enable-priority-and-fairness", {
    type: "boolean",
    default: true,
    describe: "classify requests by FlowSchema and give each priority level its seats",
  })
  .option("max-requests-inflight", {
    type: "string",
    default: DEFAULT_MAX_REQUESTS_INFLIGHT,
    describe: "seats for requests that do not write (priority and fairness shares the sum)",
    coerce: seats("--max-requests-inflight"),
  })
  .option("max-mutating-requests-inflight", {
    type: "string",
    default: DEFAULT_MAX_MUTATING_REQUESTS_INFLIGHT,
    describe: "seats for requests that write",
    coerce: seats("--max-mutating-requests-inflight"),
  })
  .check((a) => {
    if (a["max-requests-inflight"] + a["max-mutating-requests-inflight"] < 1)
      throw new Error(
        "--max-requests-inflight plus --max-mutating-requests-inflight must be at least 1",
      );
    return true;
  })
  .strict()
  .fail((msg, err) => {
    process.stderr.write(`skiff-apiserver: ${msg ?? err?.message}\n`);
    process.exit(2);
  })
  .parseSync();

async function main(): Promise<void> {
  const server = new ApiServer({
    etcdServers: argv["etcd-servers"]
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    etcdTls: {
      caFile: argv["etcd-cafile"],
      certFile: argv["etcd-certfile"],
      keyFile: argv["etcd-keyfile"],
    },
    bindAddress: argv["bind-address"],
    advertiseAddress: argv["advertise-address"],
    securePort: argv["secure-port"],
    tlsCertFile: argv["tls-cert-file"],
    tlsPrivateKeyFile: argv["tls-private-key-file"],
    clientCaFile: argv["client-ca-file"],
    kubeletClientCertificate: argv["kubelet-client-certificate"],
    kubeletClientKey: argv["kubelet-client-key"],
    metricResolutionMs: argv["metric-resolution"] * 1000,
    tokenAuthFile: argv["token-auth-file"],
    serviceClusterIpRange: argv["service-cluster-ip-range"],
    serviceNodePortRange: argv["service-node-port-range"],
    serviceAccountSigningKeyFile: argv["service-account-signing-key-file"],
    serviceAccountKeyFiles: argv["service-account-key-file"],
    serviceAccountIssuer: argv["service-account-issuer"],
    eventTtlSeconds: Math.round(argv["event-ttl"] / 1000),
    etcdCompactionIntervalMs: argv["etcd-compaction-interval"],
    authorizationModes: argv["authorization-mode"],
    encryptionProviderConfig: argv["encryption-provider-config"],
    auditPolicyFile: argv["audit-policy-file"],
    auditLogPath: argv["audit-log-path"],
    auditLogMaxSizeMB: argv["audit-log-maxsize"],
    auditLogMaxBackups: argv["audit-log-maxbackup"],
    enablePriorityAndFairness: argv["enable-priority-and-fairness"],
    maxRequestsInflight: argv["max-requests-inflight"],
    maxMutatingRequestsInflight: argv["max-mutating-requests-inflight"],
    disableAdmissionPlugins: argv["disable-admission-plugins"]
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  });
  // A signal during start (after this server joined the kubernetes endpoints) still leaves
  // them on the way out.
  const stop = (signal: string): void => {
    server.log.info({ signal }, "stopping");
    void server.stop().then(() => process.exit(0));
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  await server.start();
}

main().catch((err: unknown) => {
  process.stderr.write(`skiff-apiserver: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
