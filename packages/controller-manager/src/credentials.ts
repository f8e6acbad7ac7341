// --use-service-account-credentials: each controller talks to the apiserver as its own
// ServiceAccount, kube-system/<account> (system:serviceaccount:kube-system:<account>), bound
// by the apiserver's bootstrap policy to the role system:controller:<account> and nothing
// else. The manager's own credential makes sure the account exists and asks TokenRequest for
// its token, which is renewed once 80% of its life has passed, as kube-controller-manager's
// dynamic client builder does. The shared informers keep the manager's own credential.
//
//   const clients = new ServiceAccountClients(root, log);
//   const client = await clients.clientFor("replicaset-controller");   // a RestClient
//   clients.stop();                                                    // ends the renewals
import { resourceInfo } from "@skiff/api/light";
import { RestClient, isAlreadyExists, type ClientConfig, type Logger } from "@skiff/client";

export const CONTROLLER_NAMESPACE = "kube-system";

/** The ServiceAccount each controller runs as, by --controllers name (Kubernetes' names). */
export const CONTROLLER_ACCOUNTS: Record<string, string> = {
  replicaset: "replicaset-controller",
  replicationcontroller: "replication-controller",
  deployment: "deployment-controller",
  garbagecollector: "generic-garbage-collector",
  namespace: "namespace-controller",
  endpoint: "endpoint-controller",
  endpointslice: "endpointslice-controller",
  // Kubernetes runs node IPAM and node lifecycle as the one node-controller account.
  nodeipam: "node-controller",
  nodelifecycle: "node-controller",
  job: "job-controller",
  daemonset: "daemon-set-controller",
  statefulset: "statefulset-controller",
  cronjob: "cronjob-controller",
  disruption: "disruption-controller",
  resourcequota: "resourcequota-controller",
  "persistentvolume-binder": "persistent-volume-binder",
  "pvc-protection": "pvc-protection-controller",
  serviceaccount: "service-account-controller",
  "root-ca-cert-publisher": "root-ca-cert-publisher",
  horizontalpodautoscaling: "horizontal-pod-autoscaler",
  "clusterrole-aggregation": "clusterrole-aggregation-controller",
};

/** Lifetime asked of each token (kube-controller-manager asks one hour). */
export const TOKEN_EXPIRATION_SECONDS = 3600;

interface TokenRequestAnswer {
  status?: { token?: string; expirationTimestamp?: string };
}

export class ServiceAccountClients {
  private readonly clients = new Map<string, Promise<RestClient>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly root: RestClient,
    private readonly log: Logger,
    private readonly expirationSeconds = TOKEN_EXPIRATION_SECONDS,
  ) {}

  /** A client authenticated as kube-system/<account>; one per account, shared. */
  clientFor(account: string): Promise<RestClient> {
    let client = this.clients.get(account);
    if (!client) {
      client = this.build(account);
      this.clients.set(account, client);
      client.catch(() => this.clients.delete(account));
    }
    return client;
  }

  /** Ends the renewals and closes the clients. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of this.clients.values())
      void c.then(
        (client) => client.close(),
        () => {},
      );
    this.clients.clear();
  }

  private async build(account: string): Promise<RestClient> {
    await this.ensureAccount(account);
    const { token, lifetimeMs } = await this.requestToken(account);
    const base = this.root.config;
    // Only the server and how to trust it: a client certificate would win over the token.
    const config: ClientConfig = {
      server: base.server,
      namespace: base.namespace,
      token,
      ...(base.ca ? { ca: base.ca } : {}),
      ...(base.insecure ? { insecure: base.insecure } : {}),
      ...(base.tlsServerName ? { tlsServerName: base.tlsServerName } : {}),
      ...(base.qps !== undefined ? { qps: base.qps } : {}),
      ...(base.burst !== undefined ? { burst: base.burst } : {}),
    };
    const client = new RestClient(config, {
      userAgent: `skiff-controller-manager/0.1.0 (${account})`,
    });
    this.scheduleRenewal(account, client, lifetimeMs);
    return client;
  }

  // The RestClient reads config.token at every request, so a renewal swaps it in place.
  private scheduleRenewal(account: string, client: RestClient, lifetimeMs: number): void {
    if (this.stopped) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        this.requestToken(account).then(
          ({ token, lifetimeMs: next }) => {
            client.config.token = token;
            this.scheduleRenewal(account, client, next);
          },
          (err: unknown) => {
            // The old token still has a fifth of its life: try again shortly.
            this.log.error({ account, err }, "cannot renew the controller's token");
            this.scheduleRenewal(account, client, 50_000);
          },
        );
      },
      Math.max(1_000, lifetimeMs * 0.8),
    );
    timer.unref();
    this.timers.add(timer);
  }

  private async ensureAccount(account: string): Promise<void> {
    const accounts = this.root
      .resource(resourceInfo("", "v1", "serviceaccounts"))
      .namespace(CONTROLLER_NAMESPACE);
    await accounts
      .create({
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: account, namespace: CONTROLLER_NAMESPACE },
      })
      .catch((err: unknown) => {
        if (!isAlreadyExists(err)) throw err;
      });
  }

  private async requestToken(account: string): Promise<{ token: string; lifetimeMs: number }> {
    const answer = (await this.root.request(
      "POST",
      `/api/v1/namespaces/${CONTROLLER_NAMESPACE}/serviceaccounts/${account}/token`,
      {
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { expirationSeconds: this.expirationSeconds },
        },
      },
    )) as TokenRequestAnswer;
    const token = answer.status?.token;
    if (!token)
      throw new Error(`TokenRequest for ${CONTROLLER_NAMESPACE}/${account} gave no token`);
    const expires = Date.parse(answer.status?.expirationTimestamp ?? "");
    const lifetimeMs = Number.isNaN(expires)
      ? this.expirationSeconds * 1000
      : Math.max(0, expires - Date.now());
    return { token, lifetimeMs };
  }
}
