#!/usr/bin/env node
// skiff-controller-manager: flags → options → start → signals.
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { pino } from "pino";
import { readFileSync } from "node:fs";
import { ControllerManager } from "./manager.js";

const argv = await yargs(hideBin(process.argv))
  .scriptName("skiff-controller-manager")
  .option("kubeconfig", { type: "string", describe: "Path to a kubeconfig file" })
  .option("controllers", {
    type: "string",
    default: "*",
    describe: "Controllers to enable: '*' for all, 'foo' enables, '-foo' disables",
  })
  .option("leader-elect", { type: "boolean", default: true, describe: "Lead through a Lease" })
  .option("leader-elect-lease-duration", { type: "number", default: 15, describe: "Seconds" })
  .option("leader-elect-renew-deadline", { type: "number", default: 10, describe: "Seconds" })
  .option("leader-elect-retry-period", { type: "number", default: 2, describe: "Seconds" })
  .option("port", {
    type: "number",
    default: 10257,
    describe: "Port for /healthz and /metrics (plain HTTP)",
  })
  .option("bind-address", { type: "string", default: "127.0.0.1" })
  .option("concurrent-syncs", { type: "number", default: 5, describe: "Workers per controller" })
  .option("kube-api-qps", { type: "number", default: 200 })
  .option("kube-api-burst", { type: "number", default: 400 })
  .option("cluster-cidr", {
    type: "string",
    default: "10.244.0.0/16",
    describe: "Pod CIDR of the cluster (nodeipam)",
  })
  .option("node-cidr-mask-size", { type: "number", default: 24 })
  .option("node-monitor-grace-period", { type: "number", default: 40, describe: "Seconds" })
  .option("local-path-root", {
    type: "string",
    default: "/var/lib/skiff/local-path",
    describe: "Directory on each node where the local-path provisioner keeps volumes",
  })
  .option("root-ca-file", {
    type: "string",
    describe:
      "CA (PEM) published as kube-root-ca.crt in every namespace (default: the kubeconfig's)",
  })
  .option("use-service-account-credentials", {
    type: "boolean",
    default: false,
    describe:
      "Run each controller as its own ServiceAccount in kube-system (system:controller:<name> roles)",
  })
  .option("v", { type: "number", default: 2, describe: "Log verbosity (4+: debug)" })
  .strict()
  .parseAsync();

/** --root-ca-file's PEM; an unreadable file is a one-line error and exit 2. */
function readRootCA(file: string | undefined): string | undefined {
  if (!file) return undefined;
  try {
    const pem = readFileSync(file, "utf8");
    if (!pem.includes("-----BEGIN CERTIFICATE-----")) throw new Error("no PEM certificate in it");
    return pem;
  } catch (err) {
    process.stderr.write(
      `skiff-controller-manager: --root-ca-file ${file}: ${(err as Error).message}\n`,
    );
    process.exit(2);
  }
}

const logger = pino({ name: "kube-controller-manager", level: argv.v >= 4 ? "debug" : "info" });
/** A controller-manager that cannot start (bad kubeconfig, unknown controller…) says why in one line. */
function cannotStart(err: unknown): never {
  process.stderr.write(`skiff-controller-manager: ${(err as Error).message}\n`);
  process.exit(1);
}

let cm: ControllerManager;
try {
  cm = new ControllerManager({
    kubeconfig: argv.kubeconfig,
    controllers: argv.controllers.split(","),
    leaderElect: argv["leader-elect"],
    leaseDurationSeconds: argv["leader-elect-lease-duration"],
    renewDeadlineMs: argv["leader-elect-renew-deadline"] * 1000,
    retryPeriodMs: argv["leader-elect-retry-period"] * 1000,
    port: argv.port,
    bindAddress: argv["bind-address"],
    concurrentSyncs: argv["concurrent-syncs"],
    kubeApiQps: argv["kube-api-qps"],
    kubeApiBurst: argv["kube-api-burst"],
    clusterCIDR: argv["cluster-cidr"],
    nodeCIDRMaskSize: argv["node-cidr-mask-size"],
    nodeMonitorGracePeriodMs: argv["node-monitor-grace-period"] * 1000,
    localPathRoot: argv["local-path-root"],
    rootCA: readRootCA(argv["root-ca-file"]),
    useServiceAccountCredentials: argv["use-service-account-credentials"],
    logger,
    onStoppedLeading: () => {
      logger.error("leader election lost");
      process.exit(1);
    },
  });
} catch (err) {
  cannotStart(err);
}
await cm.start().catch(cannotStart);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    logger.info({ signal }, "shutting down");
    void cm.stop().then(() => process.exit(0));
  });
}
