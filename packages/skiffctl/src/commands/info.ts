// `api-resources`, `version` and `completion bash`.
import { str, type Ctx } from "../context.js";
import { CommandError } from "../errors.js";
import { apiVersionOf } from "../discovery.js";
import { alignRows, toJson, toYaml } from "../printers.js";

export const clientVersion = {
  major: "1",
  minor: "31",
  gitVersion: "v1.31.0-skiff.0.1.0",
  platform: `${process.platform}/${process.arch}`,
};

export async function apiResources(ctx: Ctx): Promise<void> {
  const all = [...(await ctx.discovery.resources())].sort((a, b) =>
    a.group === b.group ? a.name.localeCompare(b.name) : a.group.localeCompare(b.group),
  );
  const output = str(ctx.args.output);
  if (output === "name") {
    for (const r of all) ctx.out((r.group ? `${r.name}.${r.group}` : r.name) + "\n");
    return;
  }
  const rows = [["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]];
  const wide = output === "wide";
  if (wide) rows[0]!.push("VERBS", "CATEGORIES");
  for (const r of all) {
    const row = [r.name, r.shortNames.join(","), apiVersionOf(r), String(r.namespaced), r.kind];
    if (wide) row.push(`[${r.verbs.join(" ")}]`, r.categories.join(","));
    rows.push(row);
  }
  ctx.out(alignRows(rows));
}

export async function version(ctx: Ctx): Promise<void> {
  const output = str(ctx.args.output);
  let server: Record<string, unknown> | undefined;
  if (ctx.args.client !== true)
    server = (await ctx.rest.request("GET", "/version")) as Record<string, unknown>;
  if (output === "json" || output === "yaml") {
    const doc = { clientVersion, ...(server ? { serverVersion: server } : {}) };
    ctx.out(output === "json" ? toJson(doc) : toYaml(doc));
    return;
  }
  ctx.out(`Client Version: ${clientVersion.gitVersion}\n`);
  if (server) ctx.out(`Server Version: ${String(server.gitVersion ?? "")}\n`);
}

const verbs = [
  "get",
  "describe",
  "create",
  "apply",
  "delete",
  "scale",
  "label",
  "annotate",
  "logs",
  "exec",
  "rollout",
  "edit",
  "run",
  "expose",
  "cordon",
  "uncordon",
  "drain",
  "wait",
  "api-resources",
  "version",
  "config",
  "completion",
];

export async function completion(ctx: Ctx): Promise<void> {
  if (str(ctx.args.shell) !== "bash")
    throw new CommandError(`error: Unsupported shell type "${str(ctx.args.shell) ?? ""}".`);
  ctx.out(`# bash completion for skiffctl; load it with: source <(skiffctl completion bash)
_skiffctl() {
  local cur prev verb
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  verb="\${COMP_WORDS[1]}"
  if [[ \${COMP_CWORD} -eq 1 ]]; then
    COMPREPLY=( $(compgen -W "${verbs.join(" ")}" -- "$cur") )
    return
  fi
  case "$prev" in
    -n|--namespace)
      COMPREPLY=( $(compgen -W "$(skiffctl get namespaces -o jsonpath='{.items[*].metadata.name}' 2>/dev/null)" -- "$cur") )
      return;;
    -f|--filename|--kubeconfig)
      COMPREPLY=( $(compgen -f -- "$cur") )
      return;;
  esac
  case "$verb" in
    rollout)
      if [[ \${COMP_CWORD} -eq 2 ]]; then COMPREPLY=( $(compgen -W "status history undo restart pause resume" -- "$cur") ); return; fi;;
    config)
      if [[ \${COMP_CWORD} -eq 2 ]]; then COMPREPLY=( $(compgen -W "view use-context get-contexts current-context" -- "$cur") ); return; fi
      COMPREPLY=( $(compgen -W "$(skiffctl config get-contexts -o name 2>/dev/null)" -- "$cur") ); return;;
  esac
  if [[ \${COMP_CWORD} -eq 2 ]]; then
    COMPREPLY=( $(compgen -W "all $(skiffctl api-resources -o name 2>/dev/null | cut -d. -f1)" -- "$cur") )
  else
    COMPREPLY=( $(compgen -W "$(skiffctl get "\${COMP_WORDS[2]}" -o jsonpath='{.items[*].metadata.name}' 2>/dev/null)" -- "$cur") )
  fi
}
complete -F _skiffctl skiffctl
`);
}
