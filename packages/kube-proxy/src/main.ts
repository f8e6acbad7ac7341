#!/usr/bin/env node
// skiff-proxy: parses kube-proxy's flags, runs the proxy (or --cleanup), stops on a signal.
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { pino } from "pino";
import { parseDuration } from "@skiff/api";
import { ProxyServer, cleanupProxyRules, defaultClusterCIDR } from "./proxy.js";
import { ConfigError } from "./errors.js";

/** A duration flag in milliseconds; a bad one is a usage error naming the flag. */
function duration(flag: string, v: string): number {
  try {
    return parseDuration(v);
  } catch {
    throw new ConfigError(`--${flag}: invalid duration "${v}" (examples: 500ms, 1s, 1m30s)`);
  }
}

const argv = yargs(hideBin(process.argv))
  .scriptName("skiff-proxy")
  .usage("$0 [flags]: Service rules in the kernel, from the API")
  .option("kubeconfig", {
    type: "string",
    describe: "kubeconfig with the apiserver and credentials",
  })
  .option("hostname-override", { type: "string", describe: "this node's name (default hostname)" })
  .option("proxy-mode", { choices: ["iptables", "ipvs"] as const, default: "iptables" as const })
  .option("ipvs-scheduler", {
    type: "string",
    default: "rr",
    describe: "IPVS scheduler (ipvs mode)",
  })
  .option("cluster-cidr", { type: "string", default: defaultClusterCIDR })
  .option("min-sync-period", {
    type: "string",
    default: "1s",
    coerce: (v: string) => duration("min-sync-period", v),
  })
  .option("sync-period", {
    type: "string",
    default: "30s",
    describe: "how often to sync (partially) and check the canary; full syncs are hourly",
    coerce: (v: string) => duration("sync-period", v),
  })
  .option("metrics-bind-address", { type: "string", default: "127.0.0.1:10249" })
  .option("healthz-bind-address", { type: "string", default: "0.0.0.0:10256" })
  .option("cleanup", { type: "boolean", default: false, describe: "remove every rule and exit" })
  .option("v", { type: "number", default: 0, describe: "log verbosity (>= 4: debug)" })
  .strict()
  .fail((msg, err) => {
    process.stderr.write(`skiff-proxy: ${msg ?? err?.message}\n`);
    process.exit(2);
  })
  .parseSync();

const log = pino({ name: "skiff-proxy", level: argv.v >= 4 ? "debug" : "info" });

async function main(): Promise<void> {
  if (argv.cleanup) {
    await cleanupProxyRules({ clusterCIDR: argv["cluster-cidr"], log });
    process.exit(0);
  }
  const proxy = new ProxyServer({
    kubeconfig: argv.kubeconfig,
    hostnameOverride: argv["hostname-override"],
    proxyMode: argv["proxy-mode"],
    ipvsScheduler: argv["ipvs-scheduler"],
    clusterCIDR: argv["cluster-cidr"],
    minSyncPeriodMs: argv["min-sync-period"],
    syncPeriodMs: argv["sync-period"],
    metricsBindAddress: argv["metrics-bind-address"],
    healthzBindAddress: argv["healthz-bind-address"],
    log,
  });
  // As kube-proxy: a signal stops the syncing, the rules stay so that traffic keeps flowing.
  const stop = (signal: string): void => {
    log.info({ signal }, "stopping; leaving the rules in place");
    void proxy.stop().then(() => process.exit(0));
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  await proxy.start();
}

main().catch((err: unknown) => {
  log.error({ err: err instanceof Error ? err.message : String(err) }, "skiff-proxy failed");
  process.exit(1);
});
