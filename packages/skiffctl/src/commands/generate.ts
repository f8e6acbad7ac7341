// `create namespace|deployment|configmap|secret generic|service clusterip NAME`: kubectl's
// generators, building the object client-side and POSTing it.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { strings, type Ctx } from "../context.js";
import { CommandError } from "../errors.js";
import { kindPrefix, resourcePath } from "../discovery.js";

type Obj = Record<string, unknown>;

/** `k=v` pairs from --from-literal and files from --from-file ([key=]path). */
function dataFrom(ctx: Ctx): Record<string, string> {
  const data: Record<string, string> = {};
  for (const lit of strings(ctx.args.fromLiteral)) {
    const eq = lit.indexOf("=");
    if (eq <= 0) throw new CommandError(`error: invalid literal source ${lit}, expected key=value`);
    data[lit.slice(0, eq)] = lit.slice(eq + 1);
  }
  for (const spec of strings(ctx.args.fromFile)) {
    const eq = spec.indexOf("=");
    const [key, path] = eq > 0 ? [spec.slice(0, eq), spec.slice(eq + 1)] : [basename(spec), spec];
    data[key] = readFileSync(path, "utf8");
  }
  return data;
}

/** kubectl names a generated deployment's container after its image: "nginx" for "docker.io/library/nginx:1.27". */
function containerName(image: string): string {
  const last = image.split("/").pop() ?? image;
  return last
    .split("@")[0]!
    .split(":")[0]!
    .replace(/[^a-z0-9-]/g, "-");
}

function build(ctx: Ctx, what: string, rest: string[]): Obj {
  const name = what === "secret" || what === "service" || what === "svc" ? rest[1] : rest[0];
  if (!name) throw new CommandError(`error: exactly one NAME is required, got 0`);
  switch (what) {
    case "namespace":
    case "ns":
      return { apiVersion: "v1", kind: "Namespace", metadata: { name } };
    case "configmap":
    case "cm":
      return { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: dataFrom(ctx) };
    case "secret": {
      if (rest[0] !== "generic")
        throw new CommandError(
          "error: skiffctl creates generic secrets only: create secret generic NAME",
        );
      const data = Object.fromEntries(
        Object.entries(dataFrom(ctx)).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
      );
      return { apiVersion: "v1", kind: "Secret", metadata: { name }, type: "Opaque", data };
    }
    case "deployment":
    case "deploy": {
      const images = strings(ctx.args.image);
      if (images.length === 0) throw new CommandError('error: required flag(s) "image" not set');
      const labels = { app: name };
      const port = ctx.args.port;
      const containers = images.map((image) => ({
        name: containerName(image),
        image,
        ...(typeof port === "number" ? { ports: [{ containerPort: port }] } : {}),
      }));
      return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name, labels },
        spec: {
          replicas: typeof ctx.args.replicas === "number" ? ctx.args.replicas : 1,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers } },
        },
      };
    }
    case "service":
    case "svc": {
      const type = { clusterip: "ClusterIP", nodeport: "NodePort", loadbalancer: "LoadBalancer" }[
        rest[0] ?? ""
      ];
      if (!type)
        throw new CommandError(
          "error: create service needs a type: clusterip, nodeport or loadbalancer",
        );
      const ports = strings(ctx.args.tcp).map((spec) => {
        const [port, target = port] = spec.split(":");
        return {
          name: spec.replace(":", "-"),
          port: Number(port),
          protocol: "TCP",
          targetPort: Number(target),
        };
      });
      return {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name, labels: { app: name } },
        spec: { type, selector: { app: name }, ports },
      };
    }
    default:
      throw new CommandError(
        `error: unknown generator "${what}": use namespace, deployment, configmap, secret generic or service`,
      );
  }
}

export async function generate(ctx: Ctx): Promise<void> {
  const [what, ...rest] = strings(ctx.args.args);
  const obj = build(ctx, what ?? "", rest);
  const resource = await ctx.discovery.forKind(String(obj.apiVersion), String(obj.kind));
  const namespace = resource.namespaced ? ctx.namespace : undefined;
  await ctx.rest.request("POST", resourcePath(resource, namespace), {
    body: obj,
    query: {
      fieldManager: "kubectl-create",
      fieldValidation: "Strict",
      dryRun: ctx.args.dryRun === "server" ? "All" : undefined,
    },
  });
  ctx.out(`${kindPrefix(resource)}/${String((obj.metadata as Obj).name)} created\n`);
}
