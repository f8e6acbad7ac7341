// `cordon`, `uncordon` and `drain` (cordon, then evict the node's pods through
// pods/eviction, leaving DaemonSet pods alone with --ignore-daemonsets).
import { ApiError, isNotFound } from "@skiff/client";
import { durationMs, sleep, str, type Ctx } from "../context.js";
import { CommandError } from "../errors.js";
import { resourcePath } from "../discovery.js";
import { listObjects } from "../targets.js";

type Obj = Record<string, unknown>;

async function setUnschedulable(ctx: Ctx, node: string, value: boolean): Promise<void> {
  const nodes = await ctx.discovery.resolve("nodes");
  const path = resourcePath(nodes, undefined, node);
  const live = (await ctx.rest.request("GET", path)) as { spec?: { unschedulable?: boolean } };
  if ((live.spec?.unschedulable === true) === value) {
    ctx.out(`node/${node} already ${value ? "cordoned" : "uncordoned"}\n`);
    return;
  }
  await ctx.rest.request("PATCH", path, {
    body: { spec: { unschedulable: value ? true : null } },
    contentType: "application/strategic-merge-patch+json",
  });
  ctx.out(`node/${node} ${value ? "cordoned" : "uncordoned"}\n`);
}

export function cordon(ctx: Ctx): Promise<void> {
  return setUnschedulable(ctx, str(ctx.args.node) ?? "", true);
}

export function uncordon(ctx: Ctx): Promise<void> {
  return setUnschedulable(ctx, str(ctx.args.node) ?? "", false);
}

function controller(pod: Obj): { kind?: string } | undefined {
  const refs = ((pod.metadata as Obj | undefined)?.ownerReferences ?? []) as {
    kind?: string;
    controller?: boolean;
  }[];
  return refs.find((r) => r.controller);
}

/** How long drain waits before asking again for an eviction a budget refused. */
const EVICTION_RETRY_MS = 5_000;

export async function drain(ctx: Ctx): Promise<void> {
  const node = str(ctx.args.node) ?? "";
  await setUnschedulable(ctx, node, true);
  const pods = await ctx.discovery.resolve("pods");
  const { items } = await listObjects(ctx, pods, undefined, {
    fieldSelector: `spec.nodeName=${node}`,
  });
  const evict: Obj[] = [];
  const daemonSetPods: string[] = [];
  const unmanaged: string[] = [];
  for (const pod of items) {
    const meta = (pod.metadata ?? {}) as { name?: string; namespace?: string };
    const phase = ((pod.status ?? {}) as { phase?: string }).phase;
    const key = `${meta.namespace ?? ""}/${meta.name ?? ""}`;
    if (phase === "Succeeded" || phase === "Failed") {
      evict.push(pod);
      continue;
    }
    const owner = controller(pod);
    if (owner?.kind === "DaemonSet") daemonSetPods.push(key);
    else if (!owner) unmanaged.push(key);
    if (owner?.kind !== "DaemonSet") evict.push(pod);
  }
  const problems: string[] = [];
  if (daemonSetPods.length > 0 && ctx.args.ignoreDaemonsets !== true)
    problems.push(
      `cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): ${daemonSetPods.join(", ")}`,
    );
  if (unmanaged.length > 0 && ctx.args.force !== true)
    problems.push(
      `cannot delete Pods that declare no controller (use --force to override): ${unmanaged.join(", ")}`,
    );
  if (problems.length > 0)
    throw new CommandError(
      `error: unable to drain node "${node}" due to error: ${problems.join(", ")}`,
    );
  if (daemonSetPods.length > 0)
    ctx.err(`Warning: ignoring DaemonSet-managed Pods: ${daemonSetPods.join(", ")}\n`);
  const deadline = Date.now() + durationMs(ctx.args.timeout, 300_000);
  for (const pod of evict) {
    const meta = (pod.metadata ?? {}) as { name?: string; namespace?: string };
    ctx.out(`evicting pod ${meta.namespace ?? ""}/${meta.name ?? ""}\n`);
    // A disruption budget that says "not now" (429) is waited out, as kubectl drain does.
    for (;;) {
      try {
        await ctx.rest.request("POST", resourcePath(pods, meta.namespace, meta.name, "eviction"), {
          body: {
            apiVersion: "policy/v1",
            kind: "Eviction",
            metadata: { name: meta.name, namespace: meta.namespace },
          },
        });
        break;
      } catch (e) {
        if (isNotFound(e)) break;
        if (!(e instanceof ApiError) || e.code !== 429) throw e;
        if (Date.now() + EVICTION_RETRY_MS > deadline)
          throw new CommandError(
            `error: unable to drain node "${node}": error when evicting pods/"${meta.name ?? ""}" -n "${meta.namespace ?? ""}": global timeout reached`,
          );
        ctx.err(
          `error when evicting pods/"${meta.name ?? ""}" -n "${meta.namespace ?? ""}" (will retry after 5s): ${e.message}\n`,
        );
        await sleep(EVICTION_RETRY_MS);
      }
    }
  }
  for (const pod of evict) {
    const meta = (pod.metadata ?? {}) as { name?: string; namespace?: string; uid?: string };
    for (;;) {
      try {
        const live = (await ctx.rest.request(
          "GET",
          resourcePath(pods, meta.namespace, meta.name),
        )) as { metadata?: { uid?: string } };
        if (live.metadata?.uid !== meta.uid) break;
      } catch (e) {
        if (isNotFound(e)) break;
        throw e;
      }
      if (Date.now() > deadline)
        throw new CommandError(
          `error: timed out waiting for pod ${meta.namespace}/${meta.name} to be evicted`,
        );
      await sleep(500, ctx.io.signal);
    }
    ctx.out(`pod/${meta.name ?? ""} evicted\n`);
  }
  ctx.out(`node/${node} drained\n`);
}
