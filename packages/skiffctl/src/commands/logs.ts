// `logs`: a container's log through pods/log, streamed with -f.
import { str, type Ctx } from "../context.js";
import { CommandError } from "../errors.js";
import { resourcePath, type ApiResource } from "../discovery.js";
import { listObjects, metaOf } from "../targets.js";

/** The container to use: -c, else the only one, else the default-container annotation. */
export function chooseContainer(pod: Record<string, unknown>, wanted: string | undefined): string {
  const spec = (pod.spec ?? {}) as { containers?: { name?: string }[] };
  const meta = (pod.metadata ?? {}) as { name?: string; annotations?: Record<string, string> };
  const names = (spec.containers ?? []).map((c) => c.name ?? "");
  if (wanted) {
    if (!names.includes(wanted)) {
      throw new CommandError(`error: container ${wanted} is not valid for pod ${meta.name ?? ""}`);
    }
    return wanted;
  }
  const byAnnotation = meta.annotations?.["kubectl.kubernetes.io/default-container"];
  if (byAnnotation && names.includes(byAnnotation)) return byAnnotation;
  if (names.length === 1) return names[0]!;
  throw new CommandError(
    `error: a container name must be specified for pod ${meta.name ?? ""}, choose one of: [${names.join(" ")}]`,
  );
}

/** `logs deploy/web`: like kubectl, the oldest pod its selector matches. */
async function firstPodOf(ctx: Ctx, owner: ApiResource, name: string): Promise<string> {
  const obj = (await ctx.rest.request("GET", resourcePath(owner, ctx.namespace, name))) as {
    spec?: { selector?: { matchLabels?: Record<string, string> } | Record<string, string> };
  };
  const sel = obj.spec?.selector ?? {};
  const labels = (
    "matchLabels" in sel && typeof sel.matchLabels === "object" ? sel.matchLabels : sel
  ) as Record<string, string>;
  const selector = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  if (!selector)
    throw new CommandError(`error: ${owner.kind} ${name} has no selector to find pods by`);
  const pods = await ctx.discovery.resolve("pods");
  const { items } = await listObjects(ctx, pods, ctx.namespace, { labelSelector: selector });
  const sorted = items
    .map((p) => metaOf(p))
    .sort((a, b) => String(a.creationTimestamp).localeCompare(String(b.creationTimestamp)));
  const first = sorted[0];
  if (!first) throw new CommandError(`error: timed out waiting for the condition`);
  if (sorted.length > 1) ctx.err(`Found ${sorted.length} pods, using pod/${first.name}\n`);
  return first.name;
}

export async function logs(ctx: Ctx): Promise<void> {
  const pods = await ctx.discovery.resolve("pods");
  let podName = str(ctx.args.pod) ?? "";
  if (podName.includes("/")) {
    const [type, name] = podName.split("/", 2);
    const owner = await ctx.discovery.resolve(type!);
    podName = owner.kind === "Pod" ? name! : await firstPodOf(ctx, owner, name!);
  }
  const pod = (await ctx.rest.request("GET", resourcePath(pods, ctx.namespace, podName))) as Record<
    string,
    unknown
  >;
  const container = chooseContainer(pod, str(ctx.args.container) ?? str(ctx.args.containerName));
  const query = {
    container,
    follow: ctx.args.follow === true ? true : undefined,
    previous: ctx.args.previous === true ? true : undefined,
    timestamps: ctx.args.timestamps === true ? true : undefined,
    tailLines: typeof ctx.args.tail === "number" && ctx.args.tail >= 0 ? ctx.args.tail : undefined,
  };
  const path = resourcePath(pods, ctx.namespace, podName, "log");
  if (!query.follow) {
    ctx.out(await ctx.rest.requestText("GET", path, { query, accept: "text/plain, */*" }));
    return;
  }
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  ctx.io.signal?.addEventListener("abort", stop);
  try {
    const body = await ctx.rest.stream("GET", path, {
      query,
      accept: "text/plain, */*",
      signal: ac.signal,
    });
    ac.signal.addEventListener("abort", () => body.destroy());
    for await (const chunk of body) ctx.out(chunk as Buffer);
  } catch (e) {
    if (!ac.signal.aborted) throw e;
  } finally {
    ctx.io.signal?.removeEventListener("abort", stop);
  }
}
