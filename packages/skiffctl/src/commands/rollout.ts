// `rollout status|history|undo|restart|pause|resume` for deployments, done client-side the
// way kubectl 1.31 does it.
import type { DaemonSet, Deployment } from "@skiff/api";
import { ApiError, Watch } from "@skiff/client";
import type { KubeObject } from "@skiff/client";
import { durationMs, str, strings, type Ctx } from "../context.js";
import { CommandError } from "../errors.js";
import { kindPrefix, resourcePath, type ApiResource } from "../discovery.js";
import { alignRows } from "../printers.js";
import { listObjects, namespaceFor, resolveTargets } from "../targets.js";

type Obj = Record<string, unknown>;

const revisionAnnotation = "deployment.kubernetes.io/revision";

/**
 * kubectl's DeploymentStatusViewer: the message to print and whether the rollout is done.
 * Throws when the deployment exceeded its progress deadline.
 */
export function deploymentStatus(d: Deployment): { message: string; done: boolean } {
  const name = d.metadata?.name ?? "";
  const st = d.status ?? {};
  if ((d.metadata?.generation ?? 0) > (st.observedGeneration ?? 0)) {
    return { message: "Waiting for deployment spec update to be observed...\n", done: false };
  }
  const progressing = st.conditions?.find((c) => c.type === "Progressing");
  if (progressing?.reason === "ProgressDeadlineExceeded") {
    throw new CommandError(`error: deployment "${name}" exceeded its progress deadline`);
  }
  const want = d.spec?.replicas ?? 1;
  const updated = st.updatedReplicas ?? 0;
  const replicas = st.replicas ?? 0;
  const available = st.availableReplicas ?? 0;
  const waiting = `Waiting for deployment "${name}" rollout to finish: `;
  if (updated < want) {
    return {
      message: `${waiting}${updated} out of ${want} new replicas have been updated...\n`,
      done: false,
    };
  }
  if (replicas > updated) {
    return {
      message: `${waiting}${replicas - updated} old replicas are pending termination...\n`,
      done: false,
    };
  }
  if (available < updated) {
    return {
      message: `${waiting}${available} of ${updated} updated replicas are available...\n`,
      done: false,
    };
  }
  return { message: `deployment "${name}" successfully rolled out\n`, done: true };
}

/** kubectl's DaemonSetStatusViewer. */
export function daemonSetStatus(ds: DaemonSet): { message: string; done: boolean } {
  const name = ds.metadata?.name ?? "";
  const st: Partial<NonNullable<DaemonSet["status"]>> = ds.status ?? {};
  if ((ds.spec?.updateStrategy?.type ?? "RollingUpdate") !== "RollingUpdate") {
    throw new CommandError(
      "error: rollout status is only available for RollingUpdate strategy type",
    );
  }
  if ((ds.metadata?.generation ?? 0) > (st.observedGeneration ?? 0)) {
    return { message: "Waiting for daemon set spec update to be observed...\n", done: false };
  }
  const desired = st.desiredNumberScheduled ?? 0;
  const updated = st.updatedNumberScheduled ?? 0;
  const available = st.numberAvailable ?? 0;
  const waiting = `Waiting for daemon set "${name}" rollout to finish: `;
  if (updated < desired) {
    return {
      message: `${waiting}${updated} out of ${desired} new pods have been updated...\n`,
      done: false,
    };
  }
  if (available < desired) {
    return {
      message: `${waiting}${available} of ${desired} updated pods are available...\n`,
      done: false,
    };
  }
  return { message: `daemon set "${name}" successfully rolled out\n`, done: true };
}

async function deploymentTarget(
  ctx: Ctx,
  action: string | undefined,
): Promise<{ resource: ApiResource; name: string }[]> {
  const out: { resource: ApiResource; name: string }[] = [];
  for (const t of await resolveTargets(ctx, strings(ctx.args.resources))) {
    const kind = t.resource.kind;
    const allowed = kind === "Deployment" || (kind === "DaemonSet" && action === "status");
    if (!allowed) {
      throw new CommandError(`error: no rollout ${action ?? ""} support for ${kind}`);
    }
    if (t.names.length === 0) throw new CommandError("error: required resource name is not set");
    for (const name of t.names) out.push({ resource: t.resource, name });
  }
  return out;
}

async function status(ctx: Ctx, resource: ApiResource, name: string): Promise<void> {
  const ns = namespaceFor(ctx, resource, false);
  const path = resourcePath(resource, ns, name);
  const deadline = Date.now() + durationMs(ctx.args.timeout, 0);
  const hasDeadline = str(ctx.args.timeout) !== undefined && str(ctx.args.timeout) !== "0s";
  let last = "";
  // The server answers with the kind `resource` names: a DaemonSet or a Deployment.
  const show = (d: DaemonSet | Deployment): boolean => {
    const s = resource.kind === "DaemonSet" ? daemonSetStatus(d as DaemonSet) : deploymentStatus(d);
    if (s.message !== last || s.done) ctx.out(s.message);
    last = s.message;
    return s.done;
  };
  const d = (await ctx.rest.request("GET", path)) as DaemonSet | Deployment;
  if (show(d) || ctx.args.watch === false) return;
  let resourceVersion = d.metadata?.resourceVersion ?? "";
  for (;;) {
    const ac = new AbortController();
    const timer = hasDeadline
      ? setTimeout(() => ac.abort(), Math.max(0, deadline - Date.now()))
      : undefined;
    const stop = (): void => ac.abort();
    ctx.io.signal?.addEventListener("abort", stop);
    const w = new Watch<KubeObject>((signal) =>
      ctx.rest.stream("GET", resourcePath(resource, ns), {
        signal,
        query: {
          fieldSelector: `metadata.name=${name}`,
          resourceVersion,
          watch: true,
          allowWatchBookmarks: true,
        },
      }),
    );
    ac.signal.addEventListener("abort", () => w.stop());
    try {
      for await (const ev of w) {
        if (ev.type === "ERROR") throw new ApiError(ev.object);
        resourceVersion = ev.object.metadata.resourceVersion ?? resourceVersion;
        if (ev.type === "BOOKMARK") continue;
        if (ev.type === "DELETED") throw new CommandError(`error: object has been deleted`);
        if (show(ev.object)) return;
      }
    } finally {
      clearTimeout(timer);
      ctx.io.signal?.removeEventListener("abort", stop);
    }
    if (ctx.io.signal?.aborted) return;
    if (hasDeadline && Date.now() >= deadline)
      throw new CommandError("error: timed out waiting for the condition");
  }
}

/** The deployment's ReplicaSets (controlled by it), by revision. */
async function replicaSetsOf(
  ctx: Ctx,
  ns: string | undefined,
  d: Deployment,
): Promise<{ revision: number; rs: Obj }[]> {
  const rsResource = await ctx.discovery.resolve("replicasets.apps");
  const { items } = await listObjects(ctx, rsResource, ns);
  return items
    .filter((rs) => {
      const refs = ((rs.metadata as Obj | undefined)?.ownerReferences ?? []) as {
        uid?: string;
        controller?: boolean;
      }[];
      return refs.some((r) => r.controller && r.uid === d.metadata?.uid);
    })
    .map((rs) => {
      const ann = ((rs.metadata as Obj | undefined)?.annotations ?? {}) as Record<string, string>;
      return { revision: Number(ann[revisionAnnotation] ?? 0), rs };
    })
    .sort((a, b) => a.revision - b.revision);
}

async function history(ctx: Ctx, resource: ApiResource, name: string): Promise<void> {
  const ns = namespaceFor(ctx, resource, false);
  const d = (await ctx.rest.request("GET", resourcePath(resource, ns, name))) as Deployment;
  const sets = await replicaSetsOf(ctx, ns, d);
  const wanted = ctx.args.revision;
  if (typeof wanted === "number" && wanted > 0) {
    const found = sets.find((s) => s.revision === wanted);
    if (!found) throw new CommandError(`error: unable to find the specified revision`);
    ctx.out(`${kindPrefix(resource)}/${name} with revision #${wanted}\n`);
    ctx.out(JSON.stringify((found.rs.spec as Obj | undefined)?.template ?? {}, null, 2) + "\n");
    return;
  }
  ctx.out(`${kindPrefix(resource)}/${name} \n`);
  const rows = [["REVISION", "CHANGE-CAUSE"]];
  for (const { revision, rs } of sets) {
    const ann = ((rs.metadata as Obj | undefined)?.annotations ?? {}) as Record<string, string>;
    rows.push([String(revision), ann["kubernetes.io/change-cause"] ?? "<none>"]);
  }
  ctx.out(alignRows(rows) + "\n");
}

async function undo(ctx: Ctx, resource: ApiResource, name: string): Promise<void> {
  const ns = namespaceFor(ctx, resource, false);
  const path = resourcePath(resource, ns, name);
  const d = (await ctx.rest.request("GET", path)) as Deployment;
  if (d.spec?.paused) {
    throw new CommandError(
      `error: you cannot rollback a paused deployment; resume it first with 'skiffctl rollout resume' and try again`,
    );
  }
  const sets = await replicaSetsOf(ctx, ns, d);
  const toRevision = typeof ctx.args.toRevision === "number" ? ctx.args.toRevision : 0;
  let chosen: Obj | undefined;
  if (toRevision > 0) chosen = sets.find((s) => s.revision === toRevision)?.rs;
  else if (sets.length >= 2) chosen = sets[sets.length - 2]!.rs;
  if (!chosen) {
    throw new CommandError(
      toRevision > 0
        ? `error: unable to find specified revision ${toRevision} in history`
        : 'error: no rollout history found for deployment "' + name + '"',
    );
  }
  const template = structuredClone(((chosen.spec as Obj | undefined)?.template ?? {}) as Obj);
  const labels = ((template.metadata as Obj | undefined)?.labels ?? {}) as Record<string, string>;
  delete labels["pod-template-hash"];
  if (JSON.stringify(template) === JSON.stringify(d.spec?.template)) {
    ctx.out(
      `${kindPrefix(resource)}/${name} skipped rollback (current template already matches revision ${toRevision || "previous"})\n`,
    );
    return;
  }
  await ctx.rest.request("PATCH", path, {
    body: [{ op: "replace", path: "/spec/template", value: template }],
    contentType: "application/json-patch+json",
  });
  ctx.out(`${kindPrefix(resource)}/${name} rolled back\n`);
}

async function patchDeployment(
  ctx: Ctx,
  resource: ApiResource,
  name: string,
  patch: Obj,
  verb: string,
): Promise<void> {
  await ctx.rest.request(
    "PATCH",
    resourcePath(resource, namespaceFor(ctx, resource, false), name),
    {
      body: patch,
      contentType: "application/strategic-merge-patch+json",
    },
  );
  ctx.out(`${kindPrefix(resource)}/${name} ${verb}\n`);
}

export async function rollout(ctx: Ctx): Promise<void> {
  const action = str(ctx.args.action);
  for (const { resource, name } of await deploymentTarget(ctx, action)) {
    switch (action) {
      case "status":
        await status(ctx, resource, name);
        break;
      case "history":
        await history(ctx, resource, name);
        break;
      case "undo":
        await undo(ctx, resource, name);
        break;
      case "restart":
        await patchDeployment(
          ctx,
          resource,
          name,
          {
            spec: {
              template: {
                metadata: {
                  annotations: {
                    "kubectl.kubernetes.io/restartedAt": new Date()
                      .toISOString()
                      .replace(/\.\d+Z$/, "Z"),
                  },
                },
              },
            },
          },
          "restarted",
        );
        break;
      case "pause":
        await patchDeployment(ctx, resource, name, { spec: { paused: true } }, "paused");
        break;
      case "resume":
        await patchDeployment(ctx, resource, name, { spec: { paused: null } }, "resumed");
        break;
      default:
        throw new CommandError(
          `error: unknown rollout action "${action ?? ""}": use status, history, undo, restart, pause or resume`,
        );
    }
  }
}
