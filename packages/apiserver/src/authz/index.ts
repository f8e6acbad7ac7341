// Authorization for the apiserver: the --authorization-mode chain (Node, RBAC, AlwaysAllow,
// AlwaysDeny), the bootstrap policy reconciled at start, escalation prevention on RBAC
// writes and NodeRestriction admission. The user of the request being served reaches the
// registries' write hooks through the request's scope (request-scope.ts).
import type {
  ClusterRole,
  ClusterRoleBinding,
  PolicyRule,
  ResourceInfo,
  Role,
  RoleBinding,
} from "@skiff/api";
import { podReferences } from "@skiff/api";
import type { UserInfo } from "../auth.js";
import { currentRequest } from "../request-scope.js";
import { ApiError, ForbiddenError, NotFoundError } from "../errors.js";
import { meta, type ApiObject, type KubeObject } from "../objects.js";
import type { Registry } from "../registry.js";
import type { Attributes } from "./attributes.js";
import {
  alwaysAllow,
  alwaysDeny,
  forbidden,
  SYSTEM_MASTERS,
  UnionAuthorizer,
  type AuthorizationMode,
  type Authorizer,
  type Decision,
} from "./authorizer.js";
import {
  AUTOUPDATE,
  CLUSTER_ROLE_BINDINGS,
  CLUSTER_ROLES,
  NAMESPACE_ROLE_BINDINGS,
  NAMESPACE_ROLES,
  RBAC_GROUP,
  clusterRoleBindingObject,
  clusterRoleObject,
} from "./bootstrap.js";
import { compactRule, uncoveredRules } from "./escalation.js";
import { NodeAuthorizer, nodeIdentity, NODE_LEASE_NAMESPACE } from "./node.js";
import { CachingRbacAuthorizer, rulesFor, type RbacSource } from "./rbac.js";

export { requestAttributes, type Attributes } from "./attributes.js";
export {
  parseAuthorizationModes,
  AUTHORIZATION_MODES,
  type AuthorizationMode,
} from "./authorizer.js";

type RegistryOf = (resource: string, group?: string) => Registry;

const MIRROR_ANNOTATION = "kubernetes.io/config.mirror";
const NODE_RESTRICTION_PREFIX = "node-restriction.kubernetes.io/";

export class Authorization {
  readonly chain: Authorizer;
  readonly rbacSource: RbacSource;
  private readonly rbac: CachingRbacAuthorizer;

  constructor(
    readonly modes: AuthorizationMode[],
    private readonly registry: RegistryOf,
  ) {
    const items = async <T extends ApiObject>(resource: string) =>
      (await registry(resource, RBAC_GROUP).cache.list<T>()).items;
    const find = async <T extends ApiObject>(
      resource: string,
      ns: string | undefined,
      name: string,
    ) => {
      try {
        return await registry(resource, RBAC_GROUP).getCached<T>(ns, name);
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      }
    };
    this.rbacSource = {
      clusterRoleBindings: () => items<ClusterRoleBinding>("clusterrolebindings"),
      roleBindings: async (ns) =>
        (await items<RoleBinding>("rolebindings")).filter((b) => b.metadata?.namespace === ns),
      clusterRole: (name) => find<ClusterRole>("clusterroles", undefined, name),
      role: (ns, name) => find<Role>("roles", ns, name),
    };
    // The rules of a subject are read again once a role or binding changed: a watch cache
    // moved on, or this server wrote one (before its watch cache has the event).
    const rbacRegistries = ["clusterroles", "roles", "clusterrolebindings", "rolebindings"];
    const rbacStamp = (): string | undefined => {
      let stamp = "";
      for (const resource of rbacRegistries) {
        const reg = registry(resource, RBAC_GROUP);
        if (!reg.cache.isSynced()) return undefined;
        stamp += `${reg.cache.currentRevision()}.${reg.writes},`;
      }
      return stamp;
    };
    this.rbac = new CachingRbacAuthorizer(this.rbacSource, rbacStamp);
    const pods = () => registry("pods");
    const node = new NodeAuthorizer({
      podsOnNode: async (n) => (await this.podsByNode(pods())).get(n) ?? [],
      pod: async (ns, name) => {
        try {
          return await pods().getCached(ns, name);
        } catch (err) {
          if (err instanceof NotFoundError) return undefined;
          throw err;
        }
      },
      claimVolume: async (ns, name) => {
        try {
          const pvc = await registry("persistentvolumeclaims").getCached(ns, name);
          return (pvc.spec as { volumeName?: string } | undefined)?.volumeName;
        } catch (err) {
          if (err instanceof NotFoundError) return undefined;
          throw err;
        }
      },
    });
    const byMode: Record<AuthorizationMode, Authorizer> = {
      AlwaysAllow: alwaysAllow,
      AlwaysDeny: alwaysDeny,
      Node: node,
      RBAC: this.rbac,
    };
    this.chain = new UnionAuthorizer(modes.map((m) => byMode[m]));
  }

  // The pods by node, rebuilt when the pods' cache has moved on (not at every request).
  private byNode: { revision: number; pods: Map<string, KubeObject[]> } | undefined;

  private async podsByNode(pods: Registry): Promise<Map<string, KubeObject[]>> {
    const seen = this.byNode;
    if (seen && seen.revision > 0 && seen.revision === pods.cache.currentRevision())
      return seen.pods;
    const { items, revision } = await pods.cache.list();
    const map = new Map<string, KubeObject[]>();
    for (const p of items) {
      const node = (p.spec as { nodeName?: string } | undefined)?.nodeName;
      if (!node) continue;
      let list = map.get(node);
      if (!list) map.set(node, (list = []));
      list.push(p);
    }
    this.byNode = { revision, pods: map };
    return map;
  }

  authorize(attrs: Attributes): Promise<Decision> {
    return this.chain.authorize(attrs);
  }

  /** Throws the 403 when the request is not allowed. */
  async check(attrs: Attributes): Promise<void> {
    const d = await this.authorize(attrs);
    if (d.decision !== "allow") throw forbidden(attrs, d.reason);
  }

  /** The RBAC rules that apply to a user in a namespace (SelfSubjectRulesReview). */
  rulesFor(user: UserInfo, namespace: string) {
    return rulesFor(this.rbacSource, user, namespace);
  }

  /** Creates the bootstrap roles and bindings that are missing; re-adds what autoupdate ones lost. */
  async reconcileBootstrapPolicy(): Promise<void> {
    const clusterRoles = this.registry("clusterroles", RBAC_GROUP);
    const roles = this.registry("roles", RBAC_GROUP);
    for (const r of [...CLUSTER_ROLES, ...NAMESPACE_ROLES]) {
      await reconcile(r.namespace ? roles : clusterRoles, clusterRoleObject(r), (have, want) => {
        const rules = (have.rules as PolicyRule[] | null | undefined) ?? [];
        // Aggregated roles' rules belong to the aggregation controller.
        if (want.aggregationRule) {
          if (have.aggregationRule) return false;
          have.aggregationRule = want.aggregationRule;
          return true;
        }
        const text = new Set(rules.map((x) => JSON.stringify(x)));
        const missing = (want.rules as PolicyRule[]).filter((x) => !text.has(JSON.stringify(x)));
        if (!missing.length) return false;
        have.rules = [...rules, ...missing];
        return true;
      });
    }
    const clusterBindings = this.registry("clusterrolebindings", RBAC_GROUP);
    const bindings = this.registry("rolebindings", RBAC_GROUP);
    for (const b of [...CLUSTER_ROLE_BINDINGS, ...NAMESPACE_ROLE_BINDINGS]) {
      await reconcile(
        b.namespace ? bindings : clusterBindings,
        clusterRoleBindingObject(b),
        (have, want) => {
          const subjects = (have.subjects as object[] | undefined) ?? [];
          const text = new Set(subjects.map((x) => JSON.stringify(x)));
          const missing = ((want.subjects as object[] | undefined) ?? []).filter(
            (x) => !text.has(JSON.stringify(x)),
          );
          if (!missing.length) return false;
          have.subjects = [...subjects, ...missing];
          return true;
        },
      );
    }
  }

  /**
   * Write admission for the registries: escalation prevention on RBAC kinds and
   * NodeRestriction for kubelets. `old` is the stored object on updates.
   */
  async admitWrite(info: ResourceInfo, obj: KubeObject, old?: KubeObject): Promise<void> {
    const user = currentRequest()?.user;
    if (!user) return;
    if (info.group === RBAC_GROUP) await this.preventEscalation(user, info, obj, old);
    const node = nodeIdentity(user);
    if (node !== undefined && this.modes.includes("Node")) nodeRestriction(node, info, obj, old);
  }

  /**
   * NodeRestriction for TokenRequest (serviceaccounts/token): a kubelet may only ask for a
   * token bound to a pod (by name and uid) that is scheduled on its own node.
   */
  async admitTokenRequest(
    user: UserInfo,
    namespace: string,
    name: string,
    boundObjectRef: unknown,
  ): Promise<void> {
    const node = nodeIdentity(user);
    if (node === undefined || !this.modes.includes("Node")) return;
    const refuse = (why: string) =>
      new ForbiddenError(`serviceaccounts "${name}" is forbidden: ${why}`, {
        name,
        kind: "serviceaccounts",
      });
    const ref = (boundObjectRef ?? {}) as {
      apiVersion?: unknown;
      kind?: unknown;
      name?: unknown;
      uid?: unknown;
    };
    if (ref.apiVersion !== "v1" || ref.kind !== "Pod" || typeof ref.name !== "string" || !ref.name)
      throw refuse("node requested token not bound to a pod");
    if (typeof ref.uid !== "string" || !ref.uid)
      throw refuse("node requested token with a pod binding without a uid");
    const pod = await this.registry("pods").get(namespace, ref.name);
    if (meta(pod).uid !== ref.uid)
      throw refuse(
        `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
      );
    if ((pod.spec as { nodeName?: string } | undefined)?.nodeName !== node)
      throw refuse("node requested token bound to a pod scheduled on a different node");
  }

  private async allowedTo(
    user: UserInfo,
    verb: string,
    resource: string,
    ns: string,
    name: string,
  ) {
    const attrs: Attributes = {
      user,
      verb,
      resourceRequest: true,
      path: "",
      apiGroup: RBAC_GROUP,
      apiVersion: "v1",
      namespace: ns,
      resource,
      subresource: "",
      name,
    };
    return (await this.authorize(attrs)).decision === "allow";
  }

  private async preventEscalation(
    user: UserInfo,
    info: ResourceInfo,
    obj: KubeObject,
    old?: KubeObject,
  ): Promise<void> {
    if (user.groups.includes(SYSTEM_MASTERS)) return;
    const m = meta(obj);
    const ns = m.namespace ?? "";
    const name = m.name ?? "";
    const target = `${info.resource}.${RBAC_GROUP} "${name}"`;
    let rules: PolicyRule[];
    if (info.kind === "Role" || info.kind === "ClusterRole") {
      if (info.kind === "ClusterRole" && (obj.aggregationRule || old?.aggregationRule)) {
        if (await this.allowedTo(user, "escalate", info.resource, ns, name)) return;
        throw new ForbiddenError(
          `${target} is forbidden: must have cluster-admin privileges to write aggregated cluster roles`,
          { name, group: RBAC_GROUP, kind: info.resource },
        );
      }
      if (await this.allowedTo(user, "escalate", info.resource, ns, name)) return;
      rules = (obj.rules as PolicyRule[] | null | undefined) ?? [];
    } else {
      const ref = (obj as RoleBinding | ClusterRoleBinding).roleRef;
      const roleResource = ref.kind === "Role" ? "roles" : "clusterroles";
      if (await this.allowedTo(user, "bind", roleResource, ns, ref.name)) return;
      const role =
        ref.kind === "Role"
          ? await this.rbacSource.role(ns, ref.name)
          : await this.rbacSource.clusterRole(ref.name);
      if (!role) {
        throw new NotFoundError({
          kind: roleResource,
          group: RBAC_GROUP,
          name: ref.name,
        });
      }
      rules = role.rules ?? [];
    }
    const { rules: owned } = await this.rulesFor(user, ns);
    const missing = uncoveredRules(owned, rules);
    if (!missing.length) return;
    const groups = `[${user.groups.map((g) => JSON.stringify(g)).join(" ")}]`;
    throw new ForbiddenError(
      `${target} is forbidden: user "${user.name}" (groups=${groups}) is attempting to grant RBAC permissions not currently held:\n` +
        missing.map(compactRule).join("\n"),
      { name, group: RBAC_GROUP, kind: info.resource },
    );
  }
}

async function reconcile(
  registry: Registry,
  want: Record<string, unknown>,
  merge: (have: KubeObject, want: Record<string, unknown>) => boolean,
): Promise<void> {
  const { name, namespace } = want.metadata as { name: string; namespace?: string };
  try {
    // Most starts find everything in place: write only what changes.
    const stored = await registry.get(namespace, name);
    const trial = structuredClone(stored);
    if (!changeBootstrapObject(trial, want, merge)) return;
    await registry.update(namespace, name, (have) => {
      changeBootstrapObject(have, want, merge);
      return have;
    });
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    await registry.create(namespace, structuredClone(want) as KubeObject).catch((e: unknown) => {
      if (!(e instanceof ApiError && e.reason === "AlreadyExists")) throw e;
    });
  }
}

/** Restores a bootstrap object's labels, annotations and rules or subjects; true if it changed. */
function changeBootstrapObject(
  have: KubeObject,
  want: Record<string, unknown>,
  merge: (have: KubeObject, want: Record<string, unknown>) => boolean,
): boolean {
  const m = meta(have);
  if (m.annotations?.[AUTOUPDATE] === "false") return false;
  const wantMeta = want.metadata as {
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  let changed = false;
  for (const [field, values] of [
    ["labels", wantMeta.labels],
    ["annotations", wantMeta.annotations],
  ] as const) {
    const current = m[field] ?? {};
    if (Object.entries(values).some(([k, v]) => current[k] !== v)) {
      m[field] = { ...current, ...values };
      changed = true;
    }
  }
  return merge(have, want) || changed;
}

function refusal(node: string, info: ResourceInfo, obj: KubeObject, why: string): ForbiddenError {
  const name = meta(obj).name ?? "";
  const qualified = info.group ? `${info.resource}.${info.group}` : info.resource;
  return new ForbiddenError(`${qualified} "${name}" is forbidden: ${why}`, {
    name,
    group: info.group || undefined,
    kind: info.resource,
  });
}

/** NodeRestriction admission: what a kubelet may write, beyond what authorization decided. */
function nodeRestriction(node: string, info: ResourceInfo, obj: KubeObject, old?: KubeObject) {
  if (info.group === "" && info.resource === "nodes") {
    const name = meta(obj).name;
    if (name !== node)
      throw refusal(node, info, obj, `node "${node}" is not allowed to modify node "${name}"`);
    const now = meta(obj).labels ?? {};
    const before = meta(old ?? obj).labels ?? (old ? {} : {});
    const changed = [...new Set([...Object.keys(now), ...Object.keys(old ? before : {})])].filter(
      (k) => k.startsWith(NODE_RESTRICTION_PREFIX) && (!old || now[k] !== before[k]),
    );
    if (changed.length)
      throw refusal(
        node,
        info,
        obj,
        `is not allowed to modify labels: ${changed.sort().join(", ")}`,
      );
    return;
  }
  if (info.group === "" && info.resource === "pods" && !old) {
    const annotations = meta(obj).annotations ?? {};
    const spec = (obj.spec ?? {}) as { nodeName?: string };
    if (!(MIRROR_ANNOTATION in annotations))
      throw refusal(
        node,
        info,
        obj,
        `pod does not have "${MIRROR_ANNOTATION}" annotation, node "${node}" can only create mirror pods`,
      );
    if (spec.nodeName !== node)
      throw refusal(
        node,
        info,
        obj,
        `node "${node}" can only create pods with spec.nodeName set to itself`,
      );
    const refs = podReferences(obj);
    for (const kind of ["secrets", "configmaps", "persistentvolumeclaims"])
      if (refs[kind]!.size)
        throw refusal(node, info, obj, `node "${node}" can not create pods that reference ${kind}`);
    return;
  }
  if (info.group === "coordination.k8s.io" && info.resource === "leases" && !old) {
    if (meta(obj).namespace !== NODE_LEASE_NAMESPACE || meta(obj).name !== node)
      throw refusal(
        node,
        info,
        obj,
        "can only access node lease with the same name as the requesting node",
      );
  }
}
