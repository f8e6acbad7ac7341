// For measuring only (issue 20), not shipped: N skiff-apiserver processes sharing one port
// through node:cluster (the primary accepts connections and hands them out round-robin).
//   node [node flags] scripts/bench/apiserver-workers.mjs <apiserver main.js> [apiserver flags]
// SKIFF_APISERVER_WORKERS: how many (default 2). Each worker is a whole apiserver (its own
// watch caches, bootstrap reconcile, compactor), as the HA issue's apiservers are.
import cluster from "node:cluster";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

if (cluster.isPrimary) {
  const n = Number(process.env.SKIFF_APISERVER_WORKERS ?? "2");
  let stopping = false;
  for (let i = 0; i < n; i++) cluster.fork();
  cluster.on("exit", (_worker, code) => {
    if (!stopping) {
      process.stderr.write(`apiserver worker exited with ${code}\n`);
      process.exit(code || 1);
    }
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  });
  for (const signal of ["SIGTERM", "SIGINT"]) {
    process.once(signal, () => {
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
    });
  }
} else {
  const main = process.argv.splice(2, 1)[0];
  await import(pathToFileURL(resolve(main)).href);
}
