// The webhook half of admission: after built-in mutating admission, the matching mutating
// webhooks in order (their JSON patches applied, IfNeeded ones called again when a later
// webhook changed the object); after schema validation, the matching validating webhooks
// in parallel. Configurations themselves are never sent to webhooks, as in Kubernetes.
import { randomUUID } from "node:crypto";
import { compileCondition, type Condition } from "@skiff/api";
import type { UserInfo } from "../auth.js";
import {
  BadRequestError,
  InternalError,
  WebhookDeniedError,
  WebhookFailedError,
} from "../errors.js";
import { isObject, type KubeObject } from "../objects.js";
import { jsonPatch, PatchError } from "../patch/index.js";
import { CallError, postReview, type ServiceResolver } from "./call.js";
import {
  namespaceSelectorMatches,
  needsNamespaceLabels,
  objectSelectorMatches,
  orderedWebhooks,
  rulesMatch,
  type ConfiguredWebhook,
  type RequestAttributes,
  type Webhook,
} from "./match.js";

type Obj = Record<string, unknown>;

/** What the HTTP handler knows of a request, passed down to admission. */
export interface AdmissionRequest {
  user: UserInfo;
  /** CreateOptions, UpdateOptions or DeleteOptions as the AdmissionReview carries them. */
  options?: Obj;
  /** Warnings for the response's Warning headers; webhooks add theirs here. */
  warnings: string[];
}

export interface AdmissionAttributes extends RequestAttributes {
  dryRun: boolean;
  request: AdmissionRequest;
}

/**
 * Admission of a request that is no write of the resource itself (CONNECT to pods/exec, a
 * CREATE of pods/eviction or pods/binding, an UPDATE of a scale subresource): webhooks see `object`
 * (and `oldObject`), and may refuse it; a
 * mutating webhook's patch is applied to what the caller then uses.
 */
export async function admitSubresource(
  admission: WebhookAdmission | undefined,
  a: AdmissionAttributes,
  object: KubeObject,
  oldObject?: KubeObject,
): Promise<KubeObject> {
  if (!admission) return object;
  const mutated = (await admission.mutate(a, object, oldObject)) ?? object;
  await admission.validate(a, mutated, oldObject);
  return mutated;
}

export interface WebhookSources {
  mutatingConfigurations(): Promise<Obj[]>;
  validatingConfigurations(): Promise<Obj[]>;
  /** The labels of a namespace, or undefined when it does not exist. */
  namespaceLabels(namespace: string): Promise<Record<string, string> | undefined>;
  resolveService: ServiceResolver;
  log(msg: string, detail: Obj): void;
  /** ValidatingAdmissionPolicies, evaluated before the validating webhooks (as in Kubernetes). */
  validatingPolicies?(
    a: AdmissionAttributes,
    object: KubeObject | undefined,
    oldObject: KubeObject | undefined,
  ): Promise<void>;
  /** Called after each webhook call with its latency (for the apiserver's metrics). */
  observe?(call: {
    name: string;
    type: "admit" | "validating";
    operation: string;
    rejected: boolean;
    seconds: number;
  }): void;
}

const EXEMPT_GROUP = "admissionregistration.k8s.io";
const DRY_RUN_SAFE = new Set(["None", "NoneOnDryRun"]);

const labelsOf = (o: KubeObject | undefined): unknown =>
  o === undefined ? undefined : ((o.metadata as Obj | undefined)?.labels ?? {});

export class WebhookAdmission {
  private readonly conditions = new Map<string, Condition | Error>();

  constructor(private readonly sources: WebhookSources) {}

  /** Calls the mutating webhooks; returns the object as they left it. */
  async mutate(
    a: AdmissionAttributes,
    object: KubeObject | undefined,
    oldObject: KubeObject | undefined,
  ): Promise<KubeObject | undefined> {
    if (a.info.group === EXEMPT_GROUP) return object;
    const hooks = orderedWebhooks(await this.sources.mutatingConfigurations());
    if (hooks.length === 0) return object;
    let current = object;
    const called: { hook: ConfiguredWebhook; after: string }[] = [];
    for (const hook of hooks) {
      if (!(await this.shouldCall(hook.webhook, a, current, oldObject))) continue;
      current = await this.callMutating(hook.webhook, a, current, oldObject);
      called.push({ hook, after: JSON.stringify(current) });
    }
    // reinvocationPolicy IfNeeded: called once more when a later webhook changed the object.
    const final = JSON.stringify(current);
    for (const { hook, after } of called) {
      if (hook.webhook.reinvocationPolicy !== "IfNeeded" || after === final) continue;
      current = await this.callMutating(hook.webhook, a, current, oldObject);
    }
    return current;
  }

  /** Evaluates the admission policies, then calls the validating webhooks in parallel; throws the first refusal. */
  async validate(
    a: AdmissionAttributes,
    object: KubeObject | undefined,
    oldObject: KubeObject | undefined,
  ): Promise<void> {
    if (a.info.group === EXEMPT_GROUP) return;
    await this.sources.validatingPolicies?.(a, object, oldObject);
    const hooks = orderedWebhooks(await this.sources.validatingConfigurations());
    if (hooks.length === 0) return;
    const results = await Promise.allSettled(
      hooks.map(async ({ webhook }) => {
        if (!(await this.shouldCall(webhook, a, object, oldObject))) return;
        await this.call(webhook, a, object, oldObject, "validating");
      }),
    );
    for (const r of results) if (r.status === "rejected") throw r.reason;
  }

  private async shouldCall(
    hook: Webhook,
    a: AdmissionAttributes,
    object: KubeObject | undefined,
    oldObject: KubeObject | undefined,
  ): Promise<boolean> {
    if (!rulesMatch(hook, a)) return false;
    const nsLabels =
      needsNamespaceLabels(hook, a) && a.namespace
        ? await this.sources.namespaceLabels(a.namespace)
        : undefined;
    const labels = {
      namespace: nsLabels,
      object: labelsOf(object),
      oldObject: labelsOf(oldObject),
    };
    if (!namespaceSelectorMatches(hook, a, labels)) return false;
    if (!objectSelectorMatches(hook, labels.object, labels.oldObject)) return false;
    if (!this.conditionsMatch(hook, a, object, oldObject)) return false;
    if (a.dryRun && !DRY_RUN_SAFE.has(hook.sideEffects))
      throw new BadRequestError(`admission webhook "${hook.name}" does not support dry run`);
    return true;
  }

  /** matchConditions: all must hold; an error follows the failure policy. */
  private conditionsMatch(
    hook: Webhook,
    a: AdmissionAttributes,
    object: KubeObject | undefined,
    oldObject: KubeObject | undefined,
  ): boolean {
    const conditions = hook.matchConditions ?? [];
    if (conditions.length === 0) return true;
    const vars = {
      object: object ?? null,
      oldObject: oldObject ?? null,
      request: reviewRequest(a, "", object, oldObject),
    };
    let failure: string | undefined;
    for (const c of conditions) {
      let program = this.conditions.get(c.expression);
      if (!program) {
        try {
          program = compileCondition(c.expression);
        } catch (e) {
          program = e instanceof Error ? e : new Error(String(e));
        }
        if (this.conditions.size > 1000) this.conditions.clear();
        this.conditions.set(c.expression, program);
      }
      try {
        if (program instanceof Error) throw program;
        if (!program(vars)) return false;
      } catch (e) {
        failure ??= `expression '${c.name}' resulted in error: ${(e as Error).message.split("\n")[0]}`;
      }
    }
    if (failure === undefined) return true;
    if (hook.failurePolicy === "Ignore") {
      this.sources.log("webhook match condition failed, failing open", {
        webhook: hook.name,
        error: failure,
      });
      return false;
    }
    throw new WebhookFailedError(hook.name, `failed to evaluate match conditions: ${failure}`);
  }

  private async callMutating(
    hook: Webhook,
    a: AdmissionAttributes,
    object: KubeObject | undefined,
    oldObject: KubeObject | undefined,
  ): Promise<KubeObject | undefined> {
    const response = await this.call(hook, a, object, oldObject, "admit");
    if (!response || response.patch === undefined || object === undefined) return object;
    if (response.patchType !== "JSONPatch")
      throw new WebhookFailedError(
        hook.name,
        `unsupported patchType ${JSON.stringify(response.patchType)}`,
      );
    let ops: unknown;
    try {
      ops = JSON.parse(Buffer.from(String(response.patch), "base64").toString());
    } catch {
      throw new WebhookFailedError(hook.name, "the patch is not base64-encoded JSON");
    }
    try {
      const patched = jsonPatch(object, ops);
      if (!isObject(patched))
        throw new WebhookFailedError(hook.name, "the patch did not leave an object");
      return patched as KubeObject;
    } catch (e) {
      if (e instanceof PatchError) throw new InternalError(`Internal error occurred: ${e.message}`);
      throw e;
    }
  }

  /**
   * Sends the AdmissionReview; returns the response when the webhook allowed the request,
   * undefined when a failure is ignored (failurePolicy Ignore); throws a refusal otherwise.
   * Each call's latency is observed, labelled with whether it refused the request.
   */
  private async call(
    hook: Webhook,
    a: AdmissionAttributes,
    object: KubeObject | undefined,
    oldObject: KubeObject | undefined,
    type: "admit" | "validating",
  ): Promise<Obj | undefined> {
    const started = process.hrtime.bigint();
    let rejected = true;
    try {
      const response = await this.exchange(hook, a, object, oldObject);
      rejected = false;
      return response;
    } finally {
      this.sources.observe?.({
        name: hook.name,
        type,
        operation: a.operation,
        rejected,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
      });
    }
  }

  /** One AdmissionReview out and its response back, with the failure policy applied. */
  private async exchange(
    hook: Webhook,
    a: AdmissionAttributes,
    object: KubeObject | undefined,
    oldObject: KubeObject | undefined,
  ): Promise<Obj | undefined> {
    const uid = randomUUID();
    const review = {
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      request: reviewRequest(a, uid, object, oldObject),
    };
    let response: Obj;
    try {
      const body = await postReview(
        hook.clientConfig,
        review,
        (hook.timeoutSeconds ?? 10) * 1000,
        this.sources.resolveService,
      );
      response = checkResponse(body, uid);
    } catch (e) {
      const why =
        e instanceof CallError ? e.message : `failed to call webhook: ${(e as Error).message}`;
      if (hook.failurePolicy === "Ignore") {
        this.sources.log("failed calling webhook, failing open", {
          webhook: hook.name,
          error: why,
        });
        return undefined;
      }
      throw new WebhookFailedError(hook.name, why);
    }
    const warnings = response.warnings;
    if (Array.isArray(warnings))
      for (const w of warnings) if (typeof w === "string") a.request.warnings.push(w);
    if (response.allowed !== true) {
      const status = isObject(response.status) ? response.status : {};
      throw new WebhookDeniedError(hook.name, {
        code: typeof status.code === "number" ? status.code : undefined,
        reason: typeof status.reason === "string" ? status.reason : undefined,
        message: typeof status.message === "string" ? status.message : undefined,
      });
    }
    return response;
  }
}

/** AdmissionReview v1's request, as CEL's `request` and the webhook see it. */
export function reviewRequest(
  a: AdmissionAttributes,
  uid: string,
  object: KubeObject | undefined,
  oldObject: KubeObject | undefined,
): Obj {
  const { group, version, kind, resource } = a.info;
  const objectKind = a.objectKind ?? { group, version, kind };
  const out: Obj = {
    uid,
    kind: objectKind,
    resource: { group, version, resource },
    requestKind: objectKind,
    requestResource: { group, version, resource },
  };
  if (a.subresource) {
    out.subResource = a.subresource;
    out.requestSubResource = a.subresource;
  }
  if (a.name) out.name = a.name;
  if (a.namespace) out.namespace = a.namespace;
  const u = a.request.user;
  Object.assign(out, {
    operation: a.operation,
    userInfo: { username: u.name, ...(u.uid ? { uid: u.uid } : {}), groups: u.groups },
    object: object ?? null,
    oldObject: oldObject ?? null,
    dryRun: a.dryRun,
    options: optionsFor(a),
  });
  return out;
}

/** The options of the operation performed: an update that creates (apply, PUT) shows CreateOptions. */
function optionsFor(a: AdmissionAttributes): Obj | null {
  const options = a.request.options;
  if (!options) return null;
  if (a.operation === "CREATE" && options.kind === "UpdateOptions")
    return { ...options, kind: "CreateOptions" };
  return options;
}

/** The response part of a webhook's AdmissionReview, checked as Kubernetes checks it. */
function checkResponse(body: unknown, uid: string): Obj {
  if (
    !isObject(body) ||
    body.apiVersion !== "admission.k8s.io/v1" ||
    body.kind !== "AdmissionReview"
  )
    throw new CallError(
      `received invalid webhook response: expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${isObject(body) ? `${String(body.apiVersion)}, Kind=${String(body.kind)}` : "no object"}`,
    );
  const response = body.response;
  if (!isObject(response))
    throw new CallError("received invalid webhook response: response is missing");
  if (response.uid !== uid)
    throw new CallError(
      `received invalid webhook response: expected response.uid="${uid}", got "${String(response.uid ?? "")}"`,
    );
  if (response.patch !== undefined && response.patchType === undefined)
    throw new CallError(
      "received invalid webhook response: webhook returned response.patch but not response.patchType",
    );
  return response;
}
