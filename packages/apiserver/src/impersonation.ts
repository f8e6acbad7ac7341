// Impersonation (kubectl --as, --as-group, --as-uid): the Impersonate-User, Impersonate-Group,
// Impersonate-Uid and Impersonate-Extra-<key> headers make the request act as another user,
// once the authorizers allow the requester the `impersonate` verb on each thing asked for:
// users, groups and serviceaccounts (core group), uids and userextras/<key>
// (authentication.k8s.io), as Kubernetes' impersonation filter does.
import type { IncomingHttpHeaders } from "node:http";
import type { UserInfo } from "./auth.js";
import type { Attributes } from "./authz/index.js";
import { BadRequestError } from "./errors.js";

const USER = "impersonate-user";
const GROUP = "impersonate-group";
const UID = "impersonate-uid";
const EXTRA = "impersonate-extra-";
const AUTHENTICATION = "authentication.k8s.io";

/** One thing the requester asks to act as (Kubernetes' ObjectReference of it). */
interface Wanted {
  kind: "User" | "ServiceAccount" | "Group" | "UserExtra" | "UID";
  name: string;
  namespace?: string;
  apiVersion?: string;
  /** The extra's key, for UserExtra. */
  fieldPath?: string;
}

const SERVICE_ACCOUNT = /^system:serviceaccount:([^:]+):([^:]+)$/;

/** The impersonation asked for by the headers; BadRequest for groups/extras/uid without a user. */
function wanted(headers: Record<string, string[] | undefined>): Wanted[] {
  const out: Wanted[] = [];
  const user = headers[USER]?.[0] ?? "";
  if (user) {
    const sa = SERVICE_ACCOUNT.exec(user);
    out.push(
      sa
        ? { kind: "ServiceAccount", namespace: sa[1]!, name: sa[2]! }
        : { kind: "User", name: user },
    );
  }
  for (const g of headers[GROUP] ?? []) out.push({ kind: "Group", name: g });
  for (const [header, values] of Object.entries(headers)) {
    if (!header.startsWith(EXTRA)) continue;
    const key = unescapeExtraKey(header.slice(EXTRA.length).toLowerCase());
    for (const v of values ?? [])
      out.push({ kind: "UserExtra", name: v, apiVersion: `${AUTHENTICATION}/v1`, fieldPath: key });
  }
  const uid = headers[UID]?.[0] ?? "";
  if (uid) out.push({ kind: "UID", name: uid, apiVersion: `${AUTHENTICATION}/v1` });
  if (!user && out.length) {
    // Kubernetes prints the references with Go's %v: {Kind Namespace Name UID APIVersion RV FieldPath}.
    const refs = out.map(
      (w) =>
        `{${[w.kind, w.namespace ?? "", w.name, "", w.apiVersion ?? "", "", w.fieldPath ?? ""].join(" ")}}`,
    );
    throw new BadRequestError(`requested [${refs.join(" ")}] without impersonating a user`);
  }
  return out;
}

/** Extra keys travel percent-encoded in header names (Kubernetes' unescapeExtraKey). */
function unescapeExtraKey(key: string): string {
  try {
    return decodeURIComponent(key);
  } catch {
    return key;
  }
}

/** True when the request carries any impersonation header. */
export function impersonates(headers: IncomingHttpHeaders): boolean {
  return Object.keys(headers).some(
    (h) => h === USER || h === GROUP || h === UID || h.startsWith(EXTRA),
  );
}

/**
 * The user the request acts as. `check` throws the 403 when the requester may not
 * impersonate one of the things asked for (checked in header order, as Kubernetes does).
 */
export async function impersonatedUser(
  requester: UserInfo,
  headers: Record<string, string[] | undefined>,
  check: (attrs: Attributes) => Promise<void>,
): Promise<UserInfo | undefined> {
  const asked = wanted(headers);
  if (!asked.length) return undefined;
  let name = "";
  let uid: string | undefined;
  let groups: string[] = [];
  const extra: Record<string, string[]> = {};
  const groupsGiven = asked.some((w) => w.kind === "Group");
  for (const w of asked) {
    const attrs: Attributes = {
      user: requester,
      verb: "impersonate",
      resourceRequest: true,
      path: "",
      apiGroup: w.apiVersion ? AUTHENTICATION : "",
      apiVersion: "v1",
      namespace: w.namespace ?? "",
      resource: "",
      subresource: "",
      name: w.name,
    };
    switch (w.kind) {
      case "ServiceAccount":
        attrs.resource = "serviceaccounts";
        name = `system:serviceaccount:${w.namespace!}:${w.name}`;
        if (!groupsGiven)
          groups = ["system:serviceaccounts", `system:serviceaccounts:${w.namespace!}`];
        break;
      case "User":
        attrs.resource = "users";
        name = w.name;
        break;
      case "Group":
        attrs.resource = "groups";
        groups.push(w.name);
        break;
      case "UserExtra":
        attrs.resource = "userextras";
        attrs.subresource = w.fieldPath!;
        (extra[w.fieldPath!] ??= []).push(w.name);
        break;
      case "UID":
        attrs.resource = "uids";
        uid = w.name;
        break;
    }
    await check(attrs);
  }
  // As Kubernetes: an impersonated user is authenticated unless it is anonymous (or the
  // groups asked for say otherwise).
  if (name !== "system:anonymous") {
    if (!groups.includes("system:authenticated") && !groups.includes("system:unauthenticated"))
      groups.push("system:authenticated");
  } else if (!groups.includes("system:unauthenticated")) {
    groups.push("system:unauthenticated");
  }
  return {
    name,
    groups,
    ...(uid ? { uid } : {}),
    ...(Object.keys(extra).length ? { extra } : {}),
  };
}
