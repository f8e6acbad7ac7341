#!/usr/bin/env node
// skiff-scheduler: flags → options → start → signals.
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { pino } from "pino";
import { defaultBurst, defaultQps, startSchedulerServer } from "./server.js";

const argv = yargs(hideBin(process.argv))
  .scriptName("skiff-scheduler")
  .usage("$0 [flags]: binds pending pods to nodes")
  .options({
    kubeconfig: {
      type: "string",
      describe: "Path to a kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)",
    },
    "scheduler-name": {
      type: "string",
      default: "default-scheduler",
      describe: "Schedule pods whose spec.schedulerName is this",
    },
    "leader-elect": {
      type: "boolean",
      default: true,
      describe: "Elect a leader among replicas through a Lease before scheduling",
    },
    "leader-elect-resource-namespace": { type: "string", default: "kube-system" },
    "leader-elect-resource-name": { type: "string", default: "kube-scheduler" },
    "leader-elect-lease-duration": { type: "number", default: 15, describe: "Seconds" },
    "leader-elect-renew-deadline": { type: "number", default: 10, describe: "Seconds" },
    "leader-elect-retry-period": { type: "number", default: 2, describe: "Seconds" },
    port: {
      type: "number",
      default: 10259,
      describe: "Port for /healthz and /metrics (plain HTTP; keep it on loopback)",
    },
    "bind-address": { type: "string", default: "127.0.0.1" },
    "kube-api-qps": {
      type: "number",
      default: defaultQps,
      describe: "Requests per second to the apiserver, bindings included (-1: unlimited)",
    },
    "kube-api-burst": { type: "number", default: defaultBurst },
    "percentage-of-nodes-to-score": {
      type: "number",
      default: 0,
      describe: "0: adaptive, as Kubernetes",
    },
    "log-level": { type: "string", default: "info" },
  })
  .strict()
  .parseSync();

const logger = pino({ level: argv["log-level"], base: { component: "skiff-scheduler" } });

/** A scheduler that cannot start (bad kubeconfig, port in use…) says why in one line. */
function cannotStart(err: unknown): never {
  process.stderr.write(`skiff-scheduler: ${(err as Error).message}\n`);
  process.exit(1);
}

const server = await startSchedulerServer({
  kubeconfig: argv.kubeconfig,
  schedulerName: argv["scheduler-name"],
  leaderElect: argv["leader-elect"],
  leaseNamespace: argv["leader-elect-resource-namespace"],
  leaseName: argv["leader-elect-resource-name"],
  leaseDurationSeconds: argv["leader-elect-lease-duration"],
  renewDeadlineMs: argv["leader-elect-renew-deadline"] * 1000,
  retryPeriodMs: argv["leader-elect-retry-period"] * 1000,
  port: argv.port,
  bindAddress: argv["bind-address"],
  qps: argv["kube-api-qps"],
  burst: argv["kube-api-burst"],
  percentageOfNodesToScore: argv["percentage-of-nodes-to-score"],
  logger,
  // A replica that lost the lease exits, so that it comes back as a clean follower.
  onStoppedLeading: () => process.exit(1),
}).catch(cannotStart);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    logger.info({ signal }, "shutting down");
    void server.stop().then(() => process.exit(0));
  });
}
