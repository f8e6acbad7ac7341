// `edit` (the object as YAML in $EDITOR, then PUT), `run` (a Pod) and `expose` (a Service
// selecting a deployment's or pod's pods).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { str, strings, type Ctx } from "../context.js";
import { CommandError } from "../errors.js";
import { kindPrefix, resourcePath } from "../discovery.js";
import { toYaml } from "../printers.js";
import { namespaceFor, resolveTargets } from "../targets.js";

type Obj = Record<string, unknown>;

export async function edit(ctx: Ctx): Promise<void> {
  const targets = await resolveTargets(ctx, strings(ctx.args.resources));
  for (const { resource, names } of targets) {
    if (names.length === 0) throw new CommandError("error: skiffctl edit needs a resource name");
    for (const name of names) {
      const path = resourcePath(resource, namespaceFor(ctx, resource, false), name);
      const live = (await ctx.rest.request("GET", path)) as Obj;
      const before = toYaml(live);
      const dir = mkdtempSync(join(tmpdir(), "skiffctl-edit-"));
      const file = join(dir, `${resource.name}-${name}.yaml`);
      try {
        writeFileSync(file, before);
        const editor = ctx.env.KUBE_EDITOR || ctx.env.EDITOR || "vi";
        const r = spawnSync("sh", ["-c", `${editor} "$1"`, "sh", file], {
          stdio: "inherit",
          env: { ...process.env, ...ctx.env },
        });
        if (r.status !== 0)
          throw new CommandError(`error: there was a problem with the editor "${editor}"`);
        const after = readFileSync(file, "utf8");
        if (after === before) {
          ctx.out("Edit cancelled, no changes made.\n");
          continue;
        }
        let edited: unknown;
        try {
          edited = parse(after);
        } catch (e) {
          throw new CommandError(
            `error: the edited file is not valid YAML: ${(e as Error).message.split("\n")[0]}`,
          );
        }
        await ctx.rest.request("PUT", path, {
          body: edited,
          query: { fieldManager: "kubectl-edit", fieldValidation: "Strict" },
        });
        ctx.out(`${kindPrefix(resource)}/${name} edited\n`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
}

function parseLabels(
  s: string | undefined,
  fallback: Record<string, string>,
): Record<string, string> {
  if (!s) return fallback;
  const out: Record<string, string> = {};
  for (const pair of s.split(",")) {
    const [k, v] = pair.split("=", 2);
    if (!k || v === undefined) throw new CommandError(`error: invalid label spec: ${pair}`);
    out[k] = v;
  }
  return out;
}

export async function runPod(ctx: Ctx): Promise<void> {
  const name = str(ctx.args.name) ?? "";
  const pods = await ctx.discovery.resolve("pods");
  const rest = strings(ctx.args["--"]);
  const env = strings(ctx.args.env).map((e) => {
    const i = e.indexOf("=");
    return { name: i < 0 ? e : e.slice(0, i), value: i < 0 ? "" : e.slice(i + 1) };
  });
  const container: Obj = { name, image: str(ctx.args.image) };
  if (rest.length > 0) container[ctx.args.command === true ? "command" : "args"] = rest;
  if (typeof ctx.args.port === "number") container.ports = [{ containerPort: ctx.args.port }];
  if (env.length > 0) container.env = env;
  const restart = str(ctx.args.restart) ?? "Always";
  if (!["Always", "OnFailure", "Never"].includes(restart))
    throw new CommandError(`error: invalid restart policy: ${restart}`);
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: parseLabels(str(ctx.args.labels), { run: name }) },
    spec: { containers: [container], restartPolicy: restart },
  };
  await ctx.rest.request("POST", resourcePath(pods, ctx.namespace), {
    body: pod,
    query: { fieldManager: "kubectl-run" },
  });
  ctx.out(`pod/${name} created\n`);
}

export async function expose(ctx: Ctx): Promise<void> {
  const [target] = await resolveTargets(ctx, strings(ctx.args.resources));
  const name = target?.names[0];
  if (!target || !name)
    throw new CommandError("error: you must provide one or more resources by argument or filename");
  const { resource } = target;
  const obj = (await ctx.rest.request("GET", resourcePath(resource, ctx.namespace, name))) as Obj;
  const spec = (obj.spec ?? {}) as Obj;
  const meta = (obj.metadata ?? {}) as Obj;
  let selector: Record<string, string>;
  let ports: number[];
  const containersOf = (podSpec: unknown): Obj[] =>
    (((podSpec ?? {}) as Obj).containers ?? []) as Obj[];
  if (resource.kind === "Pod") {
    selector = (meta.labels ?? {}) as Record<string, string>;
    ports = containersOf(spec).flatMap((c) =>
      ((c.ports ?? []) as Obj[]).map((p) => Number(p.containerPort)),
    );
  } else if (resource.kind === "Service") {
    selector = (spec.selector ?? {}) as Record<string, string>;
    ports = ((spec.ports ?? []) as Obj[]).map((p) => Number(p.port));
  } else {
    const sel = (spec.selector ?? {}) as Obj;
    if (sel.matchExpressions)
      throw new CommandError(
        "error: couldn't retrieve selectors via --selector flag or introspection: the selector uses matchExpressions",
      );
    selector = (sel.matchLabels ?? {}) as Record<string, string>;
    const template = (spec.template ?? {}) as Obj;
    ports = containersOf(template.spec).flatMap((c) =>
      ((c.ports ?? []) as Obj[]).map((p) => Number(p.containerPort)),
    );
  }
  const port = typeof ctx.args.port === "number" ? ctx.args.port : ports[0];
  if (port === undefined)
    throw new CommandError("error: couldn't find port via --port flag or introspection");
  const targetPort = str(ctx.args.targetPort);
  const svcName = str(ctx.args.name) ?? name;
  const svc = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: svcName, ...(meta.labels ? { labels: meta.labels } : {}) },
    spec: {
      selector,
      ports: [
        {
          port,
          protocol: str(ctx.args.protocol) ?? "TCP",
          targetPort:
            targetPort === undefined
              ? port
              : /^\d+$/.test(targetPort)
                ? Number(targetPort)
                : targetPort,
        },
      ],
      ...(str(ctx.args.type) ? { type: str(ctx.args.type) } : {}),
    },
  };
  const services = await ctx.discovery.resolve("services");
  await ctx.rest.request("POST", resourcePath(services, ctx.namespace), {
    body: svc,
    query: { fieldManager: "kubectl-expose" },
  });
  ctx.out(`service/${svcName} exposed\n`);
}
