#!/usr/bin/env node
// skiffctl: kubectl's verbs on the same kubeconfig. This file is the yargs command tree;
// the work happens in ./commands. `run` is exported so tests drive it in-process.
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import yargs from "yargs";
import type { Argv } from "yargs";
import { Ctx, strings, type Args, type IO } from "./context.js";
import { errorLine } from "./errors.js";
import { get } from "./commands/get.js";
import { describe } from "./commands/describe.js";
import { apply, create } from "./commands/apply.js";
import { generate } from "./commands/generate.js";
import { del } from "./commands/delete.js";
import { annotate, label, scale } from "./commands/modify.js";
import { logs } from "./commands/logs.js";
import { top } from "./commands/top.js";
import { exec } from "./commands/exec.js";
import { rollout } from "./commands/rollout.js";
import { edit, expose, runPod } from "./commands/edit.js";
import { cordon, drain, uncordon } from "./commands/node.js";
import { wait } from "./commands/wait.js";
import { apiResources, completion, version } from "./commands/info.js";
import { config } from "./commands/config.js";

type Handler = (ctx: Ctx) => Promise<void | number>;

const fileOptions = (y: Argv): Argv =>
  y
    .option("filename", {
      alias: "f",
      type: "string",
      array: true,
      describe: "files, directories or - (stdin)",
    })
    .option("recursive", {
      alias: "R",
      type: "boolean",
      describe: "walk directories given with -f",
    });

const selector = (y: Argv): Argv =>
  y.option("selector", { alias: "l", type: "string", describe: "label selector, e.g. app=web" });

/** Each command: its yargs spec, description, extra options, and what runs it. */
const commands: [string, string, (y: Argv) => Argv, Handler][] = [
  [
    "get [resources..]",
    "Display one or many resources",
    (y) =>
      selector(y)
        .option("output", {
          alias: "o",
          type: "string",
          describe: "wide|yaml|json|name|jsonpath=…",
        })
        .option("watch", { alias: "w", type: "boolean" })
        .option("watch-only", { type: "boolean" })
        .option("field-selector", { type: "string" })
        .option("show-labels", { type: "boolean" })
        .option("no-headers", { type: "boolean" }),
    get,
  ],
  [
    "describe [resources..]",
    "Show details of resources and their events",
    (y) => selector(y),
    describe,
  ],
  [
    "create [args..]",
    "Create resources from files, or namespace|deployment|configmap|secret generic|service NAME",
    (y) =>
      fileOptions(y)
        .option("output", { alias: "o", type: "string" })
        .option("image", { type: "string", array: true })
        .option("replicas", { type: "number" })
        .option("port", { type: "number" })
        .option("from-literal", { type: "string", array: true })
        .option("from-file", { type: "string", array: true })
        .option("tcp", { type: "string", array: true }),
    (ctx) => (strings(ctx.args.args).length > 0 ? generate(ctx) : create(ctx)),
  ],
  [
    "apply",
    "Apply a configuration to resources from files",
    (y) =>
      fileOptions(y)
        .option("server-side", { type: "boolean" })
        .option("force-conflicts", { type: "boolean" })
        .option("field-manager", { type: "string" })
        .option("output", { alias: "o", type: "string" }),
    apply,
  ],
  [
    "delete [resources..]",
    "Delete resources by files, names or selectors",
    (y) =>
      selector(fileOptions(y))
        .option("all", { type: "boolean" })
        .option("cascade", { type: "string", default: "background" })
        .option("wait", { type: "boolean", default: true })
        .option("timeout", { type: "string" })
        .option("ignore-not-found", { type: "boolean" })
        .option("grace-period", { type: "number" }),
    del,
  ],
  [
    "scale [resources..]",
    "Set a new size for a deployment, replica set or stateful set",
    (y) =>
      fileOptions(y)
        .option("replicas", { type: "number", demandOption: true })
        .option("current-replicas", { type: "number" }),
    scale,
  ],
  [
    "label [args..]",
    "Update the labels on a resource",
    (y) => selector(y).option("overwrite", { type: "boolean" }).option("all", { type: "boolean" }),
    label,
  ],
  [
    "annotate [args..]",
    "Update the annotations on a resource",
    (y) => selector(y).option("overwrite", { type: "boolean" }).option("all", { type: "boolean" }),
    annotate,
  ],
  [
    "top <kind> [name]",
    "Display resource (CPU/memory) usage of nodes or pods",
    (y) =>
      selector(y)
        .option("containers", { type: "boolean", describe: "each container of the pods" })
        .option("sort-by", { type: "string", describe: "cpu or memory" }),
    top,
  ],
  [
    "logs <pod> [container]",
    "Print the logs of a container in a pod",
    (y) =>
      y
        .option("follow", { alias: "f", type: "boolean" })
        .option("container", { alias: "c", type: "string" })
        .option("previous", { alias: "p", type: "boolean" })
        .option("tail", { type: "number" })
        .option("timestamps", { type: "boolean" }),
    logs,
  ],
  [
    "exec <pod>",
    "Execute a command in a container",
    (y) =>
      y
        .option("container", { alias: "c", type: "string" })
        .option("stdin", { alias: "i", type: "boolean" })
        .option("tty", { alias: "t", type: "boolean" }),
    exec,
  ],
  [
    "rollout <action> [resources..]",
    "Manage the rollout of a deployment: status, history, undo, restart, pause, resume",
    (y) =>
      y
        .option("watch", { alias: "w", type: "boolean", default: true })
        .option("timeout", { type: "string" })
        .option("revision", { type: "number" })
        .option("to-revision", { type: "number" }),
    rollout,
  ],
  [
    "edit [resources..]",
    "Edit a resource in $EDITOR",
    (y) => y.option("output", { alias: "o", type: "string" }),
    edit,
  ],
  [
    "run <name>",
    "Run a pod",
    (y) =>
      y
        .option("image", { type: "string", demandOption: true })
        .option("port", { type: "number" })
        .option("labels", { type: "string" })
        .option("env", { type: "string", array: true })
        .option("restart", { type: "string", default: "Always" })
        .option("command", { type: "boolean" }),
    runPod,
  ],
  [
    "expose <resources..>",
    "Expose a deployment or pod as a Service",
    (y) =>
      y
        .option("port", { type: "number" })
        .option("target-port", { type: "string" })
        .option("name", { type: "string" })
        .option("type", { type: "string" })
        .option("protocol", { type: "string" }),
    expose,
  ],
  ["cordon <node>", "Mark a node unschedulable", (y) => y, cordon],
  ["uncordon <node>", "Mark a node schedulable", (y) => y, uncordon],
  [
    "drain <node>",
    "Cordon a node and evict its pods",
    (y) =>
      y
        .option("ignore-daemonsets", { type: "boolean" })
        .option("force", { type: "boolean" })
        .option("delete-emptydir-data", { type: "boolean" })
        .option("timeout", { type: "string" }),
    drain,
  ],
  [
    "wait [resources..]",
    "Wait for a condition on resources",
    (y) =>
      selector(y)
        .option("for", { type: "string", demandOption: true })
        .option("timeout", { type: "string", default: "30s" })
        .option("all", { type: "boolean" }),
    wait,
  ],
  [
    "api-resources",
    "Print the resource types the server supports",
    (y) => y.option("output", { alias: "o", type: "string" }),
    apiResources,
  ],
  [
    "version",
    "Print the client and server versions",
    (y) => y.option("output", { alias: "o", type: "string" }).option("client", { type: "boolean" }),
    version,
  ],
  [
    "config <action> [name]",
    "Work with kubeconfig files: view, use-context, get-contexts, current-context, set-context",
    (y) =>
      y
        .option("raw", { type: "boolean" })
        .option("current", { type: "boolean" })
        .option("cluster", { type: "string" })
        .option("user", { type: "string" })
        .option("minify", { type: "boolean" })
        .option("output", { alias: "o", type: "string" }),
    config,
  ],
  ["completion <shell>", "Print a shell completion script (bash)", (y) => y, completion],
];

const GLOBAL_FLAGS = [
  "kubeconfig",
  "context",
  "namespace",
  "n",
  "all-namespaces",
  "A",
  "help",
  "h",
];

/**
 * The first flag in `argv` that neither skiffctl nor the chosen command declares; kubectl
 * refuses those ("unknown flag: --foo"). Arguments after `--` belong to the command run.
 */
function unknownFlag(argv: string[], builder: (y: Argv) => Argv): string | undefined {
  // A library boundary: yargs has getOptions() at run time, but its typings do not declare it.
  const declared = (
    builder(yargs([])) as unknown as {
      getOptions(): { key: Record<string, unknown>; alias: Record<string, string[]> };
    }
  ).getOptions();
  const known = new Set<string>(GLOBAL_FLAGS);
  for (const k of Object.keys(declared.key)) known.add(k);
  for (const aliases of Object.values(declared.alias)) for (const a of aliases) known.add(a);
  for (const arg of argv) {
    if (arg === "--") break;
    if (!arg.startsWith("-") || arg === "-" || /^-\d/.test(arg)) continue;
    const name = arg.replace(/^--?/, "").split("=")[0]!;
    // Short flags may be bundled (-it); each letter must be known.
    if (arg.startsWith("--")) {
      // --no-foo negates a declared boolean --foo, unless --no-foo is itself declared.
      if (!known.has(name) && !known.has(name.replace(/^no-/, ""))) return arg.split("=")[0];
    } else if ([...name].some((n) => !known.has(n))) {
      return arg.split("=")[0];
    }
  }
  return undefined;
}

/** Runs skiffctl with `argv` (without the program name); resolves to the exit code. */
export async function run(argv: string[], io: IO): Promise<number> {
  // yargs reads a lone "-" as a positional; `-f -` means stdin.
  const isFileFlag = (a: string | undefined): boolean => a === "-f" || a === "--filename";
  argv = argv.flatMap((a, i) => {
    if (a === "-" && isFileFlag(argv[i - 1])) return [];
    return isFileFlag(a) && argv[i + 1] === "-" ? ["--filename=-"] : [a];
  });
  let chosen: { handler: Handler; args: Args; builder: (y: Argv) => Argv } | undefined;
  let parser = yargs(argv)
    .scriptName("skiffctl")
    .parserConfiguration({ "populate--": true })
    .option("kubeconfig", { type: "string", global: true, describe: "path to the kubeconfig file" })
    .option("context", { type: "string", global: true, describe: "the kubeconfig context to use" })
    .option("namespace", { alias: "n", type: "string", global: true, describe: "the namespace" })
    .option("all-namespaces", {
      alias: "A",
      type: "boolean",
      global: true,
      describe: "every namespace",
    })
    .demandCommand(1, "error: you must specify a command; see skiffctl --help")
    .strictCommands()
    .exitProcess(false)
    .help()
    .version(false)
    .wrap(100);
  for (const [spec, description, builder, handler] of commands) {
    parser = parser.command(spec, description, builder, (args) => {
      chosen = { handler, args: args as Args, builder };
    });
  }
  if (argv.length === 0) {
    // Like kubectl: no command prints the help and succeeds.
    const help = await parser.getHelp();
    io.stdout.write(help + "\n");
    return 0;
  }
  const outcome = await new Promise<{ error?: Error; output: string }>((resolve) => {
    parser.parse(argv, {}, (error: Error | undefined, _args: unknown, output: string) =>
      resolve({ ...(error ? { error } : {}), output }),
    );
  });
  if (outcome.error) {
    const msg = outcome.error.message;
    io.stderr.write((msg.startsWith("error:") ? msg : `error: ${msg}`) + "\n");
    return 1;
  }
  if (!chosen) {
    if (outcome.output) io.stdout.write(outcome.output + "\n");
    return 0;
  }
  const unknown = unknownFlag(argv, chosen.builder);
  if (unknown) {
    io.stderr.write(`error: unknown flag: ${unknown}\nSee 'skiffctl --help' for usage.\n`);
    return 1;
  }
  const ctx = new Ctx(io, chosen.args);
  try {
    const code = await chosen.handler(ctx);
    return typeof code === "number" ? code : 0;
  } catch (e) {
    io.stderr.write(errorLine(e) + "\n");
    return typeof e === "object" && e !== null && "exitCode" in e && typeof e.exitCode === "number"
      ? e.exitCode
      : 1;
  } finally {
    ctx.close();
  }
}

/** Runs skiffctl as a program on this process's arguments and streams. */
export async function main(): Promise<void> {
  process.exitCode = await run(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
  });
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) await main();
