import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@vod-callbacks/test-support';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { INGRESS_ENV } from '../apps/ingress/src/config.js';
import { WORKER_ENV } from '../apps/worker/src/config.js';

// No Docker engine runs here, so docker-compose.yml is checked statically: it parses, every file it
// refers to exists, and it agrees with the Prometheus and Grafana configs it mounts.

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string } | string;
  command?: string[] | string;
  environment?: Record<string, string>;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  container_name?: string;
  depends_on?: unknown;
  profiles?: string[];
}

const read = (...p: string[]) => readFileSync(join(REPO_ROOT, ...p), 'utf8');
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const services = compose.services;

/** Bind mounts of a service as [host path relative to the repo, container path]. */
function bindMounts(service: Service): [string, string][] {
  return (service.volumes ?? [])
    .map((v) => v.split(':'))
    .filter(([src]) => src!.startsWith('./'))
    .map(([src, dst]) => [src!.slice(2), dst!]);
}

describe('docker-compose.yml (static)', () => {
  it('has redis, ingress, worker, prometheus and grafana', () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining(['redis', 'ingress', 'worker', 'prometheus', 'grafana']),
    );
  });

  it('runs Redis with appendonly yes and maxmemory-policy noeviction', () => {
    const cmd = [services.redis!.command].flat().join(' ');
    expect(cmd).toMatch(/--appendonly yes\b/);
    expect(cmd).toMatch(/--maxmemory-policy noeviction\b/);
  });

  it('builds the apps from the Dockerfile and runs node apps/<app>/dist/main.js of existing apps', () => {
    for (const name of ['ingress', 'worker']) {
      const s = services[name]!;
      const build = typeof s.build === 'string' ? { context: s.build } : s.build!;
      expect(existsSync(join(REPO_ROOT, build.context, build.dockerfile ?? 'Dockerfile')), name).toBe(true);
      const cmd = [s.command].flat() as string[];
      expect(cmd[0]).toBe('node');
      const m = /^apps\/([a-z-]+)\/dist\/main\.js$/.exec(cmd[1] ?? '');
      expect(m, `${name} command ${cmd.join(' ')}`).not.toBeNull();
      expect(existsSync(join(REPO_ROOT, 'apps', m![1]!, 'src', 'main.ts')), `${name} app source`).toBe(true);
    }
    // Every COPY source of the Dockerfile exists.
    for (const line of read('Dockerfile').split('\n')) {
      const m = /^COPY (?!--from)(.+) \S+$/.exec(line.trim());
      if (!m) continue;
      for (const src of m[1]!.split(/\s+/).filter((x) => !x.startsWith('--')))
        expect(existsSync(join(REPO_ROOT, src)), `Dockerfile COPY ${src}`).toBe(true);
    }
  });

  it('passes only variables the apps know', () => {
    // VOLC_* and VOD_REGION are read by the re-upload client (apps/worker), not the env spec.
    const sdk = ['VOLC_ACCESSKEY', 'VOLC_SECRETKEY', 'VOD_REGION', 'VOD_API_HOST', 'VOD_API_PROTOCOL'];
    for (const key of Object.keys(services.ingress!.environment ?? {}))
      expect(Object.keys(INGRESS_ENV)).toContain(key);
    for (const key of Object.keys(services.worker!.environment ?? {}))
      expect([...Object.keys(WORKER_ENV), ...sdk]).toContain(key);
  });

  it('lets the worker scale: no container name, no host port', () => {
    const w = services.worker!;
    expect(w.container_name).toBeUndefined();
    expect(w.ports ?? []).toEqual([]);
    expect(w.expose).toContain(w.environment!.WORKER_METRICS_PORT);
  });

  it('mounts files that exist, and named volumes that are declared', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [src] of bindMounts(s))
        expect(existsSync(join(REPO_ROOT, src)), `${name}: ./${src}`).toBe(true);
      for (const v of s.volumes ?? []) {
        const src = v.split(':')[0]!;
        if (!src.startsWith('.') && !src.startsWith('/'))
          expect(Object.keys(compose.volumes ?? {})).toContain(src);
      }
    }
  });

  it('points Prometheus at the compose services it mounts the config for', () => {
    const p = services.prometheus!;
    const mount = bindMounts(p).find(([src]) => src === 'deploy/prometheus');
    expect(mount, 'deploy/prometheus mounted').toBeDefined();
    const configArg = ([p.command].flat() as string[]).find((a) => a.startsWith('--config.file='))!;
    expect(configArg).toBe(`--config.file=${mount![1]}/prometheus.yml`);
    const prom = parse(read('deploy', 'prometheus', 'prometheus.yml')) as {
      rule_files: string[];
      scrape_configs: {
        job_name: string;
        static_configs?: { targets: string[] }[];
        dns_sd_configs?: { names: string[]; port: number }[];
      }[];
    };
    for (const f of prom.rule_files)
      expect(existsSync(join(REPO_ROOT, 'deploy', 'prometheus', f)), f).toBe(true);
    const job = (n: string) => prom.scrape_configs.find((s) => s.job_name === n)!;
    expect(job('vod-ingress').static_configs![0]!.targets).toEqual([
      `ingress:${services.ingress!.environment!.INGRESS_PORT}`,
    ]);
    const dns = job('vod-worker').dns_sd_configs![0]!;
    expect(dns.names).toEqual(['worker']);
    expect(String(dns.port)).toBe(services.worker!.environment!.WORKER_METRICS_PORT);
  });

  it('provisions Grafana with the Prometheus datasource and the dashboard, anonymous viewers allowed', () => {
    const g = services.grafana!;
    expect(g.environment!.GF_AUTH_ANONYMOUS_ENABLED).toBe('true');
    expect(g.environment!.GF_AUTH_ANONYMOUS_ORG_ROLE).toBe('Viewer');
    const mounts = Object.fromEntries(bindMounts(g));
    expect(mounts['deploy/grafana/provisioning']).toBe('/etc/grafana/provisioning');
    const provider = parse(read('deploy', 'grafana', 'provisioning', 'dashboards', 'vod-callbacks.yml')) as {
      providers: { options: { path: string } }[];
    };
    expect(mounts['deploy/grafana/dashboards']).toBe(provider.providers[0]!.options.path);
    const home = g.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH!;
    expect(home.startsWith(`${provider.providers[0]!.options.path}/`)).toBe(true);
    expect(existsSync(join(REPO_ROOT, 'deploy', 'grafana', 'dashboards', home.split('/').pop()!))).toBe(true);
    const ds = parse(read('deploy', 'grafana', 'provisioning', 'datasources', 'prometheus.yml')) as {
      datasources: { url: string; uid: string }[];
    };
    expect(new URL(ds.datasources[0]!.url).hostname).toBe('prometheus');
    const dashboard = JSON.parse(read('deploy', 'grafana', 'dashboards', 'vod-callbacks.json')) as {
      panels: { datasource?: { uid: string } }[];
    };
    for (const panel of dashboard.panels)
      if (panel.datasource) expect(panel.datasource.uid).toBe(ds.datasources[0]!.uid);
  });

  it('has an optional sentinel profile: a replica of redis and three Sentinels monitoring it; the apps read REDIS_SENTINELS', () => {
    const inProfile = Object.entries(services).filter(([, s]) => s.profiles?.includes('sentinel'));
    expect(inProfile.map(([n]) => n).sort()).toEqual([
      'redis-replica',
      'sentinel-1',
      'sentinel-2',
      'sentinel-3',
    ]);
    // Without the profile, nothing else depends on those services.
    for (const [name, s] of Object.entries(services))
      if (!s.profiles) expect(JSON.stringify(s.depends_on ?? {}), name).not.toMatch(/sentinel|replica/);
    const replica = [services['redis-replica']!.command].flat().join(' ');
    expect(replica).toMatch(/--replicaof redis 6379\b/);
    expect(replica).toMatch(/--appendonly yes\b/);
    expect(replica).toMatch(/--maxmemory-policy noeviction\b/);
    const conf = read('deploy', 'sentinel', 'sentinel.conf');
    const monitor = /^sentinel monitor (\S+) (\S+) (\d+) (\d+)$/m.exec(conf);
    expect(monitor?.slice(1)).toEqual(['vod', 'redis', '6379', '2']);
    for (const n of [1, 2, 3]) {
      const s = services[`sentinel-${n}`]!;
      expect([s.command].flat().join(' ')).toMatch(/redis-server \/data\/sentinel\.conf --sentinel/);
      expect(bindMounts(s)).toContainEqual(['deploy/sentinel', '/etc/sentinel']);
    }
    // The header's example names the Sentinel services and the monitored master.
    expect(read('docker-compose.yml')).toContain(
      'REDIS_SENTINELS=sentinel-1:26379,sentinel-2:26379,sentinel-3:26379 REDIS_SENTINEL_MASTER=vod',
    );
    for (const app of ['ingress', 'worker'])
      for (const key of ['REDIS_SENTINELS', 'REDIS_SENTINEL_MASTER', 'REDIS_MIN_REPLICAS'])
        expect(Object.keys(services[app]!.environment ?? {}), `${app} ${key}`).toContain(key);
  });
});
