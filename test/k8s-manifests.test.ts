import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type EnvVar, loadConfig } from '@vod-callbacks/shared';
import { REPO_ROOT } from '@vod-callbacks/test-support';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { INGRESS_ENV } from '../apps/ingress/src/config.js';
import { READYZ_PING_TIMEOUT_MS, STARTUP_REDIS_WAIT_MS } from '../apps/ingress/src/plugins/health-routes.js';
import { WORKER_ENV } from '../apps/worker/src/config.js';
import { modelPath, unknownFieldProblems } from './support/k8s-types.js';
import { type K8sObject, overlayNames, renderKustomization, theObject } from './support/kustomize.js';

// deploy/k8s, checked offline: every overlay renders with `kubectl kustomize`, every object validates
// against its schema (kubernetes-models, @kubernetes-models/keda, @kubernetes-models/prometheus-operator)
// and has no field the schema's TypeScript interface lacks, and the manifests agree with the code:
// ports, probes, settings, drain time, disruption budgets, secrets, monitoring and the autoscaler.
// test/k8s-keda-query.test.ts runs the autoscaler's queries against a real Prometheus;
// test/k8s-readonly-root.test.ts runs the apps on a read-only filesystem.

const APP_ENV: Record<string, Record<string, EnvVar>> = { ingress: INGRESS_ENV, worker: WORKER_ENV };
const SECRET_NAME = /KEY|SECRET|PASSWORD|TOKEN/;
/** The secrets the issue names: always referenced from a Secret, never written down. */
const SECRET_REFS = {
  ingress: ['CALLBACK_PRIVATE_KEY', 'ADMIN_PASSWORD'],
  worker: ['VOLC_ACCESSKEY', 'VOLC_SECRETKEY', 'OUTCOME_WEBHOOK_SECRET'],
};

async function validateObject(obj: K8sObject): Promise<void> {
  const path = modelPath(obj);
  let Model: new (data: unknown) => { validate(): void };
  try {
    Model = (await import(path))[obj.kind];
  } catch {
    throw new Error(`no schema for ${obj.apiVersion} ${obj.kind} (looked for ${path})`);
  }
  new Model(obj).validate();
}

type EnvSource = { value: string } | { secret: { name: string; key: string; optional?: boolean } };

interface Workload {
  app: 'ingress' | 'worker';
  deployment: K8sObject;
  // biome-ignore lint/suspicious/noExplicitAny: a container spec as rendered
  container: any;
  env: Map<string, EnvSource>;
  /** Settings as the process would see them (ConfigMap values over the spec's defaults). */
  setting(name: string): string;
  minReplicas: number;
}

function workloads(objects: K8sObject[]): Workload[] {
  const configMaps = new Map<string, Record<string, string>>(
    objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data ?? {}]),
  );
  return objects
    .filter((o) => o.kind === 'Deployment')
    .map((deployment) => {
      const containers = deployment.spec.template.spec.containers;
      expect(containers, deployment.metadata.name).toHaveLength(1);
      const container = containers[0];
      const app = /^apps\/(ingress|worker)\/dist\/main\.js$/.exec(container.command?.[1] ?? '')?.[1];
      if (app !== 'ingress' && app !== 'worker')
        throw new Error(
          `${deployment.metadata.name}: runs ${container.command}, not an app of this repository`,
        );
      const env = new Map<string, EnvSource>();
      for (const from of container.envFrom ?? []) {
        const data = configMaps.get(from.configMapRef?.name);
        if (!data)
          throw new Error(`${deployment.metadata.name}: envFrom ${JSON.stringify(from)} is no ConfigMap`);
        for (const [k, v] of Object.entries(data)) env.set(k, { value: v });
      }
      for (const e of container.env ?? []) {
        if (e.valueFrom?.secretKeyRef) env.set(e.name, { secret: e.valueFrom.secretKeyRef });
        else if (e.valueFrom) throw new Error(`${e.name}: only Secret references and values are expected`);
        else env.set(e.name, { value: e.value ?? '' });
      }
      const spec = APP_ENV[app]!;
      const setting = (name: string) => {
        const src = env.get(name);
        if (src && 'value' in src) return src.value;
        const def = (spec[name]?.schema as { default?: unknown } | undefined)?.default;
        if (def === undefined) throw new Error(`${name} is not a ${app} setting`);
        return String(def);
      };
      const scaler = objects.find(
        (o) =>
          (o.kind === 'HorizontalPodAutoscaler' || o.kind === 'ScaledObject') &&
          o.spec.scaleTargetRef.name === deployment.metadata.name,
      );
      const minReplicas = scaler
        ? (scaler.spec.minReplicas ?? scaler.spec.minReplicaCount ?? 1)
        : (deployment.spec.replicas ?? 1);
      return { app, deployment, container, env, setting, minReplicas } as Workload;
    });
}

const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

const podLabels = (w: Workload): Record<string, string> => w.deployment.spec.template.metadata.labels;

/** Drain time in seconds of each app, from its settings: what SIGTERM may take before the process exits. */
function drainSeconds(w: Workload): number {
  if (w.app === 'worker') return Number(w.setting('WORKER_SHUTDOWN_TIMEOUT_MS')) / 1000;
  // The ingress closes its server: a request in flight may still be arriving (SERVER_TIMEOUT_MS) and
  // then wait for Redis (ENQUEUE_TIMEOUT_MS).
  return (Number(w.setting('SERVER_TIMEOUT_MS')) + Number(w.setting('ENQUEUE_TIMEOUT_MS'))) / 1000;
}

const preStopSeconds = (w: Workload): number => {
  const cmd: string[] | undefined = w.container.lifecycle?.preStop?.exec?.command;
  if (!cmd) return 0;
  expect(cmd[0], 'preStop is a sleep').toBe('sleep');
  return Number(cmd[1]);
};

describe.each(overlayNames())('deploy/k8s overlay %s', (overlay) => {
  let objects: K8sObject[];
  let apps: Workload[];
  const app = (name: 'ingress' | 'worker') => apps.find((w) => w.app === name)!;

  beforeAll(async () => {
    objects = await renderKustomization(join('overlays', overlay));
    apps = workloads(objects);
  });

  it('renders with kubectl kustomize, and every object validates against its schema', async () => {
    const kinds = objects.map((o) => o.kind).sort();
    for (const kind of [
      'ConfigMap',
      'Deployment',
      'HorizontalPodAutoscaler',
      'Namespace',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'PodMonitor',
      'PrometheusRule',
      'ScaledObject',
      'Service',
      'ServiceMonitor',
    ])
      expect(kinds, kind).toContain(kind);
    expect(apps.map((w) => w.app).sort()).toEqual(['ingress', 'worker']);
    const problems: string[] = [];
    for (const obj of objects) {
      try {
        await validateObject(obj);
      } catch (err) {
        problems.push(`${obj.kind} ${obj.metadata.name}: ${(err as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
    // A broken object is caught (the check can fail): a port that is not a number.
    const broken = structuredClone(app('ingress').deployment);
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    await expect(validateObject(broken)).rejects.toThrow(/containerPort/);
  });

  it('sets only variables the apps declare, with values their config accepts', () => {
    for (const w of apps) {
      const spec = APP_ENV[w.app]!;
      const values: Record<string, string> = {};
      for (const [name, src] of w.env) {
        if (!(name in spec)) expect.fail(`${w.app}: ${name} is not a ${w.app} setting`);
        if ('value' in src) values[name] = src.value;
      }
      // The values parse as the app would parse them (a bad value would stop the pod with exit 78).
      expect(() => loadConfig(spec, values), w.app).not.toThrow();
    }
  });

  it('container ports are the apps’ port settings, and the probes use the health routes with timings that match the code', () => {
    const ingress = app('ingress');
    const worker = app('worker');
    const port = (w: Workload, name: string) =>
      w.container.ports.find((p: { name: string }) => p.name === name)?.containerPort;
    expect(port(ingress, 'http')).toBe(Number(ingress.setting('INGRESS_PORT')));
    expect(port(worker, 'metrics')).toBe(Number(worker.setting('WORKER_METRICS_PORT')));
    expect(ingress.setting('INGRESS_HOST')).toBe('0.0.0.0');
    expect(worker.setting('WORKER_METRICS_HOST')).toBe('0.0.0.0');
    for (const w of [ingress, worker]) {
      const portName = w.app === 'ingress' ? 'http' : 'metrics';
      const { readinessProbe, livenessProbe, startupProbe } = w.container;
      expect(readinessProbe.httpGet).toEqual({ path: '/readyz', port: portName });
      expect(livenessProbe.httpGet).toEqual({ path: '/healthz', port: portName });
      expect(startupProbe.httpGet).toEqual({ path: '/healthz', port: portName });
      // Liveness must not kill a pod because Redis is away (that is readiness's job).
      expect(livenessProbe.failureThreshold * livenessProbe.periodSeconds).toBeGreaterThanOrEqual(20);
    }
    expect(ingress.container.readinessProbe.timeoutSeconds * 1000).toBeGreaterThan(READYZ_PING_TIMEOUT_MS);
    const startupWindow =
      ingress.container.startupProbe.periodSeconds * ingress.container.startupProbe.failureThreshold;
    expect(startupWindow * 1000).toBeGreaterThanOrEqual(2 * STARTUP_REDIS_WAIT_MS);
  });

  it('gives each pod a grace period of at least its drain time, and the autoscaler a longer cooldown', () => {
    for (const w of apps) {
      const grace = w.deployment.spec.template.spec.terminationGracePeriodSeconds;
      expect(grace, `${w.app} grace period`).toBeGreaterThanOrEqual(preStopSeconds(w) + drainSeconds(w));
    }
    const drain = drainSeconds(app('worker'));
    const so = theObject(objects, 'ScaledObject');
    expect(so.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(so.spec.cooldownPeriod).toBeGreaterThan(drain);
    const scaleDown = so.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown;
    expect(scaleDown.stabilizationWindowSeconds).toBeGreaterThan(drain);
  });

  it('PodDisruptionBudgets allow a rolling update and a node drain at the minimum replica count', () => {
    const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget');
    for (const w of apps) {
      const own = pdbs.filter((p) => matches(p.spec.selector.matchLabels, podLabels(w)));
      expect(own, `${w.app} PDB`).toHaveLength(1);
      const { maxUnavailable, minAvailable } = own[0]!.spec;
      const allowed =
        maxUnavailable !== undefined
          ? typeof maxUnavailable === 'number'
            ? maxUnavailable
            : Math.floor((Number.parseInt(maxUnavailable, 10) / 100) * w.minReplicas)
          : w.minReplicas - minAvailable;
      expect(allowed, `${w.app}: disruptions allowed at ${w.minReplicas} replicas`).toBeGreaterThanOrEqual(1);
      expect(w.minReplicas, `${w.app} minimum replicas`).toBeGreaterThanOrEqual(2);
      // The autoscaler owns the replica count: a `replicas` field would reset it on every apply.
      expect(w.deployment.spec.replicas, `${w.app} replicas`).toBeUndefined();
      expect(w.deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    }
  });

  it('holds no secret values: secrets are Secret references only', () => {
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    for (const cm of objects.filter((o) => o.kind === 'ConfigMap'))
      for (const [k, v] of Object.entries(cm.data ?? {})) {
        expect(SECRET_NAME.test(k), `${cm.metadata.name}: ${k}`).toBe(false);
        expect(String(v), `${cm.metadata.name}: ${k} holds credentials`).not.toMatch(/\/\/[^/@]*:[^/@]*@/);
      }
    for (const w of apps) {
      for (const [name, src] of w.env)
        if (SECRET_NAME.test(name)) expect('secret' in src, `${w.app}: ${name} from a Secret`).toBe(true);
      for (const name of SECRET_REFS[w.app])
        expect(w.env.get(name), `${w.app}: ${name}`).toHaveProperty('secret');
    }
  });

  it('runs non-root on a read-only root filesystem with no privileges, limited resources, spread over nodes', () => {
    const dockerUser = /^USER (\d+):(\d+)\s*$/m.exec(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
    expect(dockerUser, 'Dockerfile USER uid:gid').not.toBeNull();
    const ns = theObject(objects, 'Namespace');
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const w of apps) {
      const pod = w.deployment.spec.template.spec;
      expect(w.deployment.metadata.namespace).toBe(ns.metadata.name);
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: Number(dockerUser![1]),
        runAsGroup: Number(dockerUser![2]),
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.volumes, `${w.app}: nothing to write to`).toBeUndefined();
      expect(w.container.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        privileged: false,
        capabilities: { drop: ['ALL'] },
      });
      for (const kind of ['requests', 'limits'])
        for (const res of ['cpu', 'memory'])
          expect(w.container.resources?.[kind]?.[res], `${w.app} ${kind}.${res}`).toBeDefined();
      const spread = pod.topologySpreadConstraints as {
        topologyKey: string;
        labelSelector: { matchLabels: Record<string, string> };
      }[];
      expect(spread.map((s) => s.topologyKey)).toContain('kubernetes.io/hostname');
      for (const s of spread) expect(matches(s.labelSelector.matchLabels, podLabels(w)), w.app).toBe(true);
      expect(matches(w.deployment.spec.selector.matchLabels, podLabels(w))).toBe(true);
    }
  });

  it('Service, monitors and network policy reach the ports the apps listen on; job names match the dashboard’s', () => {
    const ingress = app('ingress');
    const worker = app('worker');
    const svc = theObject(objects, 'Service');
    expect(matches(svc.spec.selector, podLabels(ingress))).toBe(true);
    const containerPortNames = (w: Workload) => w.container.ports.map((p: { name: string }) => p.name);
    for (const p of svc.spec.ports) expect(containerPortNames(ingress)).toContain(p.targetPort);

    const jobs = (
      parse(readFileSync(join(REPO_ROOT, 'deploy', 'prometheus', 'prometheus.yml'), 'utf8')) as {
        scrape_configs: { job_name: string }[];
      }
    ).scrape_configs.map((s) => s.job_name);
    const sm = theObject(objects, 'ServiceMonitor');
    expect(matches(sm.spec.selector.matchLabels, svc.metadata.labels)).toBe(true);
    expect(jobs).toContain(svc.metadata.labels[sm.spec.jobLabel]);
    expect(svc.metadata.labels[sm.spec.jobLabel]).toBe('vod-ingress');
    for (const e of sm.spec.endpoints) {
      expect(svc.spec.ports.map((p: { name: string }) => p.name)).toContain(e.port);
      expect(e.path).toBe('/metrics');
      expect(e.honorLabels).toBe(true);
    }
    const pm = theObject(objects, 'PodMonitor');
    expect(matches(pm.spec.selector.matchLabels, podLabels(worker))).toBe(true);
    expect(podLabels(worker)[pm.spec.jobLabel]).toBe('vod-worker');
    expect(jobs).toContain(podLabels(worker)[pm.spec.jobLabel]);
    for (const e of pm.spec.podMetricsEndpoints) {
      expect(containerPortNames(worker)).toContain(e.port);
      expect(e.path).toBe('/metrics');
      expect(e.honorLabels).toBe(true);
    }

    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    for (const [w, scraped] of [
      [ingress, 'http'],
      [worker, 'metrics'],
    ] as const) {
      const own = policies.filter((p) => matches(p.spec.podSelector.matchLabels, podLabels(w)));
      expect(own, `${w.app} NetworkPolicy`).toHaveLength(1);
      const policy = own[0]!.spec;
      expect(policy.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
      const inPorts = policy.ingress.flatMap((r: { ports: { port: string }[] }) =>
        r.ports.map((p) => p.port),
      );
      expect(inPorts, `${w.app} accepts scrapes`).toContain(scraped);
      const outPorts = policy.egress.flatMap((r: { ports: { port: number }[] }) =>
        r.ports.map((p) => p.port),
      );
      for (const p of [53, 6379]) expect(outPorts, `${w.app} egress`).toContain(p);
      // Only the ingress takes traffic from anywhere; the worker only from named namespaces.
      if (w.app === 'worker')
        for (const r of policy.ingress)
          expect(r.from?.length ?? 0, 'worker ingress sources').toBeGreaterThan(0);
    }
    const workerEgress = policies.find((p) => matches(p.spec.podSelector.matchLabels, podLabels(worker)))!
      .spec.egress;
    const https = workerEgress.find((r: { ports: { port: number }[] }) =>
      r.ports.some((p) => p.port === 443),
    );
    expect(https.to[0].ipBlock.except).toEqual(expect.arrayContaining(['10.0.0.0/8', '169.254.0.0/16']));
  });

  it('the PrometheusRule holds exactly the groups of deploy/prometheus/rules (one source of truth)', () => {
    const promDir = join(REPO_ROOT, 'deploy', 'prometheus');
    const ruleFiles = (
      parse(readFileSync(join(promDir, 'prometheus.yml'), 'utf8')) as { rule_files: string[] }
    ).rule_files;
    const groups = ruleFiles.flatMap(
      (f) => (parse(readFileSync(join(promDir, f), 'utf8')) as { groups: unknown[] }).groups,
    );
    expect(groups.length).toBeGreaterThanOrEqual(2);
    expect(theObject(objects, 'PrometheusRule').spec.groups).toEqual(groups);
  });

  it('the KEDA trigger counts waiting + prioritized vod-events across shards, leaves paused queues out, and its target comes from the benchmark', () => {
    const so = theObject(objects, 'ScaledObject');
    const worker = app('worker');
    expect(so.spec.scaleTargetRef.name).toBe(worker.deployment.metadata.name);
    const byName = Object.fromEntries(so.spec.triggers.map((t: { name: string }) => [t.name, t]));
    expect(Object.keys(byName).sort()).toEqual(['event-backlog', 'event-wait']);
    for (const t of so.spec.triggers) {
      expect(t.type).toBe('prometheus');
      const q: string = t.metadata.query;
      expect(q).toContain('queue="vod-events"');
      expect(q).toContain('vod_queue_paused');
      expect(q).toMatch(/by \(queue, shard/);
      // prometheus-operator labels every target with its namespace: the query reads this deployment's.
      const namespaces = [...q.matchAll(/namespace="([^"]+)"/g)].map((m) => m[1]);
      expect(namespaces.length).toBeGreaterThan(0);
      for (const n of namespaces) expect(n).toBe(so.metadata.namespace);
    }
    expect(byName['event-backlog'].metadata.query).toContain('state=~"waiting|prioritized"');
    expect(byName['event-backlog'].metricType).toBe('AverageValue');

    // Per-replica target = one worker's measured jobs/s at the configured concurrency × the drain
    // seconds the annotation names (±25%, so a rerun of the benchmark does not fail this).
    const bench = JSON.parse(
      readFileSync(join(REPO_ROOT, 'bench', 'results', 'latest-worker.json'), 'utf8'),
    ) as {
      summary: { concurrency: number; oursJobsPerSec: number }[];
    };
    const concurrency = Number(worker.setting('WORKER_CONCURRENCY'));
    const measured = bench.summary.find((s) => s.concurrency === concurrency);
    expect(
      measured,
      `bench/results/latest-worker.json has a run at concurrency ${concurrency}`,
    ).toBeDefined();
    const seconds = Number(so.metadata.annotations['vod-callbacks/backlog-drain-seconds']);
    expect(seconds).toBeGreaterThan(0);
    const threshold = Number(byName['event-backlog'].metadata.threshold);
    const derived = measured!.oursJobsPerSec * seconds;
    expect(threshold).toBeGreaterThanOrEqual(0.75 * derived);
    expect(threshold).toBeLessThanOrEqual(1.25 * derived);
  });
});

describe('deploy/k8s, every overlay', () => {
  it('no object has a field its schema does not declare (checked against the same packages’ TypeScript interfaces)', async () => {
    const objects = (
      await Promise.all(overlayNames().map((o) => renderKustomization(join('overlays', o))))
    ).flat();
    // One misspelt field, deep inside a pod template, must be caught (and only it).
    const typo = structuredClone(objects.find((o) => o.kind === 'Deployment'));
    const container = typo.spec.template.spec.containers[0];
    container.readinessProb = container.readinessProbe;
    delete container.readinessProbe;
    const problems = unknownFieldProblems([...objects, typo]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/readinessProb\W{0,3} does not exist in type 'IContainer'/);
  }, 120_000);
});
