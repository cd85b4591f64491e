/**
 * The Kubernetes manifests, rendered by the real kustomize library (tools/k8s/render, Go), checked
 * against the code they deploy: each container's environment must parse with its service's own env
 * schema (no unknown or mistyped variables), the ports the service then listens on must be the
 * container's ports, and probes, Prometheus annotations, Services, PDBs, autoscalers and the
 * NetworkPolicy must point at ports and objects that exist. A drift between k8s/ and the services
 * fails here instead of in a cluster.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Topics } from '@personastream/contracts';
import { evaluatorEnvShape } from '@personastream/evaluator';
import { ingestEnvShape } from '@personastream/ingest';
import { personaEnvShape } from '@personastream/persona';
import { semantizerEnv } from '@personastream/semantizer';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { exportedMetrics, PROMETHEUS_SERIES, selectedMetrics } from './alert-rules.js';

const ROOT = resolve(__dirname, '../../..');
const OVERLAYS = ['dev', 'prod'] as const;

/** Each deployable service: its env schema and which variables name the ports it listens on. */
const SERVICES: Record<
  string,
  { shape: z.ZodRawShape; mainPort?: string; opsPort?: string; metricsOn: 'ops' | 'main' }
> = {
  semantizer: { shape: semantizerEnv, opsPort: 'OPS_PORT', metricsOn: 'ops' },
  persona: { shape: personaEnvShape, mainPort: 'PERSONA_GRPC_PORT', opsPort: 'OPS_PORT', metricsOn: 'ops' },
  ingest: { shape: ingestEnvShape, mainPort: 'INGEST_HTTP_PORT', opsPort: 'OPS_PORT', metricsOn: 'ops' },
  // The evaluator serves /healthz and /metrics on its HTTP port (no separate ops server).
  evaluator: { shape: evaluatorEnvShape, mainPort: 'EVALUATOR_HTTP_PORT', metricsOn: 'main' },
};

/** Variables read by the image rather than by a service (deploy/Dockerfile's CMD). */
const IMAGE_VARIABLES = new Set(['SERVICE']);

/** What the out-of-band Secret `personastream-secrets` holds (k8s/base/config.yaml), with stand-in values. */
const SECRET_STANDINS: Record<string, string> = {
  PERSONA_TENANT_TOKENS: 'tenant-a:token-a',
  INGEST_API_KEYS: 'tenant-a:key-a',
  EVALUATOR_TENANT_TOKENS: 'tenant-a:evaluator-token-a-0123456789',
  EVALUATOR_ADMIN_TOKEN: 'evaluator-admin-token-0123456789',
  PERSONA_LLM_API_KEY: 'stand-in',
};

// biome-ignore lint/suspicious/noExplicitAny: rendered Kubernetes objects are untyped JSON
type K8sObject = any;

function render(renderer: string, overlay: string): K8sObject[] {
  const out = execFileSync(renderer, [join(ROOT, 'k8s/overlays', overlay)], { encoding: 'utf8' });
  return JSON.parse(out) as K8sObject[];
}

function byKind(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

function containerOf(deployment: K8sObject): K8sObject {
  const containers = deployment.spec.template.spec.containers as K8sObject[];
  expect(containers, `${deployment.metadata.name}: one container`).toHaveLength(1);
  return containers[0];
}

/** The environment the container starts with: its ConfigMap and Secret refs, then its own `env`. */
function environmentOf(objects: K8sObject[], container: K8sObject): Record<string, string> {
  const envOut: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) {
      const cm = byKind(objects, 'ConfigMap').find((c) => c.metadata.name === from.configMapRef.name);
      expect(cm, `ConfigMap ${from.configMapRef.name}`).toBeDefined();
      Object.assign(envOut, cm.data);
    }
    if (from.secretRef) Object.assign(envOut, SECRET_STANDINS);
  }
  for (const e of container.env ?? []) envOut[e.name] = expandReferences(e.value, envOut);
  return envOut;
}

/**
 * The kubelet's expansion of `$(NAME)` in an env value: names defined before (envFrom, earlier env
 * entries) are replaced, `$$` is a literal `$`, unknown names stay as written.
 */
function expandReferences(value: string, defined: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string | undefined) =>
    name === undefined ? '$' : (defined[name] ?? whole),
  );
}

/** The ports a service listens on, by role, from its parsed environment. */
function listeningPorts(service: string, env: Record<string, unknown>): { main?: number; ops?: number } {
  const spec = SERVICES[service];
  if (!spec) throw new Error(`unknown service ${service}`);
  return {
    ...(spec.mainPort ? { main: env[spec.mainPort] as number } : {}),
    ...(spec.opsPort ? { ops: env[spec.opsPort] as number } : {}),
  };
}

function portNumber(container: K8sObject, port: string | number): number | undefined {
  if (typeof port === 'number') return port;
  return (container.ports as K8sObject[]).find((p) => p.name === port)?.containerPort;
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

let renderer = '';
const rendered: Record<string, K8sObject[]> = {};

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'ps-k8s-'));
  renderer = join(dir, 'render');
  try {
    execFileSync('go', ['build', '-o', renderer, '.'], { cwd: join(ROOT, 'tools/k8s/render'), stdio: 'pipe' });
  } catch (err) {
    throw new Error(`building tools/k8s/render with Go failed (is Go ≥ 1.26 on PATH?): ${(err as Error).message}`);
  }
  for (const overlay of OVERLAYS) rendered[overlay] = render(renderer, overlay);
}, 600_000);

describe.each(OVERLAYS)('k8s overlay %s (rendered by kustomize)', (overlay) => {
  const objects = () => rendered[overlay] as K8sObject[];
  const deployments = () => byKind(objects(), 'Deployment');

  it('deploys every service, from the pinned image, in the personastream namespace', () => {
    expect(
      deployments()
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual(Object.keys(SERVICES).sort());
    for (const o of objects()) {
      if (o.kind !== 'Namespace') expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('personastream');
    }
    for (const d of deployments()) {
      const c = containerOf(d);
      expect(c.image).toMatch(/^ghcr\.io\/personastream\/personastream:\d+\.\d+\.\d+$/);
      const service = (c.env as K8sObject[]).find((e) => e.name === 'SERVICE')?.value;
      expect(service, `${d.metadata.name}: SERVICE`).toBe(d.metadata.name);
      expect(existsSync(join(ROOT, 'services', service, 'src/main.ts')), `services/${service}/src/main.ts`).toBe(true);
    }
  });

  it("gives each container an environment its service's schema accepts, with no unknown variables", () => {
    const known = new Set<string>();
    for (const d of deployments()) {
      const name = d.metadata.name as string;
      const spec = SERVICES[name];
      if (!spec) throw new Error(`no schema for ${name}`);
      for (const k of Object.keys(spec.shape)) known.add(k);
      const c = containerOf(d);
      const env = environmentOf(objects(), c);
      const parsed = z.object(spec.shape).safeParse(env);
      expect(parsed.error?.issues ?? [], `${name}: env parses`).toEqual([]);
      const unknown = (c.env as K8sObject[])
        .map((e) => e.name as string)
        .filter((k) => !(k in spec.shape) && !IMAGE_VARIABLES.has(k));
      expect(unknown, `${name}: variables its service never reads`).toEqual([]);
      // Bound to every interface, or probes and Prometheus cannot reach the pod.
      for (const [k, v] of Object.entries(parsed.data ?? {})) {
        if (k.endsWith('_HOST')) expect(v, `${name}: ${k}`).toBe('0.0.0.0');
      }
    }
    const cm = byKind(objects(), 'ConfigMap').find((c) => c.metadata.name === 'personastream-config');
    const unread = Object.keys(cm.data).filter((k) => !known.has(k));
    expect(unread, 'ConfigMap keys no service reads').toEqual([]);
  });

  it('gives ingest, which runs several replicas, the Redis of the other services as its run coordinator', () => {
    const d = deployments().find((x) => x.metadata.name === 'ingest');
    const env = environmentOf(objects(), containerOf(d));
    const scaler = byKind(objects(), 'HorizontalPodAutoscaler').find((h) => h.spec.scaleTargetRef.name === 'ingest');
    expect(Math.max(d.spec.replicas ?? 1, scaler?.spec.maxReplicas ?? 1)).toBeGreaterThan(1);
    expect(env.INGEST_REDIS_URL).toBe(env.REDIS_URL);
    expect(expandReferences('$(A)-$$(A)-$(B)', { A: 'x' })).toBe('x-$(A)-$(B)');
  });

  it('exposes exactly the ports each service listens on, and probes/scrapes the right ones', () => {
    for (const d of deployments()) {
      const name = d.metadata.name as string;
      const spec = SERVICES[name];
      if (!spec) throw new Error(`no schema for ${name}`);
      const c = containerOf(d);
      const env = z.object(spec.shape).parse(environmentOf(objects(), c)) as Record<string, unknown>;
      const listening = listeningPorts(name, env);
      const ports = c.ports as K8sObject[];
      expect(new Set(ports.map((p) => p.name)).size, `${name}: port names unique`).toBe(ports.length);
      expect(
        ports.map((p) => p.containerPort).sort(),
        `${name}: containerPorts = ports the service listens on`,
      ).toEqual(Object.values(listening).sort());
      for (const probe of [c.readinessProbe, c.livenessProbe]) {
        expect(probe?.httpGet?.path, `${name}: probe path`).toBe('/healthz');
        const p = portNumber(c, probe.httpGet.port);
        expect(p === listening.ops || p === listening.main, `${name}: probe port ${probe.httpGet.port} is served`).toBe(
          true,
        );
      }
      const annotations = d.spec.template.metadata.annotations ?? {};
      expect(annotations['prometheus.io/scrape']).toBe('true');
      expect(Number(annotations['prometheus.io/port']), `${name}: Prometheus scrapes the /metrics port`).toBe(
        listening[spec.metricsOn],
      );
    }
  });

  it('has Services that select their pods and target named container ports', () => {
    for (const svc of byKind(objects(), 'Service')) {
      const d = deployments().find((x) => matches(svc.spec.selector, x.spec.template.metadata.labels));
      expect(d, `Service ${svc.metadata.name} selects a Deployment`).toBeDefined();
      const ports = svc.spec.ports as K8sObject[];
      expect(new Set(ports.map((p) => p.port)).size, `Service ${svc.metadata.name}: port numbers unique`).toBe(
        ports.length,
      );
      expect(new Set(ports.map((p) => p.name)).size).toBe(ports.length);
      for (const p of ports) {
        expect(
          portNumber(containerOf(d), p.targetPort),
          `Service ${svc.metadata.name} → ${p.targetPort}`,
        ).toBeDefined();
      }
    }
  });

  it('lets every PodDisruptionBudget allow a voluntary disruption (node drains never block)', () => {
    for (const pdb of byKind(objects(), 'PodDisruptionBudget')) {
      const d = deployments().find((x) => matches(pdb.spec.selector.matchLabels, x.spec.template.metadata.labels));
      expect(d, `PDB ${pdb.metadata.name} selects a Deployment`).toBeDefined();
      const scalers = [
        ...byKind(objects(), 'HorizontalPodAutoscaler').filter((h) => h.spec.scaleTargetRef.name === d.metadata.name),
        ...byKind(objects(), 'ScaledObject').filter((s) => s.spec.scaleTargetRef.name === d.metadata.name),
      ];
      const fewest = Math.min(
        d.spec.replicas ?? 1,
        ...scalers.map((s) => s.spec.minReplicas ?? s.spec.minReplicaCount ?? 1),
      );
      if (pdb.spec.minAvailable !== undefined) {
        expect(pdb.spec.minAvailable, `PDB ${pdb.metadata.name}: minAvailable < ${fewest} replicas`).toBeLessThan(
          fewest,
        );
      } else {
        expect(pdb.spec.maxUnavailable, `PDB ${pdb.metadata.name}: maxUnavailable`).toBeGreaterThanOrEqual(1);
      }
    }
  });

  it('scales only Deployments that exist, and KEDA watches the semantizer group and topic', () => {
    const names = new Set(deployments().map((d) => d.metadata.name));
    for (const s of [...byKind(objects(), 'HorizontalPodAutoscaler'), ...byKind(objects(), 'ScaledObject')]) {
      expect(names.has(s.spec.scaleTargetRef.name), `${s.kind}/${s.metadata.name}`).toBe(true);
    }
    for (const so of byKind(objects(), 'ScaledObject')) {
      const d = deployments().find((x) => x.metadata.name === so.spec.scaleTargetRef.name);
      const env = z.object(semantizerEnv).parse(environmentOf(objects(), containerOf(d)));
      for (const t of so.spec.triggers as K8sObject[]) {
        expect(t.type).toBe('kafka');
        expect(t.metadata.consumerGroup).toBe(env.SEMANTIZER_GROUP_ID);
        expect(t.metadata.topic).toBe(env.SEMANTIZER_EVENTS_TOPIC ?? Topics.events);
        expect(t.metadata.bootstrapServers.split(',')).toEqual(env.KAFKA_BROKERS);
      }
    }
  });

  it('opens every container port in the NetworkPolicy, and ops ports to monitoring only', () => {
    const policies = byKind(objects(), 'NetworkPolicy');
    expect(policies.length).toBeGreaterThan(0);
    const rules = policies.flatMap((p) => p.spec.ingress as K8sObject[]);
    for (const d of deployments()) {
      for (const p of containerOf(d).ports as K8sObject[]) {
        const opening = rules.filter((r) => (r.ports as K8sObject[]).some((rp) => rp.port === p.containerPort));
        expect(opening.length, `${d.metadata.name}:${p.containerPort} allowed`).toBeGreaterThan(0);
        if (p.name === 'ops') for (const r of opening) expect(r.from, `${d.metadata.name} ops port`).toBeDefined();
      }
    }
  });

  it("opens the evaluator's port (tenants' scores and summaries) only to monitoring and labelled namespaces", () => {
    const evaluator = deployments().find((d) => d.metadata.name === 'evaluator');
    const port = (containerOf(evaluator).ports as K8sObject[]).find((p) => p.name === 'main')?.containerPort;
    // its tokens come from the out-of-band Secret (without them it refuses to start)
    const fromSecret = (containerOf(evaluator).envFrom as K8sObject[]).map((f) => f.secretRef?.name);
    expect(fromSecret).toContain('personastream-secrets');
    const labels = evaluator.spec.template.metadata.labels as Record<string, string>;
    const opening = byKind(objects(), 'NetworkPolicy')
      .filter(
        (p) =>
          Object.keys(p.spec.podSelector ?? {}).length === 0 || matches(p.spec.podSelector.matchLabels ?? {}, labels),
      )
      .flatMap((p) => p.spec.ingress as K8sObject[])
      .filter((r) => r.ports === undefined || (r.ports as K8sObject[]).some((rp) => rp.port === port));
    expect(opening.length, `a rule opens evaluator:${port}`).toBeGreaterThan(0);
    const peers: K8sObject[] = [];
    for (const r of opening) {
      // a rule without "from" (or with an empty peer) admits every pod and address
      expect(r.from, `evaluator:${port} is not open to everything`).toBeDefined();
      peers.push(...(r.from as K8sObject[]));
    }
    for (const peer of peers) {
      expect(peer.ipBlock, 'no address range reaches the evaluator').toBeUndefined();
      expect(Object.keys(peer.namespaceSelector?.matchLabels ?? {}).length, JSON.stringify(peer)).toBe(1);
      expect(peer.podSelector, 'whole namespaces, chosen by label').toBeUndefined();
    }
    expect(peers.map((p) => p.namespaceSelector.matchLabels)).toEqual([
      { 'kubernetes.io/metadata.name': 'monitoring' },
      { 'personastream.io/evaluator-access': 'true' },
    ]);
  });

  it('runs hardened containers with requests and memory limits', () => {
    for (const d of deployments()) {
      const c = containerOf(d);
      expect(d.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
      expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
      expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
      expect(c.resources.requests.cpu).toBeDefined();
      expect(c.resources.limits.memory).toBeDefined();
    }
  });

  if (overlay === 'dev') {
    it('runs one replica of everything in dev', () => {
      for (const d of deployments()) expect(d.spec.replicas, d.metadata.name).toBe(1);
    });
  }
});

/** The services that serve TLS in production, by the prefix of their `<P>_TLS_*` variables. */
const TLS_SERVICES: Record<string, string> = { persona: 'PERSONA', ingest: 'INGEST', evaluator: 'EVALUATOR' };

/** The Secret volume mounted at the directory of `path` in `deployment`, if any. */
function secretMountedAt(deployment: K8sObject, path: string): { secret: string; readOnly: boolean } | undefined {
  const mount = ((containerOf(deployment).volumeMounts ?? []) as K8sObject[]).find((m) =>
    path.startsWith(`${String(m.mountPath).replace(/\/+$/, '')}/`),
  );
  if (!mount) return undefined;
  const volume = ((deployment.spec.template.spec.volumes ?? []) as K8sObject[]).find((v) => v.name === mount.name);
  if (!volume?.secret) return undefined;
  return { secret: volume.secret.secretName, readOnly: mount.readOnly === true };
}

describe('production settings of the prod overlay (TLS, topic replication)', () => {
  const deploymentsOf = (overlay: string) => byKind(rendered[overlay] as K8sObject[], 'Deployment');
  const envOf = (overlay: string, d: K8sObject) => {
    const spec = SERVICES[d.metadata.name as string];
    if (!spec) throw new Error(`no schema for ${d.metadata.name}`);
    return z.object(spec.shape).parse(environmentOf(rendered[overlay] as K8sObject[], containerOf(d))) as Record<
      string,
      unknown
    >;
  };

  it('creates and accepts only topics with replication factor 3 and min.insync.replicas 2 in prod', () => {
    for (const d of deploymentsOf('prod')) {
      const env = envOf('prod', d);
      expect(env.KAFKA_REPLICATION_FACTOR, `${d.metadata.name}: KAFKA_REPLICATION_FACTOR`).toBe(3);
      expect(env.KAFKA_MIN_INSYNC_REPLICAS, `${d.metadata.name}: KAFKA_MIN_INSYNC_REPLICAS`).toBe(2);
    }
    // dev keeps the single-broker defaults
    for (const d of deploymentsOf('dev')) {
      expect(envOf('dev', d).KAFKA_REPLICATION_FACTOR, d.metadata.name).toBe(1);
      expect(envOf('dev', d).KAFKA_MIN_INSYNC_REPLICAS, d.metadata.name).toBeUndefined();
    }
  });

  it('serves persona, ingest and the evaluator over TLS in prod, from a read-only mounted Secret', () => {
    for (const d of deploymentsOf('prod')) {
      const prefix = TLS_SERVICES[d.metadata.name as string];
      if (!prefix) continue;
      const env = envOf('prod', d);
      for (const v of [`${prefix}_TLS_CERT_FILE`, `${prefix}_TLS_KEY_FILE`]) {
        const path = env[v];
        expect(typeof path, `${d.metadata.name}: ${v}`).toBe('string');
        const mounted = secretMountedAt(d, path as string);
        expect(mounted, `${d.metadata.name}: ${v} (${path}) lies in a mounted Secret`).toBeDefined();
        expect(mounted?.secret).toBe(`${d.metadata.name}-tls`);
        expect(mounted?.readOnly, `${d.metadata.name}: the certificate is mounted read-only`).toBe(true);
      }
      expect(
        byKind(rendered.prod as K8sObject[], 'Secret'),
        'the certificate Secret is created out of band, never in git',
      ).toEqual([]);
    }
    expect(deploymentsOf('prod').filter((d) => TLS_SERVICES[d.metadata.name])).toHaveLength(3);
    // dev: plaintext, as local development
    for (const d of deploymentsOf('dev')) {
      const prefix = TLS_SERVICES[d.metadata.name as string];
      if (prefix) expect(envOf('dev', d)[`${prefix}_TLS_CERT_FILE`], d.metadata.name).toBeUndefined();
    }
  });

  it('probes and scrapes the evaluator (its /healthz and /metrics are on its TLS port) over HTTPS in prod', () => {
    const scheme = (overlay: string) => {
      const d = deploymentsOf(overlay).find((x) => x.metadata.name === 'evaluator');
      const c = containerOf(d);
      return {
        probes: [c.readinessProbe.httpGet.scheme ?? 'HTTP', c.livenessProbe.httpGet.scheme ?? 'HTTP'],
        prometheus: d.spec.template.metadata.annotations?.['prometheus.io/scheme'] ?? 'http',
      };
    };
    expect(scheme('prod')).toEqual({ probes: ['HTTPS', 'HTTPS'], prometheus: 'https' });
    expect(scheme('dev')).toEqual({ probes: ['HTTP', 'HTTP'], prometheus: 'http' });
  });
});

describe('alerting rules (k8s/overlays/prod/prometheus-rules.yaml, rendered)', () => {
  const rules = () =>
    byKind(rendered.prod as K8sObject[], 'PrometheusRule').flatMap((r) =>
      (r.spec.groups as K8sObject[]).flatMap((g) =>
        (g.rules as K8sObject[]).map((rule) => ({ group: g.name, ...rule })),
      ),
    );
  const exported = exportedMetrics([join(ROOT, 'services'), join(ROOT, 'packages')]);

  it("finds the services' metrics in their sources (the check below is not vacuous)", () => {
    for (const m of ['ingest_kafka_up', 'semantizer_dlq_total', 'persona_update_seconds_bucket']) {
      expect(exported.has(m), m).toBe(true);
    }
    expect(selectedMetrics('sum(rate(x_total[5m])) /').errorAt).toBeDefined();
    expect(selectedMetrics('sum by (le) (rate(a_bucket{k="v"}[5m])) / b').metrics).toEqual(['a_bucket', 'b']);
  });

  it('has valid PromQL that selects only metrics the services export', () => {
    const all = rules();
    expect(all.length).toBeGreaterThan(5);
    for (const r of all) {
      const parsed = selectedMetrics(String(r.expr));
      expect(parsed.errorAt, `${r.alert}: syntax error at ${parsed.errorAt} in ${r.expr}`).toBeUndefined();
      expect(parsed.metrics.length, `${r.alert} selects a metric`).toBeGreaterThan(0);
      for (const m of parsed.metrics) {
        expect(exported.has(m) || PROMETHEUS_SERIES.has(m), `${r.alert}: ${m} is not exported by any service`).toBe(
          true,
        );
      }
    }
  });

  it('gives every alert a unique name, a severity, a duration and a summary', () => {
    const names = rules().map((r) => r.alert as string);
    expect(new Set(names).size).toBe(names.length);
    for (const r of rules()) {
      expect(['page', 'ticket'], r.alert).toContain(r.labels?.severity);
      expect(String(r.for), r.alert).toMatch(/^\d+[smh]$/);
      expect(String(r.annotations?.summary ?? '').length, r.alert).toBeGreaterThan(10);
    }
  });
});

describe('operations dashboard (deploy/grafana/personastream-ops.json)', () => {
  const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/personastream-ops.json'), 'utf8')) as {
    panels: Array<{
      id: number;
      title: string;
      description?: string;
      targets: Array<{ expr: string; datasource: { type: string } }>;
    }>;
  };
  const exported = exportedMetrics([join(ROOT, 'services'), join(ROOT, 'packages')]);

  it('queries only metrics the services export, in valid PromQL, from the Prometheus datasource', () => {
    expect(dashboard.panels.length).toBeGreaterThan(5);
    for (const p of dashboard.panels) {
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets) {
        expect(t.datasource.type, p.title).toBe('prometheus');
        const parsed = selectedMetrics(t.expr);
        expect(parsed.errorAt, `${p.title}: syntax error at ${parsed.errorAt} in ${t.expr}`).toBeUndefined();
        expect(parsed.metrics.length, p.title).toBeGreaterThan(0);
        for (const m of parsed.metrics) expect(exported.has(m), `${p.title}: ${m} is not exported`).toBe(true);
      }
    }
  });

  it('has unique panel ids and a description on every panel', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) expect((p.description ?? '').length, p.title).toBeGreaterThan(20);
  });
});
